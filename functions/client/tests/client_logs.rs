//! No plaintext key, signature or bearer header in any log line, client's
//! or server's, at any level — while the lines do name method and route.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use keyplane_client::api::key_format::ApiKey;
use keyplane_client::api::keys::RollKey;
use keyplane_client::api::verify::{ReportLeak, VerifyKey};
use support::{org_with_editor, ws_key, TestServer, ADMIN, ALICE};
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

fn copy(key: &ApiKey) -> ApiKey {
    ApiKey::from_plaintext(key.expose())
}

// A current-thread runtime: the server's and the client's tasks run on
// this thread, under the subscriber set here.
#[tokio::test]
async fn plaintext_never_reaches_the_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    let admin = server.client(ADMIN).await;
    let alice = server.client(ALICE).await;
    let (org, ws) = org_with_editor(&admin).await;

    let created = alice
        .create_key(&ws_key(&org, &ws))
        .await
        .expect("create")
        .into_created()
        .expect("created");
    let rolled = alice
        .roll_key(&created.view.id, &RollKey { grace_seconds: 60 })
        .await
        .expect("roll")
        .into_rolled()
        .expect("rolled");
    let mut shown = vec![format!("{created:?}"), format!("{rolled:?}")];
    for key in [&created.key, &rolled.key] {
        let verdict = alice
            .verify(&VerifyKey {
                key: copy(key),
                permissions: Vec::new(),
                workspace_id: None,
                cost: Some(1),
            })
            .await
            .expect("verify");
        shown.push(format!("{verdict:?}"));
        alice.whoami(key).await.expect("whoami");
    }
    alice
        .report_leak(&ReportLeak {
            key: copy(&rolled.key),
            source: None,
        })
        .await
        .expect("report leak");
    // Errors about a key do not quote it either.
    let err = alice.whoami(&rolled.key).await.expect_err("leaked key");
    shown.push(format!("{err} {err:?}"));

    let logs = captured.text();
    assert!(logs.contains("/v1/keys/{key_id}/roll"), "{logs}");
    assert!(logs.contains("/v1/whoami"), "{logs}");
    for key in [&created.key, &rolled.key] {
        let secret = key.expose();
        assert!(!logs.contains(secret), "a plaintext key is in the logs");
        for text in &shown {
            assert!(!text.contains(secret), "a plaintext key is in {text}");
        }
    }
    for leak in ["Bearer", "Signature=", "Credential="] {
        assert!(!logs.contains(leak), "{leak} is in the logs");
    }
}
