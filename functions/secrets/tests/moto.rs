//! `SecretsClient` against the moto Secrets Manager emulator.
//!
//! `tests/run` starts moto and exports `KEYPLANE_MOTO_ENDPOINT`; without it
//! these tests print a note and pass, unless `KEYPLANE_REQUIRE_MOTO` is set.
//! Tests run in parallel processes against one moto, so each uses its own
//! random secret names and nothing resets moto.

use std::time::{Duration, Instant};

use aws_config::Region;
use aws_sdk_secretsmanager::config::Credentials;
use keyplane_aws::Profile;
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_secrets::{Recovery, SecretValue, SecretsClient, SecretsError, Stage};

/// moto's endpoint, or `None` (after a note) when these tests should skip.
fn moto_endpoint() -> Option<String> {
    match std::env::var("KEYPLANE_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("KEYPLANE_REQUIRE_MOTO").is_some() => panic!(
            "KEYPLANE_REQUIRE_MOTO is set but KEYPLANE_MOTO_ENDPOINT is not: \
             run `. tests/moto && start_moto` first"
        ),
        _ => {
            eprintln!("skipping: KEYPLANE_MOTO_ENDPOINT is not set (see tests/moto)");
            None
        }
    }
}

/// A client with the provider's retries and timeouts ([`Profile::Interactive`],
/// which the timing tests below check) aimed at `endpoint`, with
/// a fixed region and static test credentials so nothing from the host's
/// AWS configuration leaks in.
async fn client_for(endpoint: &str) -> SecretsClient {
    let config = keyplane_aws::loader(Profile::Interactive)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDKEYPLANETEST",
            "keyplane-test-secret-access-key",
            None,
            None,
            "keyplane-tests",
        ))
        .load()
        .await;
    SecretsClient::from_sdk_config(&config)
}

/// The moto client, or return from the test (skipping it).
macro_rules! moto_or_skip {
    () => {
        match moto_endpoint() {
            Some(endpoint) => client_for(&endpoint).await,
            None => return,
        }
    };
}

fn unique_name(test: &str) -> String {
    format!("keyplane-test/{test}-{:016x}", rand::random::<u64>())
}

/// 32 hex digits: a valid client request token.
fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn key() -> ApiKey {
    ApiKey::mint(KeyEnv::Test)
}

/// The plaintext of what `read` returned, or a panic naming what was missing.
fn plaintext(found: Option<SecretValue>) -> String {
    found.expect("a value").value.expose().to_owned()
}

/// Best-effort clean-up, so repeated local runs do not pile up secrets.
async fn cleanup(client: &SecretsClient, name: &str) {
    let _ = client.delete(name, Recovery::Force).await;
}

