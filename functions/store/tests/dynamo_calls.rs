//! What the DynamoDB store sends, seen from the SDK client: the use cases of
//! `keyplane-core` over a `DynamoStore` on moto, with an interceptor that
//! records every operation.
//!
//! - verify is exactly one `GetItem` and no write;
//! - after a whole key lifecycle no attribute anywhere holds a plaintext key
//!   (a full Scan, searched by the shared leak scanner, with a control);
//! - expiry is the core's decision: an expired secret still in the table
//!   (DynamoDB TTL deletes late, moto never) does not verify;
//! - secret items carry a numeric `ttl`, and the table has TTL on `ttl`.
//!
//! What happens when DynamoDB cannot be reached is in `dynamo_faults.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use keyplane_core::clock::{Clock, ManualClock};
use keyplane_core::id::{OrgId, WorkspaceId};
use keyplane_core::key::{KeyRole, KeyType};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::principal::Principal;
use keyplane_core::service::{
    CreateKey, CreateOrganization, CreateOutcome, CreateWorkspace, CreatedKey, IdempotencyToken,
    LastUseSettings, PatchKey, ReportLeak, ReportUsage, RollKey, RollOutcome, ScopeKind,
    UpdateOrganization, Verdict, VerifyCacheSettings, VerifyCode, VerifyKey, REQUEST_CLAIM_TTL,
    REQUEST_REPLAYED,
};
use keyplane_core::store::KeyStore;
use keyplane_core::{Caller, Config, Keyplane};
use keyplane_store::conformance::fixtures;
use keyplane_store::dynamo::schema::{self, TTL};
use keyplane_store::dynamo::testing::{
    client_config, fresh_store, moto_endpoint, unique_table_name,
};
use keyplane_store::DynamoStore;

/// The scanner every leak scan shares (see the file).
#[allow(dead_code)]
#[path = "../../../tests/src/leak_scan.rs"]
mod leak_scan;
use leak_scan::LeakScan;

const ADMIN: &str = "arn:aws:iam::111111111111:user/admin";
const REPORTER: &str = "arn:aws:iam::111111111111:role/gateway";

/// The operations a client sent, by name (`GetItem`, `TransactWriteItems`, …).
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    /// Once per operation, before its request is serialized and sent, so
    /// retries are not counted twice. (`read_before_execution` of a
    /// client-level interceptor runs before the operation's metadata is in
    /// the config bag.)
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or("<unknown>", Metadata::name)
            .to_owned();
        self.0.lock().expect("not poisoned").push(name);
        Ok(())
    }
}

/// The use cases over a DynamoDB store on a fresh moto table, with the
/// operations its client sends recorded.
struct World {
    keyplane: Keyplane,
    clock: Arc<ManualClock>,
    store: Arc<DynamoStore>,
    calls: Calls,
}

impl World {
    async fn on_moto(test: &str) -> Option<Self> {
        let endpoint = moto_endpoint(test)?;
        let calls = Calls::default();
        let client = Client::from_conf(client_config(&endpoint).interceptor(calls.clone()).build());
        let store = Arc::new(fresh_store(client).await);
        Some(Self::over(store, calls))
    }

