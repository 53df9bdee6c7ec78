//! The embedded store against the conformance suite, in memory and on disk,
//! plus what only a file can show: persistence, and that no plaintext key
//! ever reaches the disk.

use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::store::KeyStore;
use keyplane_store::conformance::fixtures::{create_key, given_org, KeyBuilder};
use keyplane_store::EmbeddedStore;
use tempfile::TempDir;

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
    drop(store);

    let bytes = std::fs::read(&path).expect("the data file is readable");
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    // The scan reads real data: the key's id and its hash are there...
    assert!(contains(key.id.as_str()), "the key id is not in the file");
    assert!(
        contains(&plaintext.hash().to_hex()),
        "the hash is not in the file"
    );
    // ...and the plaintext, whole or its random body alone, is not.
    let text = plaintext.expose();
    assert!(!contains(text), "the plaintext key is in the file");
    assert!(
        !contains(&text["kp_test_".len()..]),
        "the key's body is in the file"
    );
}

#[test]
fn a_locked_file_is_an_open_error() {
    let (_store, dir) = file_store();
    let second = EmbeddedStore::open(dir.path().join("keyplane.redb"));
    let err = second.expect_err("one process at a time");
    assert!(err.to_string().contains("keyplane.redb"), "{err}");
}
