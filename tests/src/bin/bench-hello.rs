//! The ceiling for the HTTP benchmarks (`tests/bench/run`): a bare axum
//! server on the same runtime and release profile as `keyplane serve`,
//! answering every request with a short JSON body. Whatever Keyplane does
//! on top of this is what the benchmark's ratios show.
//!
//! Usage: `bench-hello <listen address>`.

use axum::routing::{get, post};
use axum::{Json, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8790".to_owned());
    let hello = || async { Json(serde_json::json!({ "hello": "world" })) };
    let app = Router::new()
        .route("/healthz", get(hello))
        .route("/v1/whoami", get(hello))
        .route("/v1/keys/verify", post(hello));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