    fn over(store: Arc<DynamoStore>, calls: Calls) -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let config = Config {
            admins: vec![principal(ADMIN)],
            usage_reporters: vec![principal(REPORTER)],
            key_env: KeyEnv::Test,
            rotators: Vec::new(),
        };
        let keyplane = Keyplane::new(store.clone(), clock.clone(), config);
        Self {
            keyplane,
            clock,
            store,
            calls,
        }
    }

    /// With the defaults `keyplane serve` and the Lambda functions use.
    fn cached(mut self) -> Self {
        self.keyplane = self
            .keyplane
            .with_verify_cache(VerifyCacheSettings::default())
            .with_last_use(LastUseSettings::default());
        self
    }

    async fn org(&self) -> (OrgId, WorkspaceId) {
        let admin = caller(ADMIN);
        let org = self
            .keyplane
            .create_organization(
                &admin,
                CreateOrganization {
                    name: "Acme".into(),
                    key_quota: None,
                },
            )
            .await
            .expect("admin creates org");
        let ws = self
            .keyplane
            .create_workspace(
                &admin,
                &org.id,
                CreateWorkspace {
                    name: "prod".into(),
                },
            )
            .await
            .expect("admin creates workspace");
        (org.id, ws.id)
    }

    async fn create(&self, req: CreateKey, token: Option<&str>) -> CreatedKey {
        let token = token.map(|t| IdempotencyToken::Client(t.to_owned()));
        match self
            .keyplane
            .create_key(&caller(ADMIN), req, token.as_ref())
            .await
            .expect("create_key")
        {
            CreateOutcome::Created(created) => created,
            CreateOutcome::Replayed(_) => panic!("a fresh token replayed"),
        }
    }

    /// Revokes `created`; the next verify answers `REVOKED` with one GetItem.
    async fn revoke_then_verify_with_one_read(&self, created: &CreatedKey) {
        self.keyplane
            .revoke_key(&caller(ADMIN), &created.view.id)
            .await
            .expect("revoke");
        self.calls.take();
        assert_eq!(
            self.verify(&created.key, None).await.code,
            VerifyCode::Revoked
        );
        assert_eq!(self.calls.take(), names(&["GetItem"]));
    }

    async fn verify(&self, key: &ApiKey, cost: Option<u64>) -> Verdict {
        self.keyplane
            .verify(verify_request(key, cost))
            .await
            .expect("verify answers")
    }

    /// Every attribute value in the table, as text, read with Scan (here
    /// only, to look at everything; the store itself never scans).
    async fn dump(&self) -> String {
        let mut text = String::new();
        let mut start = None;
        loop {
            let page = self
                .store
                .client()
                .scan()
                .table_name(self.store.table())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            for item in page.items() {
                for (name, value) in item {
                    text.push_str(name);
                    text.push('=');
                    flatten(value, &mut text);
                    text.push('\n');
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return text,
            }
        }
    }
}

