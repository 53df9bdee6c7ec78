//! JSON answers of the data plane, rendered into one buffer sized for a
//! verify verdict: axum's `Json` starts at 128 bytes and grows twice for a
//! typical verdict, which showed in the hot path's profile.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A typical verdict is 300 to 500 bytes.
const VERDICT_SIZE: usize = 512;

/// A `200 application/json` answer.
#[derive(Debug)]
pub struct JsonAnswer<T>(pub T);

impl<T: Serialize> IntoResponse for JsonAnswer<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(VERDICT_SIZE);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ANSWER_NOT_ENCODED",
                "the answer could not be encoded",
            )
            .into_response(),
        }
    }
}
