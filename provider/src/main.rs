//! `terraform-provider-keyplane`: started by Terraform, never by hand.

use std::process::ExitCode;

use terraform_provider_keyplane::KeyplaneProvider;

/// Why the provider stops when Terraform asks for plugin mTLS.
const MTLS_UNSUPPORTED: &str =
    "terraform-provider-keyplane: run Terraform with TF_DISABLE_PLUGIN_TLS=1. \
Terraform's plugin mTLS certificate is rejected by this provider's TLS stack; the plugin \
listens on 127.0.0.1 only, and no secret crosses that channel (plaintext keys never enter \
Terraform). See provider/README.md.";

fn main() -> ExitCode {
    // Before any thread exists, so changing the environment is sound.
    //
    // anyhow (inside tf-provider) would capture a backtrace on every error
    // when RUST_BACKTRACE is set; Terraform shows none of them.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    // Terraform's automatic mTLS presents a self-signed CA certificate as
    // its client certificate, which rustls (inside tf-provider) refuses as
    // an end entity (CaUsedAsEndEntity): every call would fail with
    // "Plugin did not respond". Say what to do instead.
    if std::env::var_os("PLUGIN_CLIENT_CERT").is_some_and(|cert| !cert.is_empty()) {
        eprintln!("{MTLS_UNSUPPORTED}");
        return ExitCode::FAILURE;
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("terraform-provider-keyplane: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tf_provider::serve("keyplane", KeyplaneProvider::default())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("terraform-provider-keyplane: {err}");
            ExitCode::FAILURE
        }
    }
}