fn flatten(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::Ss(all) | AttributeValue::Ns(all) => out.push_str(&all.join(",")),
        AttributeValue::B(blob) => out.push_str(&String::from_utf8_lossy(blob.as_ref())),
        AttributeValue::L(list) => list.iter().for_each(|v| flatten(v, out)),
        AttributeValue::M(map) => map.values().for_each(|v| flatten(v, out)),
        other => out.push_str(&format!("{other:?}")),
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

fn principal(arn: &str) -> Principal {
    Principal::parse(arn).expect("test ARNs are valid")
}

fn caller(arn: &str) -> Caller {
    Caller {
        principal: principal(arn),
        source: Some("keyplane-store-tests".to_owned()),
        request_id: None,
    }
}

fn workspace_key(org: &OrgId, ws: &WorkspaceId) -> CreateKey {
    CreateKey {
        organization_id: org.clone(),
        scope: ScopeKind::Workspace,
        workspace_id: Some(ws.clone()),
        workspace_ids: None,
        key_type: KeyType::Service,
        name: Some("ci".into()),
        role: KeyRole::Editor,
        permissions: vec!["models:*".into()],
        expires_at: None,
        credits: None,
        metadata: BTreeMap::from([("team".to_owned(), "search".to_owned())]),
        activate: None,
    }
}

fn verify_request(key: &ApiKey, cost: Option<u64>) -> VerifyKey {
    VerifyKey {
        key: ApiKey::from_plaintext(key.expose()),
        permissions: Vec::new(),
        workspace_id: None,
        cost,
    }
}

fn names(calls: &[&str]) -> Vec<String> {
    calls.iter().map(|&c| c.to_owned()).collect()
}

#[tokio::test]
async fn verify_is_one_get_item_and_no_write() {
    let Some(world) = World::on_moto("verify_is_one_get_item_and_no_write").await else {
        return;
    };
    let (org, ws) = world.org().await;
    let plain = world.create(workspace_key(&org, &ws), None).await;
    let metered = world
        .create(
            CreateKey {
                credits: Some(10),
                ..workspace_key(&org, &ws)
            },
            None,
        )
        .await;
    world.calls.take();

    for (key, code) in [
        (&plain.key, VerifyCode::Valid),
        (&metered.key, VerifyCode::Valid),
        (&ApiKey::mint(KeyEnv::Test), VerifyCode::NotFound),
    ] {
        assert_eq!(world.verify(key, None).await.code, code);
        assert_eq!(
            world.calls.take(),
            names(&["GetItem"]),
            "verify of a {code:?} key"
        );
    }

    // A verify with a cost spends: the one read, then one conditional write.
    let spent = world.verify(&metered.key, Some(3)).await;
    assert_eq!(
        (spent.code, spent.credits_remaining),
        (VerifyCode::Valid, Some(7))
    );
    assert_eq!(world.calls.take(), names(&["GetItem", "UpdateItem"]));

    // A revoke is seen by the very next verify (strongly consistent read),
    // which is still one GetItem.
    world.revoke_then_verify_with_one_read(&plain).await;
}

/// With the verify cache and last-use recording on (as in `keyplane serve`
/// and the Lambda functions): an uncached verify is still exactly one
/// `GetItem`; a hit reads nothing; nothing is written on the request path;
/// a flush writes each used key once per interval.
#[tokio::test]
async fn with_the_cache_a_hit_reads_nothing_and_last_use_is_flushed_once() {
    let Some(world) =
        World::on_moto("with_the_cache_a_hit_reads_nothing_and_last_use_is_flushed_once").await
    else {
        return;
    };
    let world = world.cached();
    let (org, ws) = world.org().await;
    let plain = world.create(workspace_key(&org, &ws), None).await;
    let unknown = ApiKey::mint(KeyEnv::Test);
    world.calls.take();

    for (key, code) in [
        (&plain.key, VerifyCode::Valid),
        (&unknown, VerifyCode::NotFound),
    ] {
        assert_eq!(world.verify(key, None).await.code, code);
        assert_eq!(
            world.calls.take(),
            names(&["GetItem"]),
            "first verify of {code:?}"
        );
        for _ in 0..5 {
            assert_eq!(world.verify(key, None).await.code, code);
        }
        assert_eq!(
            world.calls.take(),
            names(&[]),
            "cached verifies of {code:?}"
        );
    }

    // The first flush is due at once: one write, for the one used key.
    world.keyplane.flush_last_used_if_due().await;
    assert_eq!(world.calls.take(), names(&["UpdateItem"]));
    world.verify(&plain.key, None).await;
    world.keyplane.flush_last_used_if_due().await;
    assert_eq!(
        world.calls.take(),
        names(&[]),
        "a flush within the interval"
    );

    // Past the staleness bound, one read again; past the interval, one write.
    world.clock.advance(Span::seconds(60));
    assert_eq!(world.verify(&plain.key, None).await.code, VerifyCode::Valid);
    world.keyplane.flush_last_used_if_due().await;
    assert_eq!(world.calls.take(), names(&["GetItem", "UpdateItem"]));
    let stored = world
        .keyplane
        .get_key(&caller(ADMIN), &plain.view.id)
        .await
        .expect("get");
    assert_eq!(stored.last_used_at, Some(world.clock.now()));

    // This instance's own revoke is seen by the very next verify.
    world.revoke_then_verify_with_one_read(&plain).await;
}

#[tokio::test]
async fn an_organization_key_checks_the_workspace_with_one_more_read() {
    let Some(world) = World::on_moto("an_organization_key_checks_the_workspace").await else {
        return;
    };
    let (org, ws) = world.org().await;
    let (_, foreign) = world.org().await;
    let org_wide = world
        .create(
            CreateKey {
                scope: ScopeKind::Organization,
                workspace_id: None,
                ..workspace_key(&org, &ws)
            },
            None,
        )
        .await;
    let workspace = world.create(workspace_key(&org, &ws), None).await;
    world.calls.take();
    let verify = |key: &ApiKey, workspace: Option<&WorkspaceId>| VerifyKey {
        workspace_id: workspace.cloned(),
        ..verify_request(key, None)
    };

    let cases = [
        (&org_wide.key, None, VerifyCode::Valid, &["GetItem"][..]),
        (
            &org_wide.key,
            Some(&ws),
            VerifyCode::Valid,
            &["GetItem", "GetItem"][..],
        ),
        (
            &org_wide.key,
            Some(&foreign),
            VerifyCode::Forbidden,
            &["GetItem", "GetItem"][..],
        ),
        (
            &workspace.key,
            Some(&ws),
            VerifyCode::Valid,
            &["GetItem"][..],
        ),
        (
            &workspace.key,
            Some(&foreign),
            VerifyCode::Forbidden,
            &["GetItem"][..],
        ),
    ];
    for (key, asked, code, calls) in cases {
        let verdict = world
            .keyplane
            .verify(verify(key, asked))
            .await
            .expect("verify");
        assert_eq!(verdict.code, code, "{asked:?}");
        assert_eq!(world.calls.take(), names(calls), "{asked:?}");
    }
}

#[tokio::test]
async fn no_attribute_holds_a_plaintext_key_after_a_whole_lifecycle() {
    let Some(world) = World::on_moto("no_attribute_holds_a_plaintext_key").await else {
        return;
    };
    let (org, ws) = world.org().await;
    let admin = caller(ADMIN);
    let created = world
        .create(
            CreateKey {
                credits: Some(100),
                expires_at: Some(start() + Span::days(30)),
                workspace_ids: Some(BTreeSet::from([ws.clone()])),
                scope: ScopeKind::Organization,
                workspace_id: None,
                ..workspace_key(&org, &ws)
            },
            Some("create-once"),
        )
        .await;
    let id = created.view.id.clone();
    world
        .keyplane
        .patch_key(
            &admin,
            &id,
            PatchKey {
                name: Some("renamed".into()),
                ..PatchKey::default()
            },
        )
        .await
        .expect("patch");
    world.clock.advance(Span::minutes(1));
    let rolled = world
        .keyplane
        .roll_key(&admin, &id, RollKey { grace_seconds: 600 }, None)
        .await
        .expect("roll");
    let RollOutcome::Rolled(rolled) = rolled else {
        panic!("a roll without a token is never a replay");
    };
    world
        .keyplane
        .report_usage(
            &caller(REPORTER),
            ReportUsage {
                key_id: id.clone(),
                model: "gpt-4o".into(),
                input_tokens: 100,
                output_tokens: 10,
                requests: None,
            },
        )
        .await
        .expect("report usage");
    assert_eq!(
        world.verify(&rolled.key, Some(5)).await.code,
        VerifyCode::Valid
    );
    assert_eq!(
        world.verify(&created.key, None).await.code,
        VerifyCode::Valid
    );
    // Reported leaked, with the key in the report's source: the previous
    // secret's grace ends, and the source is stored redacted.
    world
        .keyplane
        .report_leak(
            ReportLeak {
                key: ApiKey::from_plaintext(created.key.expose()),
                source: Some(format!("pasted {}", created.key.expose())),
            },
            Some("req-leak".to_owned()),
        )
        .await
        .expect("report leak");
    world
        .keyplane
        .revoke_key(&admin, &id)
        .await
        .expect("revoke");

    // Control: a plaintext written through the same store (an audit event's
    // source, which the use cases would have redacted) is in the scan.
    let planted = ApiKey::mint(KeyEnv::Test);
    let mut event = fixtures::event(&org, "leak-scan.control", "control", world.clock.now());
    event.source = Some(planted.expose().to_owned());
    world.store.append_audit(&event).await.expect("append");

    let table = world.dump().await;
    // The scan reads real data: the key id, the current secret's hash (the
    // reported one ended and was deleted), the usage row...
    assert!(
        table.contains(id.as_str()),
        "the key id is not in the table"
    );
    assert!(
        table.contains(&rolled.key.hash().to_hex()),
        "the hash is missing"
    );
    assert!(table.contains("gpt-4o"), "the usage row is missing");
    LeakScan::new([planted.expose()]).assert_present("a full Scan of the table", &table);
    // ...and no plaintext, in any encoding.
    LeakScan::new([created.key.expose(), rolled.key.expose()])
        .assert_absent("a full Scan of the table", &table);
}

#[tokio::test]
async fn an_expired_secret_still_in_the_table_does_not_verify() {
    let Some(world) = World::on_moto("an_expired_secret_still_in_the_table").await else {
        return;
    };
    let (org, ws) = world.org().await;
    let expires_at = start() + Span::hours(1);
    let created = world
        .create(
            CreateKey {
                expires_at: Some(expires_at),
                ..workspace_key(&org, &ws)
            },
            None,
        )
        .await;
    assert_eq!(
        world.verify(&created.key, None).await.code,
        VerifyCode::Valid
    );

    world.clock.advance(Span::hours(2));
    assert_eq!(
        world.verify(&created.key, None).await.code,
        VerifyCode::Expired
    );
    // The item is still there, past its ttl: the core's clock decided.
    let item = raw_secret_item(&world.store, &created.key).await;
    let ttl = numeric(&item, TTL);
    assert_eq!(ttl, expires_at.timestamp());
    assert!(ttl < world.clock_now().timestamp());
}

#[tokio::test]
async fn secret_items_carry_ttl_and_the_table_has_ttl_enabled() {
    let Some(world) = World::on_moto("secret_items_carry_ttl").await else {
        return;
    };
    let (org, ws) = world.org().await;
    let expires_at = start() + Span::days(7);
    let expiring = world
        .create(
            CreateKey {
                expires_at: Some(expires_at),
                ..workspace_key(&org, &ws)
            },
            None,
        )
        .await;
    let item = raw_secret_item(&world.store, &expiring.key).await;
    assert!(
        matches!(item.get(TTL), Some(AttributeValue::N(_))),
        "ttl is not a number"
    );
    assert_eq!(numeric(&item, TTL), expires_at.timestamp());

    // A key that never expires has a secret item without ttl: DynamoDB
    // must not delete it.
    let forever = world.create(workspace_key(&org, &ws), None).await;
    assert!(!raw_secret_item(&world.store, &forever.key)
        .await
        .contains_key(TTL));

    let described = world
        .store
        .client()
        .describe_time_to_live()
        .table_name(world.store.table())
        .send()
        .await
        .expect("describe_time_to_live");
    let ttl = described
        .time_to_live_description()
        .expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(TTL));
}

