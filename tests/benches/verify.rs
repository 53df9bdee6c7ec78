//! Verify on the hot path, in process: a valid key on the embedded store
//! (file-backed, as `keyplane serve` runs it) without the verify cache and
//! with it (a hit), a malformed key (rejected by the checksum before any
//! lookup), and a bare SHA-256 of a key as the baseline every figure is
//! divided by, measured in the same run.
//!
//! Run with `cargo bench -p keyplane-tests --bench verify` (or
//! `tests/bench/run`, which prints the table with the HTTP figures).
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{black_box, Criterion};
use keyplane_core::key_format::{ApiKey, KeyEnv};
use keyplane_core::service::{VerifyCacheSettings, VerifyKey};
use keyplane_core::Keyplane;
use keyplane_store::EmbeddedStore;
use keyplane_tests::{workspace_key, World, ADMIN};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("bench.redb")).unwrap());
    let world = World::with_store(store);
    let key = runtime.block_on(async {
        let (org, ws) = world.org().await;
        world
            .create(ADMIN, workspace_key(&org, &ws))
            .await
            .unwrap()
            .key
    });
    let valid = key.expose().to_owned();
    let mut malformed = valid.clone().into_bytes();
    malformed[20] = if malformed[20] == b'a' { b'b' } else { b'a' };
    let malformed = String::from_utf8(malformed).unwrap();

    let cached = world
        .keyplane
        .clone()
        .with_verify_cache(VerifyCacheSettings::default());
    let verify = |keyplane: &Keyplane, text: &str| {
        let request = VerifyKey {
            key: ApiKey::from_plaintext(text),
            permissions: vec!["models:gpt-4o".to_owned()],
            workspace_id: None,
            cost: None,
        };
        runtime.block_on(keyplane.verify(request)).unwrap()
    };
    assert!(verify(&world.keyplane, &valid).valid);
    assert!(verify(&cached, &valid).valid);
    assert!(!verify(&world.keyplane, &malformed).valid);

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut results = Vec::new();
    let mut measure = |name: &str, f: &mut dyn FnMut()| {
        criterion.bench_function(name, |b| b.iter(&mut *f));
        results.push((name.to_owned(), read_estimate(name)));
    };
    let baseline_key = ApiKey::mint(KeyEnv::Test);
    measure("baseline_sha256_of_key", &mut || {
        black_box(black_box(&baseline_key).hash());
    });
    // What driving any future costs here, to read the rows below against.
    measure("runtime_block_on_ready_future", &mut || {
        black_box(runtime.block_on(async { black_box(1) }));
    });
    measure("verify_malformed_key", &mut || {
        black_box(verify(&world.keyplane, black_box(&malformed)));
    });
    measure("verify_valid_key_embedded_store", &mut || {
        black_box(verify(&world.keyplane, black_box(&valid)));
    });
    measure("verify_valid_key_cache_hit", &mut || {
        black_box(verify(&cached, black_box(&valid)));
    });

    let baseline = results[0].1;
    println!("\n| in process | ns per call | × SHA-256 of a key |\n|---|---:|---:|");
    for (name, ns) in &results {
        match (ns, baseline) {
            (Some(ns), Some(base)) => println!("| {name} | {ns:.0} | {:.1} |", ns / base),
            _ => println!("| {name} | n/a | n/a |"),
        }
    }
}

/// Criterion's point estimate of the mean, in ns, from its output files.
fn read_estimate(name: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let path = std::path::Path::new(&target)
        .join("criterion")
        .join(name)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["mean"]["point_estimate"].as_f64()
}
