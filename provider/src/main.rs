//! `terraform-provider-keyplane`: started by Terraform, never by hand.

use std::process::ExitCode;

use terraform_provider_keyplane::KeyplaneProvider;

#[tokio::main]
async fn main() -> ExitCode {
    // anyhow (inside tf-provider) would capture a backtrace on every error
    // when RUST_BACKTRACE is set; Terraform shows none of them.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    match tf_provider::serve("keyplane", KeyplaneProvider::default()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("terraform-provider-keyplane: {err}");
            ExitCode::FAILURE
        }
    }
}
