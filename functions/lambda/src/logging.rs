//! Logs for CloudWatch: one JSON object per line on stdout, no colours, no
//! timestamps (CloudWatch stamps each line), and the fields of the spans in
//! scope, so every line carries the Lambda request id that the runtime puts
//! on its per-invocation span (`requestId`) and the Router's `request_id`.
//!
//! Whatever `KEYPLANE_LOG` says, the Lambda runtime's own TRACE log of the
//! raw event stays off: that event holds the request's headers and body,
//! where callers send keys and signatures.

use tracing::Subscriber;
use tracing_subscriber::filter::{Directive, EnvFilter, ParseError};
use tracing_subscriber::fmt::MakeWriter;

/// Where `lambda_runtime` logs whole events at TRACE level.
const RAW_EVENT_TARGET: &str = "lambda_runtime::layers::api_response=info";

/// The filter for `directives` (`KEYPLANE_LOG` syntax), with the raw-event
/// log forced off.
pub fn filter(directives: &str) -> Result<EnvFilter, ParseError> {
    let raw_event_off: Directive = RAW_EVENT_TARGET.parse()?;
    Ok(EnvFilter::builder()
        .parse(directives)?
        .add_directive(raw_event_off))
}

/// The subscriber the functions use, writing to `writer`; tests pass a
/// buffer to read what would have reached CloudWatch.
pub fn subscriber<W>(
    directives: &str,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + 'static, ParseError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    Ok(tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(true)
        .without_time()
        .with_ansi(false)
        .with_env_filter(filter(directives)?)
        .with_writer(writer)
        .finish())
}

/// Installs the subscriber for the process, writing to stdout. Does
/// nothing if one is installed already (a test harness, say).
pub fn init(directives: &str) -> Result<(), ParseError> {
    let subscriber = subscriber(directives, std::io::stdout)?;
    // A second installation fails harmlessly; the first one stays.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}
