//! What the authorizer writes to CloudWatch: one JSON line per decision,
//! with the key id, the reason and the Lambda request id, and never a key.
//! Alone in its test binary, so no other test's logging races the
//! subscriber set here.

mod authorizer_support;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use authorizer_support::{http_api_event, rest_event, token_event, World};
use serde_json::Value;
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;

/// Everything written, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A current-thread runtime: everything runs on this thread, under the
// subscriber set here.
#[tokio::test]
async fn decisions_are_logged_by_key_id_never_by_key() {
    let captured = Captured::default();
    let subscriber =
        keyplane_lambda::logging::subscriber("trace", captured.clone()).expect("valid filter");
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = World::new().await;
    let (key, key_id) = world.key(&["orders:read"]).await;
    let (revoked, revoked_id) = world.key(&["orders:read"]).await;
    world.revoke(&revoked_id).await;

    let mut context = lambda_runtime::Context::default();
    context.request_id = "8f4e2a1c-0b9d-4c7e-a6f5-3d2c1b0a9e8f".to_owned();
    let span = lambda_runtime::layers::trace::request_span(&context);
    async {
        for event in [
            rest_event(&format!("Bearer {key}")),
            http_api_event(&format!("Bearer {revoked}")),
            token_event(&key),
        ] {
            world.authorizer.handle(event).await.expect("answer");
        }
        let mut malformed = key.clone();
        malformed.pop();
        let _ = world.authorizer.handle(token_event(&malformed)).await;
    }
    .instrument(span)
    .await;

    let logs = captured.text();
    let decisions: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("one JSON object per line"))
        .filter(|line| line["message"] == "authorizer decision")
        .collect();
    assert_eq!(decisions.len(), 4, "{logs}");
    assert_eq!(decisions[0]["decision"], "allow");
    assert_eq!(decisions[0]["key_id"], key_id.as_str());
    assert_eq!(decisions[1]["decision"], "deny");
    assert_eq!(decisions[1]["reason"], "REVOKED");
    assert_eq!(decisions[3]["reason"], "MALFORMED");
    for decision in &decisions {
        assert_eq!(
            decision["span"]["requestId"], context.request_id,
            "the Lambda request id is on every line: {decision}"
        );
    }
    let body = |k: &str| k["kp_test_".len()..].to_owned();
    for secret in [&key, &revoked] {
        assert!(
            !logs.contains(body(secret).as_str()),
            "a key reached the logs"
        );
    }
    assert!(!logs.contains("\u{1b}["), "no ANSI colours");
}
