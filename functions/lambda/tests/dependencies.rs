//! The functions ship without the embedded store (redb) and without the
//! local SigV4 verifier: in AWS, DynamoDB keeps the keys and API Gateway
//! checks signatures. The test build may link them (dev-dependencies); the
//! normal dependency tree must not.

use std::process::Command;

#[test]
fn the_functions_link_neither_redb_nor_the_local_verifier() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--manifest-path",
            manifest,
            "-p",
            "keyplane-lambda",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo tree failed: {stderr}");
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"keyplane-store"),
        "unexpected tree:\n{tree}"
    );
    for banned in ["redb", "keyplane-local"] {
        assert!(!crates.contains(&banned), "{banned} is linked:\n{tree}");
    }
}
