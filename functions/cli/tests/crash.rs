//! `keyplane serve` killed with SIGKILL in the middle of a burst of
//! concurrent creates, then started again on the same data directory,
//! three times over: the embedded file opens, every create that was
//! answered 2xx is there and verifies, no key is half-created (each has
//! its secret item at its version, its stats and its creation event; a
//! create whose answer the kill cut off is there whole or not at all), and
//! the organization's quota count equals its keys.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyplane_client::api::id::{KeyId, OrgId};
use keyplane_client::api::key::{KeyRole, KeyType};
use keyplane_client::api::keys::{CreateKey, ListKeys, ScopeKind};
use keyplane_client::api::tenancy::{CreateOrganization, CreateWorkspace};
use keyplane_client::api::verify::{VerifyCode, VerifyKey};
use keyplane_client::{Client, CreateOutcome, Credentials, RetryPolicy};
use keyplane_core::key::KeyStatus;
use keyplane_core::key_format::ApiKey;
use keyplane_core::store::{KeyQuery, KeyStore};
use keyplane_local::credentials::LocalCredentials;
use keyplane_store::EmbeddedStore;
use secrecy::ExposeSecret;
use support::Server;

/// Creates in flight at once.
const WRITERS: usize = 12;
/// Creates answered before each kill.
const BEFORE_KILL: usize = 40;
/// Kills.
const ROUNDS: usize = 3;
/// Management rates are per caller: off, so the burst is not throttled.
const SERVE_ARGS: &[&str] = &["--rate-management", "off"];

/// The admin, without retries: an answer is the server's, or an error.
async fn admin(server: &Server) -> Client {
    let credentials = LocalCredentials::load(server.data_dir().join("credentials")).unwrap();
    let (access_key, secret) = credentials.profile("keyplane-admin").unwrap();
    Client::builder()
        .endpoint(server.endpoint.clone())
        .region("us-east-1")
        .credentials(Credentials::new(
            access_key,
            secret.expose_secret(),
            None,
            None,
            "keyplane-crash-test",
        ))
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .await
        .unwrap()
}

fn request(org: &OrgId, n: usize) -> CreateKey {
    CreateKey {
        organization_id: org.clone(),
        scope: ScopeKind::Organization,
        workspace_id: None,
        workspace_ids: None,
        key_type: KeyType::Service,
        name: Some(format!("burst-{n}")),
        role: KeyRole::Viewer,
        permissions: vec!["models:*".into()],
        expires_at: None,
        credits: (n % 2 == 0).then_some(10),
        metadata: Default::default(),
        activate: None,
    }
}

