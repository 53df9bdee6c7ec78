//! The release Lambda bootstraps, run as Lambda runs them: a process per
//! function, configured by its environment, driven through the Runtime API
//! (`keyplane_tests::lambda_runtime_api`).
//!
//! Ignored by the main test run, because they need the release build that
//! `functions/lambda/package` makes; `tests/run` builds it once and then runs
//! `cargo nextest run -p keyplane-tests --run-ignored only -E 'binary(lambda_e2e)'`.
//! Scenarios against moto start from `lambda_functions::moto_endpoint` and
//! `lambda_functions::on_moto`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use keyplane_tests::lambda_functions::{bootstrap, zip, FUNCTIONS};
use keyplane_tests::lambda_runtime_api::LambdaProcess;
use serde_json::json;

/// Cold starts measured per function: enough for a median that one slow
/// spawn on a busy two-core machine does not decide.
const COLD_STARTS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `functions/lambda/check-glibc`'s verdict on `path`: the one place that
/// knows how to read the required GLIBC version.
fn glibc(path: &Path) -> String {
    let script =
        keyplane_tests::lambda_functions::workspace_root().join("functions/lambda/check-glibc");
    match Command::new(&script).arg(path).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(if out.status.success() {
                &out.stdout
            } else {
                &out.stderr
            });
            text.split_once(": ").map_or_else(
                || text.trim().to_owned(),
                |(_, verdict)| verdict.trim().to_owned(),
            )
        }
        Err(e) => format!("{}: {e}", script.display()),
    }
}

fn size(path: Option<&Path>) -> String {
    path.and_then(|p| std::fs::metadata(p).ok())
        .map_or_else(|| "-".to_owned(), |m| m.len().to_string())
}

/// Each bootstrap starts with Lambda's environment only, polls for an event
/// and answers it, without the process failing. Prints, per function, its
/// sizes, its GLIBC needs and its cold start (spawn → first answer received)
/// for the record; times are never asserted on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release Lambda binaries: tests/run builds them and runs these"]
async fn every_bootstrap_answers_an_invocation_from_a_cold_start() {
    let mut rows = Vec::new();
    for function in FUNCTIONS {
        let path = bootstrap(function);
        let mut first_event = Vec::new();
        let mut init = Vec::new();
        let mut answered = String::new();
        for round in 0..COLD_STARTS {
            let lambda = LambdaProcess::spawn(&path, &[("RUST_LOG", "info")]).await;
            let event = json!({"smoke": function, "round": round});
            let answer = lambda.invoke(event.clone()).await;
            // The placeholder bins echo; the real ones may refuse an event
            // that is not theirs, but must answer it, not crash or hang.
            if let Err(error) = &answer {
                assert!(
                    !error.is_runtime_failure(),
                    "{function}: {error}\nlogs:\n{}",
                    lambda.logs()
                );
            }
            answered = match answer {
                Ok(value) if value == event => "echo".to_owned(),
                Ok(_) => "ok".to_owned(),
                Err(error) => error.error_type,
            };
            first_event.push(lambda.spawn_to_first_event().expect("it answered"));
            init.push(lambda.init_duration().expect("it polled before answering"));
        }
        rows.push(format!(
            "{function:<11} {:>10} {:>10}  {:<24} {:>10} {:>14}  {answered}",
            size(Some(&path)),
            size(zip(function).as_deref()),
            glibc(&path),
            millis(median(init)),
            millis(median(first_event)),
        ));
    }
    eprintln!(
        "\n{:<11} {:>10} {:>10}  {:<24} {:>10} {:>14}  answer\n{}\n(median of {COLD_STARTS} cold starts each, in ms)",
        "function",
        "bootstrap",
        "zip",
        "glibc",
        "init",
        "first event",
        rows.join("\n")
    );
}
