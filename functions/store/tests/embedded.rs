//! The embedded store against the conformance suite, in memory and on disk,
//! plus what only a file can show: persistence, and that no plaintext key
//! ever reaches the disk.

use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::KeyStore;
use keyplane_store::conformance::fixtures::{create_key, event, given_org, t0, KeyBuilder};
use keyplane_store::EmbeddedStore;
use tempfile::TempDir;

/// The scanner every leak scan shares (see the file).
#[allow(dead_code)]
#[path = "../../../tests/src/leak_scan.rs"]
mod leak_scan;
use leak_scan::LeakScan;

/// A store in a fresh file, with the directory that must outlive it.
fn file_store() -> (EmbeddedStore, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path().join("keyplane.redb")).expect("the store opens");
    (store, dir)
}

mod in_memory {
    use super::EmbeddedStore;

    keyplane_store::conformance_tests!(EmbeddedStore::in_memory().expect("the store opens"));
}

mod file_backed {
    use super::file_store;

    keyplane_store::conformance_tests!(guarded file_store());
}

#[tokio::test]
async fn a_reopened_file_has_everything() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("keyplane.redb");
    let store = EmbeddedStore::open(&path).expect("the store opens");
    let org = given_org(&store, 5).await;
    let key = KeyBuilder::new(&org.id).credits(7).build();
    create_key(&store, &key, None).await.expect("create_key");
    drop(store);

    let reopened = EmbeddedStore::open(&path).expect("the store reopens");
    assert_eq!(reopened.get_key(&key.id).await, Ok(Some(key.clone())));
    assert_eq!(
        reopened.get_secret(&key.secrets[0].hash).await,
        Ok(key.secret_records().pop())
    );
    assert_eq!(
        reopened
            .get_organization(&org.id)
            .await
            .map(|o| o.map(|o| o.key_count)),
        Ok(Some(1))
    );
}

#[tokio::test]
async fn the_file_holds_hashes_never_plaintext() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("keyplane.redb");
    let store = EmbeddedStore::open(&path).expect("the store opens");
    let org = given_org(&store, 5).await;
    let plaintext = ApiKey::mint(KeyEnv::Test);
    let key = KeyBuilder::new(&org.id).secret(plaintext.hash()).build();
    create_key(&store, &key, None).await.expect("create_key");
    // Control: a plaintext the store is handed (here in an audit event's
    // source; the use cases would have redacted it) is in the file's bytes.
    let planted = ApiKey::mint(KeyEnv::Test);
    let mut control = event(&org.id, "leak-scan.control", "control", t0());
    control.source = Some(planted.expose().to_owned());
    store.append_audit(&control).await.expect("append_audit");
    drop(store);

    let bytes = std::fs::read(&path).expect("the data file is readable");
    let text = String::from_utf8_lossy(&bytes);
    // The scan reads real data: the key's id and its hash are there...
    assert!(
        text.contains(key.id.as_str()),
        "the key id is not in the file"
    );
    assert!(
        text.contains(&plaintext.hash().to_hex()),
        "the hash is not in the file"
    );
    LeakScan::new([planted.expose()]).assert_present("the store's file", &bytes);
    // ...and the plaintext, in any encoding, is not.
    LeakScan::new([plaintext.expose()]).assert_absent("the store's file", &bytes);
}

#[test]
fn a_locked_file_is_an_open_error() {
    let (_store, dir) = file_store();
    let second = EmbeddedStore::open(dir.path().join("keyplane.redb"));
    let err = second.expect_err("one process at a time");
    assert!(err.to_string().contains("keyplane.redb"), "{err}");
}