/// A write guarded against replays costs one conditional `PutItem` before
/// its own transaction; the claim item expires (`ttl`) when the signature
/// can no longer be replayed; a replay is refused by that one `PutItem`,
/// with nothing written.
#[tokio::test]
async fn a_request_claim_is_one_put_item_with_a_ttl() {
    let Some(world) = World::on_moto("a_request_claim_is_one_put_item").await else {
        return;
    };
    let (org, _) = world.org().await;
    let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let admin = caller(ADMIN);
    let rename = || {
        world.keyplane.update_organization(
            &admin,
            &org,
            UpdateOrganization {
                name: Some("Renamed".into()),
                key_quota: None,
            },
        )
    };
    world.calls.take();
    world
        .keyplane
        .once(digest, rename())
        .await
        .expect("renamed");
    let calls = world.calls.take();
    assert_eq!(
        calls.first().map(String::as_str),
        Some("PutItem"),
        "{calls:?}"
    );
    assert_eq!(
        calls.iter().filter(|c| *c == "PutItem").count(),
        1,
        "{calls:?}"
    );

    let item = world
        .store
        .client()
        .get_item()
        .table_name(world.store.table())
        .key(
            schema::PK,
            AttributeValue::S(schema::request_claim_pk(digest)),
        )
        .key(
            schema::SK,
            AttributeValue::S(schema::REQUEST_CLAIM_SK.to_owned()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
        .expect("the claim is in the table");
    assert_eq!(
        numeric(&item, TTL),
        (world.clock_now() + REQUEST_CLAIM_TTL).timestamp()
    );

    world.calls.take();
    let refused = world.keyplane.once(digest, rename()).await;
    assert_eq!(refused.map_err(|e| e.code), Err(REQUEST_REPLAYED));
    // A backend that returns no old item on a failed condition costs a
    // read to tell the claim from the claimant's own (a retried put).
    let calls = world.calls.take();
    assert!(
        calls == names(&["PutItem"]) || calls == names(&["PutItem", "GetItem"]),
        "{calls:?}"
    );
}

#[tokio::test]
async fn ensure_table_creates_the_table_once() {
    let Some(endpoint) = moto_endpoint("ensure_table_creates_the_table_once") else {
        return;
    };
    let client = Client::from_conf(client_config(&endpoint).build());
    let table = unique_table_name();
    assert_eq!(schema::ensure_table(&client, &table).await, Ok(true));
    assert_eq!(schema::ensure_table(&client, &table).await, Ok(false));
    let described = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe_time_to_live");
    assert_eq!(
        described
            .time_to_live_description()
            .and_then(|ttl| ttl.time_to_live_status()),
        Some(&TimeToLiveStatus::Enabled)
    );
    // A second create_table of the same name is refused.
    assert!(schema::create_table(&client, &table).await.is_err());
}

impl World {
    fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The secret item of `key`, read directly with GetItem.
async fn raw_secret_item(
    store: &DynamoStore,
    key: &ApiKey,
) -> std::collections::HashMap<String, AttributeValue> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            schema::PK,
            AttributeValue::S(schema::secret_pk(&key.hash())),
        )
        .key(schema::SK, AttributeValue::S(schema::SECRET_SK.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
        .expect("the secret item is in the table")
}

fn numeric(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().expect("an integer"),
        other => panic!("{name} is {other:?}"),
    }
}
