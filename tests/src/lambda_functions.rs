//! Where the built Lambda functions are, and how to point them at moto, for
//! the end-to-end tests in `tests/tests/lambda_e2e.rs`.
//!
//! `functions/lambda/package` builds the release bootstraps into
//! `$CARGO_TARGET_DIR/lambda/<function>/bootstrap` and zips them into
//! `dist/lambda/<function>.zip`; `tests/run` then runs the ignored
//! end-to-end tests with `KEYPLANE_LAMBDA_DIR` set to that folder.

use std::path::{Path, PathBuf};

use crate::lambda_runtime_api::Bootstrap;

/// The Lambda functions `keyplane-lambda` builds, by binary name.
pub const FUNCTIONS: [&str; 3] = ["api", "authorizer", "rotator"];

/// Overrides where the bootstraps are.
pub const LAMBDA_DIR_VAR: &str = "KEYPLANE_LAMBDA_DIR";

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `$KEYPLANE_LAMBDA_DIR`, else `$CARGO_TARGET_DIR/lambda`, else the
/// workspace's `target/lambda`: where `cargo lambda build` puts them.
pub fn lambda_dir() -> PathBuf {
    let set = |var: &str| std::env::var_os(var).filter(|value| !value.is_empty());
    if let Some(dir) = set(LAMBDA_DIR_VAR) {
        return PathBuf::from(dir);
    }
    set("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("lambda")
}

/// The built bootstrap of `function`.
///
/// # Panics
///
/// When it has not been built: these tests exist to run the real binaries,
/// so a missing one is a failure, not a skip.
pub fn bootstrap(function: &str) -> PathBuf {
    let path = lambda_dir().join(function).join("bootstrap");
    assert!(
        path.is_file(),
        "{} is missing: run functions/lambda/package (or set {LAMBDA_DIR_VAR})",
        path.display()
    );
    path
}

/// The zip `functions/lambda/package` wrote for `function`, if it exists.
pub fn zip(function: &str) -> Option<PathBuf> {
    let path = workspace_root()
        .join("dist")
        .join("lambda")
        .join(format!("{function}.zip"));
    path.is_file().then_some(path)
}

pub use keyplane_aws::testing::moto_endpoint;

/// Points the function's AWS SDK clients at moto, with static credentials
/// where Lambda would hand it its role's.
pub fn on_moto(bootstrap: Bootstrap, endpoint: &str) -> Bootstrap {
    bootstrap.envs([
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "keyplane-test"),
        ("AWS_SECRET_ACCESS_KEY", "keyplane-test"),
        ("AWS_SESSION_TOKEN", "keyplane-test"),
    ])
}