/// Creates from `WRITERS` tasks until the server stops answering; the
/// answered ones.
async fn burst(client: &Client, org: &OrgId, acked: &Arc<Mutex<Vec<(KeyId, String)>>>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let dead = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (client, org, acked, next, dead) = (
            client.clone(),
            org.clone(),
            acked.clone(),
            next.clone(),
            dead.clone(),
        );
        writers.push(tokio::spawn(async move {
            while !dead.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                match client.create_key(&request(&org, n)).await {
                    Ok(CreateOutcome::Created(minted)) => acked
                        .lock()
                        .unwrap()
                        .push((minted.view.id, minted.key.expose().to_owned())),
                    Ok(CreateOutcome::Replayed(view)) => panic!("a fresh create replayed {view:?}"),
                    // The server is gone (or going): stop.
                    Err(_) => dead.store(true, Ordering::SeqCst),
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

/// Every answered create verifies as itself, every listed key is counted
/// once against the quota; the listed keys.
async fn check_answered(server: &Server, org: &OrgId, acked: &[(KeyId, String)]) -> Vec<KeyId> {
    let client = admin(server).await;
    for (id, plaintext) in acked {
        let verdict = client
            .verify(&VerifyKey::new(ApiKey::from_plaintext(plaintext.clone())))
            .await
            .unwrap();
        assert_eq!(verdict.code, VerifyCode::Valid, "key {id}");
        assert_eq!(verdict.key_id.as_ref(), Some(id));
    }
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_keys_page(&ListKeys {
                organization_id: org.clone(),
                workspace_id: None,
                status: None,
                cursor: cursor.take(),
                limit: Some(100),
            })
            .await
            .unwrap();
        listed.extend(page.items.into_iter().map(|key| key.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let count = client.get_organization(org).await.unwrap().key_count;
    assert_eq!(
        count as usize,
        listed.len(),
        "the quota count is not the keys"
    );
    for (id, _) in acked {
        assert!(listed.contains(id), "answered create {id} is missing");
    }
    listed
}

/// Every key in the file has its secret item at its version, its stats
/// (credits as created) and its creation event, and counts once.
async fn check_file(path: std::path::PathBuf, org: &OrgId, listed: &[KeyId]) {
    let store = EmbeddedStore::open(path).unwrap();
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_keys(&KeyQuery {
                organization_id: org.clone(),
                workspace_id: None,
                status: None,
                created_by: None,
                cursor: cursor.take(),
                limit: 100,
            })
            .await
            .unwrap();
        keys.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(keys.len(), listed.len());
    let mut creations = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_audit(org, cursor.as_deref(), 100).await.unwrap();
        creations += page
            .items
            .iter()
            .filter(|e| e.action == "key.create")
            .count();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(creations, keys.len(), "creation events are not the keys");
    for key in &keys {
        assert_eq!(key.status, KeyStatus::Active);
        assert_eq!(key.credits_remaining, key.credits, "key {}", key.id);
        for secret in &key.secrets {
            let item = store.get_secret(&secret.hash).await.unwrap();
            let item = item.unwrap_or_else(|| panic!("key {} without its secret", key.id));
            assert_eq!((&item.key_id, item.key_version), (&key.id, key.version));
        }
    }
    let org = store.get_organization(org).await.unwrap().unwrap();
    assert_eq!(org.key_count as usize, keys.len());
}

#[test]
fn a_server_killed_during_bursts_of_creates_keeps_every_answered_create_whole() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Server::start_with(tempfile::tempdir().unwrap(), SERVE_ARGS);
    let org = runtime.block_on(async {
        let client = admin(&server).await;
        let org = client
            .create_organization(&CreateOrganization {
                name: "Acme".into(),
                key_quota: Some(100_000),
            })
            .await
            .unwrap()
            .id;
        client
            .create_workspace(
                &org,
                &CreateWorkspace {
                    name: "prod".into(),
                },
            )
            .await
            .unwrap();
        org
    });

    let mut answered: Vec<(KeyId, String)> = Vec::new();
    let mut server = Some(server);
    for round in 0..ROUNDS {
        let running = server.take().unwrap();
        // The burst runs on the runtime; the kill comes from this thread
        // once enough creates were answered, with the writers still sending.
        let acked = Arc::new(Mutex::new(Vec::new()));
        let client = runtime.block_on(admin(&running));
        let writing = {
            let (org, acked) = (org.clone(), acked.clone());
            runtime.spawn(async move { burst(&client, &org, &acked).await })
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < BEFORE_KILL {
            assert!(Instant::now() < deadline, "the burst stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
        let dir = running.kill();
        runtime.block_on(writing).unwrap();
        answered.extend(acked.lock().unwrap().iter().cloned());

        // Restarted on the same file: everything answered is there.
        let restarted = Server::start_with(dir, SERVE_ARGS);
        let listed = runtime.block_on(check_answered(&restarted, &org, &answered));
        eprintln!(
            "round {round}: {} creates answered, {} keys after the restart",
            answered.len(),
            listed.len()
        );
        server = Some(restarted);
    }

    let running = server.take().unwrap();
    let listed = runtime.block_on(check_answered(&running, &org, &answered));
    let dir = running.stop();
    runtime.block_on(check_file(
        dir.path().join("data").join("store.redb"),
        &org,
        &listed,
    ));
}