#[tokio::test]
async fn create_then_read_current_returns_the_minted_key() {
    let client = moto_or_skip!();
    let name = unique_name("create-read");
    let minted = key();
    let token = token();
    let tags = [("keyplane:key_id".to_owned(), "key_123".to_owned())];
    let version = client
        .create(&name, &minted, &token, Some("a test key"), &tags)
        .await
        .expect("create");
    assert_eq!(version.name, name);
    assert!(version.arn.contains(&name), "{}", version.arn);
    assert_eq!(version.version_id, token);

    let current = client
        .read(&name, Stage::Current)
        .await
        .expect("read")
        .expect("a current version");
    assert_eq!(current.value.expose(), minted.expose());
    assert_eq!(current.version_id, token);
    assert_eq!(current.stages, vec![Stage::Current]);
    // By ARN as well as by name.
    let by_arn = client
        .read_version(&version.arn, &token)
        .await
        .expect("read");
    assert_eq!(plaintext(by_arn), minted.expose());
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn create_is_idempotent_for_the_same_token_and_value() {
    let client = moto_or_skip!();
    let name = unique_name("create-idempotent");
    let minted = key();
    let token = token();
    let first = client
        .create(&name, &minted, &token, None, &[])
        .await
        .expect("create");
    let again = client
        .create(&name, &minted, &token, None, &[])
        .await
        .expect("a retried create succeeds");
    assert_eq!(first, again);
    let described = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(described.versions.len(), 1, "{described:?}");

    // Same token, another value: versions are immutable.
    let other = key();
    let err = client
        .create(&name, &other, &token, None, &[])
        .await
        .expect_err("a different value under the same token");
    assert!(
        matches!(&err, SecretsError::TokenReused { token: t, .. } if *t == token),
        "{err:?}"
    );
    let current = client.read(&name, Stage::Current).await.expect("read");
    assert_eq!(plaintext(current), minted.expose());
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn create_with_a_taken_name_is_already_exists() {
    let client = moto_or_skip!();
    let name = unique_name("create-taken");
    client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect("create");
    let err = client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect_err("the name is taken");
    assert!(
        matches!(&err, SecretsError::AlreadyExists { name: n } if *n == name),
        "{err:?}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn pending_version_promoted_to_current_leaves_previous() {
    let client = moto_or_skip!();
    let name = unique_name("rotate");
    let (old, new) = (key(), key());
    let (v1, v2) = (token(), token());
    client
        .create(&name, &old, &v1, None, &[])
        .await
        .expect("create");

    let pending = client
        .put_version(&name, &new, &v2, &[Stage::Pending])
        .await
        .expect("put pending");
    assert_eq!(pending.version_id, v2);
    // Idempotent with the token.
    let again = client
        .put_version(&name, &new, &v2, &[Stage::Pending])
        .await
        .expect("retried put");
    assert_eq!(again, pending);

    let staged = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(staged.versions.get(&v1), Some(&vec![Stage::Current]));
    assert_eq!(staged.versions.get(&v2), Some(&vec![Stage::Pending]));
    assert_eq!(staged.version_with(&Stage::Pending), Some(v2.as_str()));
    assert_eq!(
        plaintext(client.read(&name, Stage::Pending).await.expect("read")),
        new.expose()
    );
    assert_eq!(
        plaintext(client.read(&name, Stage::Current).await.expect("read")),
        old.expose(),
        "a pending version is not live yet"
    );

    client
        .move_stage(&name, Stage::Current, &v2, Some(&v1))
        .await
        .expect("promote");
    let promoted = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("exists");
    // Secrets Manager moves AWSPREVIOUS onto the version AWSCURRENT left;
    // AWSPENDING stays where it was until someone moves it.
    assert_eq!(promoted.versions.get(&v1), Some(&vec![Stage::Previous]));
    assert_eq!(
        promoted.versions.get(&v2),
        Some(&vec![Stage::Current, Stage::Pending])
    );
    assert_eq!(
        plaintext(client.read(&name, Stage::Current).await.expect("read")),
        new.expose()
    );
    assert_eq!(
        plaintext(client.read(&name, Stage::Previous).await.expect("read")),
        old.expose()
    );

    // Reusing a version's token for another value is refused. (Not tried on
    // v2: moto lets a token that is still labelled AWSPENDING be overwritten
    // with a new value, which Secrets Manager refuses.)
    let err = client
        .put_version(&name, &key(), &v1, &[])
        .await
        .expect_err("token reuse");
    assert!(matches!(err, SecretsError::TokenReused { .. }), "{err:?}");
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn put_version_without_stages_becomes_current() {
    let client = moto_or_skip!();
    let name = unique_name("put-current");
    let (old, new) = (key(), key());
    let (v1, v2) = (token(), token());
    client
        .create(&name, &old, &v1, None, &[])
        .await
        .expect("create");
    client
        .put_version(&name, &new, &v2, &[])
        .await
        .expect("put");
    let described = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(described.version_with(&Stage::Current), Some(v2.as_str()));
    assert_eq!(described.version_with(&Stage::Previous), Some(v1.as_str()));
    assert!(described.deleted_date.is_none());
    assert!(!described.rotation_enabled);
    assert_eq!(
        plaintext(client.read(&name, Stage::Current).await.expect("read")),
        new.expose()
    );
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn custom_stage_can_be_put_and_read() {
    let client = moto_or_skip!();
    let name = unique_name("custom-stage");
    let (v1, v2) = (token(), token());
    let label = Stage::parse("keyplane-next").expect("valid label");
    client
        .create(&name, &key(), &v1, None, &[])
        .await
        .expect("create");
    let staged = key();
    client
        .put_version(&name, &staged, &v2, std::slice::from_ref(&label))
        .await
        .expect("put");
    let found = client
        .read(&name, label.clone())
        .await
        .expect("read")
        .expect("labelled");
    assert_eq!(found.value.expose(), staged.expose());
    assert_eq!(found.stages, vec![label]);
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn missing_secrets_read_and_describe_as_none() {
    let client = moto_or_skip!();
    let name = unique_name("missing");
    assert!(client
        .read(&name, Stage::Current)
        .await
        .expect("read")
        .is_none());
    assert!(client
        .read_version(&name, &token())
        .await
        .expect("read")
        .is_none());
    assert!(client.describe(&name).await.expect("describe").is_none());
    let err = client
        .put_version(&name, &key(), &token(), &[])
        .await
        .expect_err("no such secret");
    assert!(
        matches!(&err, SecretsError::NotFound { secret_id } if *secret_id == name),
        "{err:?}"
    );
    let err = client
        .remove_version_stages(&name, &token())
        .await
        .expect_err("no such secret");
    assert!(matches!(err, SecretsError::NotFound { .. }), "{err:?}");

    // An existing secret without the label or version asked for.
    client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect("create");
    assert!(client
        .read(&name, Stage::Pending)
        .await
        .expect("read")
        .is_none());
    assert!(client
        .read_version(&name, &token())
        .await
        .expect("read")
        .is_none());
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn remove_version_stages_retires_a_non_current_version() {
    let client = moto_or_skip!();
    let name = unique_name("retire");
    let (old, new) = (key(), key());
    let (v1, v2) = (token(), token());
    client
        .create(&name, &old, &v1, None, &[])
        .await
        .expect("create");
    client
        .put_version(&name, &new, &v2, &[])
        .await
        .expect("put");

    let removed = client
        .remove_version_stages(&name, &v1)
        .await
        .expect("retire the previous version");
    assert_eq!(removed, vec![Stage::Previous]);
    let described = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("exists");
    assert!(!described.versions.contains_key(&v1), "{described:?}");
    assert_eq!(described.versions.get(&v2), Some(&vec![Stage::Current]));
    assert!(client
        .read(&name, Stage::Previous)
        .await
        .expect("read")
        .is_none());
    // A repeat is a no-op.
    assert!(client
        .remove_version_stages(&name, &v1)
        .await
        .expect("again")
        .is_empty());

    // The current version must not be left without AWSCURRENT.
    let err = client
        .remove_version_stages(&name, &v2)
        .await
        .expect_err("current version");
    assert!(matches!(err, SecretsError::InvalidRequest(_)), "{err:?}");
    assert!(err.to_string().contains("AWSCURRENT"), "{err}");
    assert_eq!(
        plaintext(client.read(&name, Stage::Current).await.expect("read")),
        new.expose()
    );
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn force_delete_removes_the_secret() {
    let client = moto_or_skip!();
    let name = unique_name("delete-force");
    client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect("create");
    client.delete(&name, Recovery::Force).await.expect("delete");
    assert!(client
        .read(&name, Stage::Current)
        .await
        .expect("read")
        .is_none());
    assert!(client.describe(&name).await.expect("describe").is_none());
    // The name is free again.
    client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect("re-create");
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn scheduled_delete_shows_a_deleted_date_and_blocks_reads() {
    let client = moto_or_skip!();
    let name = unique_name("delete-window");
    client
        .create(&name, &key(), &token(), None, &[])
        .await
        .expect("create");
    client
        .delete(&name, Recovery::Days(7))
        .await
        .expect("schedule");
    let described = client
        .describe(&name)
        .await
        .expect("describe")
        .expect("still there");
    assert!(described.deleted_date.is_some());
    let err = client
        .read(&name, Stage::Current)
        .await
        .expect_err("reads fail while scheduled for deletion");
    assert!(matches!(err, SecretsError::InvalidRequest(_)), "{err:?}");
    cleanup(&client, &name).await;
}

#[tokio::test]
async fn bad_requests_fail_locally_before_sending() {
    // Aimed at a closed port: a request that got sent would be Unavailable.
    let client = client_for(&format!("http://127.0.0.1:{}", closed_port())).await;
    let checks = [
        client
            .create("has space", &key(), &token(), None, &[])
            .await
            .err(),
        client
            .create("ok-name", &key(), "short", None, &[])
            .await
            .err(),
        client
            .put_version("ok-name", &key(), &token(), &[Stage::Custom(String::new())])
            .await
            .err(),
        client.delete("ok-name", Recovery::Days(3)).await.err(),
        client.delete("ok-name", Recovery::Days(31)).await.err(),
        client.read("", Stage::Current).await.err(),
    ];
    for (i, err) in checks.into_iter().enumerate() {
        assert!(
            matches!(err, Some(SecretsError::InvalidRequest(_))),
            "check {i}: {err:?}"
        );
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn closed_port_is_unavailable_within_seconds() {
    let client = client_for(&format!("http://127.0.0.1:{}", closed_port())).await;
    let started = Instant::now();
    let err = client
        .read("keyplane-test/unreachable", Stage::Current)
        .await
        .expect_err("nothing listens there");
    let elapsed = started.elapsed();
    eprintln!("closed port failed after {elapsed:?}: {err}");
    assert!(err.is_retryable(), "{err:?}");
    assert!(matches!(err, SecretsError::Unavailable(_)), "{err:?}");
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");

    let err = client
        .create("keyplane-test/unreachable", &key(), &token(), None, &[])
        .await
        .expect_err("nothing listens there");
    assert!(matches!(err, SecretsError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn unresponsive_endpoint_gives_up_within_the_operation_timeout() {
    // Accepts connections and never answers: only timeouts can end the call.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let client = client_for(&endpoint).await;
    let started = Instant::now();
    let err = client
        .read("keyplane-test/black-hole", Stage::Current)
        .await
        .expect_err("no answer");
    let elapsed = started.elapsed();
    eprintln!("unresponsive endpoint failed after {elapsed:?}: {err}");
    assert!(matches!(err, SecretsError::Unavailable(_)), "{err:?}");
    assert!(elapsed < Duration::from_secs(12), "took {elapsed:?}");
}

#[tokio::test]
async fn debug_and_errors_never_contain_the_plaintext() {
    let minted = key();
    let text = minted.expose().to_owned();
    let local = SecretValue {
        value: ApiKey::from_plaintext(text.clone()),
        version_id: token(),
        stages: vec![Stage::Current],
    };
    assert!(!format!("{local:?}").contains(&text), "{local:?}");
    assert!(format!("{local:?}").contains("redacted"));

    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let client = client_for(&endpoint).await;
    let name = unique_name("redaction");
    let token = token();
    client
        .create(&name, &minted, &token, None, &[])
        .await
        .expect("create");
    let read = client
        .read(&name, Stage::Current)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.value.expose(), text);
    assert!(!format!("{read:?}").contains(&text), "{read:?}");

    // Errors from a write carrying a key mention neither key.
    let other = key();
    let errors = [
        client
            .create(&name, &other, &token, None, &[])
            .await
            .expect_err("reused"),
        client
            .create(&name, &other, &self::token(), None, &[])
            .await
            .expect_err("taken"),
        client
            .put_version(&name, &other, &token, &[])
            .await
            .expect_err("reused"),
    ];
    for err in &errors {
        for shown in [format!("{err}"), format!("{err:?}")] {
            assert!(!shown.contains(&text), "{shown}");
            assert!(!shown.contains(other.expose()), "{shown}");
        }
    }
    cleanup(&client, &name).await;
}
