//! The AWS Lambda Runtime API, emulated on 127.0.0.1, so tests can run the
//! real `bootstrap` binaries the way Lambda runs them: as a process that
//! long-polls for events and posts back results, configured only by its
//! environment.
//!
//! [`RuntimeApi`] is the server alone (drive it with any runtime client);
//! [`LambdaProcess`] starts one, spawns a bootstrap against it and captures
//! its logs:
//!
//! ```no_run
//! # async fn demo() {
//! use keyplane_tests::lambda_runtime_api::LambdaProcess;
//!
//! let lambda = LambdaProcess::spawn("target/lambda/api/bootstrap", &[("RUST_LOG", "info")]).await;
//! let answer = lambda.invoke(serde_json::json!({"ping": 1})).await;
//! println!("{answer:?} after {:?}; logs:\n{}", lambda.spawn_to_first_event(), lambda.logs());
//! # }
//! ```
//!
//! Failures that Lambda itself reports to an invoker come back the same
//! way, as an [`InvocationError`] with Lambda's error type: a process that
//! exits mid-invocation is `Runtime.ExitError`, one that runs past its
//! timeout is `Sandbox.Timedout` (and, as in Lambda, is killed), and an
//! error posted to `/runtime/init/error` fails every invocation with its own
//! type. So a test can assert that a function fails closed without caring
//! whether it returned an error or crashed.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

/// Lambda's limit on a synchronous invocation's payload and response.
const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// The account and region every emulated function lives in.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// What a function, or Lambda on its behalf, answered instead of a result:
/// the `errorType`/`errorMessage` pair an invoker sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationError {
    /// `errorType`, e.g. `Runtime.ExitError` or the function's own type.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
}

impl InvocationError {
    fn new(error_type: &str, error_message: String) -> Self {
        Self {
            error_type: error_type.to_owned(),
            error_message,
        }
    }

    /// Whether Lambda, not the function's handler, produced this error:
    /// the process exited, timed out, failed to start or failed its init.
    pub fn is_runtime_failure(&self) -> bool {
        ["Runtime.", "Sandbox.", "Emulator."]
            .iter()
            .any(|prefix| self.error_type.starts_with(prefix))
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for InvocationError {}

type Reply = oneshot::Sender<Result<Value, InvocationError>>;

/// An invocation waiting for the runtime's next poll.
struct Queued {
    request_id: String,
    event: Bytes,
    timeout: Duration,
    reply: Reply,
}

struct Shared {
    function_arn: String,
    queue_tx: mpsc::UnboundedSender<Queued>,
    // One poller at a time takes the next event, as in Lambda, where a
    // sandbox handles one invocation at a time.
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, Reply>>,
    init_error: watch::Sender<Option<InvocationError>>,
    first_poll: OnceLock<Instant>,
    invocations: AtomicU64,
}

impl Shared {
    fn take_in_flight(&self, request_id: &str) -> Option<Reply> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(request_id)
    }
}

/// The Runtime API server, on `127.0.0.1` at a port of the OS's choosing.
/// Stops when dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .field("function_arn", &self.shared.function_arn)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Starts the server for a function called `function_name`.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::new(HashMap::new()),
            init_error: watch::Sender::new(None),
            first_poll: OnceLock::new(),
            invocations: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/response",
                post(response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/error",
                post(error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(PAYLOAD_LIMIT))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Ends only when the listener fails, and then every pending
            // invocation times out, which names the problem well enough.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            shared,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The ARN sent as `Lambda-Runtime-Invoked-Function-Arn`.
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// When a runtime first asked for an event: the end of its init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.first_poll.get().copied()
    }

    /// What the runtime posted to `/runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<InvocationError> {
        self.shared.init_error.borrow().clone()
    }

    /// Queues `event` for the runtime's next poll and waits for its answer:
    /// the response body, the error the function posted, the init error, or
    /// `Sandbox.Timedout` after `timeout`.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Value, InvocationError> {
        let n = self.shared.invocations.fetch_add(1, Ordering::Relaxed);
        // Shaped like Lambda's request ids, and ordered, which reads well in logs.
        let request_id = format!("00000000-0000-4000-8000-{n:012x}");
        let body = serde_json::to_vec(&event).map_err(|e| {
            InvocationError::new("Emulator.InvalidEvent", format!("event is not JSON: {e}"))
        })?;
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            request_id: request_id.clone(),
            event: Bytes::from(body),
            timeout,
            reply,
        };
        if self.shared.queue_tx.send(queued).is_err() {
            return Err(InvocationError::new(
                "Emulator.Stopped",
                "the runtime API server has stopped".into(),
            ));
        }
        let mut init_error = self.shared.init_error.subscribe();
        tokio::select! {
            biased;
            answer = answer => answer.unwrap_or_else(|_| Err(InvocationError::new(
                "Emulator.Stopped",
                format!("RequestId: {request_id} Error: the runtime API server stopped"),
            ))),
            Ok(error) = init_error.wait_for(Option::is_some) => {
                Err(error.clone().unwrap_or_else(|| InvocationError::new("Runtime.InitError", String::new())))
            }
            () = tokio::time::sleep(timeout) => {
                self.shared.take_in_flight(&request_id);
                Err(InvocationError::new(
                    "Sandbox.Timedout",
                    format!("RequestId: {request_id} Error: Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                ))
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// `GET /runtime/invocation/next`: held open until an event is queued.
async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.first_poll.set(Instant::now());
    let queued = {
        let mut queue = shared.queue_rx.lock().await;
        loop {
            match queue.recv().await {
                // Its invoker timed out or went away before this poll.
                Some(queued) if queued.reply.is_closed() => continue,
                Some(queued) => break queued,
                None => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
    };
    // No await from here on: once taken from the queue, the event is in
    // flight even if this poll's connection is gone.
    let deadline = epoch_ms(SystemTime::now() + queued.timeout);
    let trace_id = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        epoch_ms(SystemTime::now()) / 1000,
        shared.invocations.load(Ordering::Relaxed),
        deadline,
    );
    shared
        .in_flight
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(queued.request_id.clone(), queued.reply);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "lambda-runtime-aws-request-id",
        header_value(&queued.request_id),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        header_value(&deadline.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header_value(&shared.function_arn),
    );
    headers.insert("lambda-runtime-trace-id", header_value(&trace_id));
    (StatusCode::OK, headers, queued.event).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({"status": "OK"}))).into_response()
}

fn unknown_request(request_id: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "errorType": "InvalidRequestID",
            "errorMessage": format!("no invocation {request_id} is in flight"),
        })),
    )
        .into_response()
}

/// `POST /runtime/invocation/{id}/response`.
async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let Some(reply) = shared.take_in_flight(&request_id) else {
        return unknown_request(&request_id);
    };
    let answer = serde_json::from_slice(&body).map_err(|e| {
        InvocationError::new(
            "Runtime.InvalidResponsePayload",
            format!("the function's response is not JSON: {e}"),
        )
    });
    let _ = reply.send(answer);
    accepted()
}

/// The `{errorType, errorMessage}` a runtime posts, falling back to the
/// `Lambda-Runtime-Function-Error-Type` header for a body that is not one.
fn diagnostic(headers: &HeaderMap, body: &[u8], default_type: &str) -> InvocationError {
    serde_json::from_slice(body).unwrap_or_else(|_| {
        let error_type = headers
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(default_type);
        InvocationError::new(error_type, String::from_utf8_lossy(body).into_owned())
    })
}

/// `POST /runtime/invocation/{id}/error`.
async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reply) = shared.take_in_flight(&request_id) else {
        return unknown_request(&request_id);
    };
    let _ = reply.send(Err(diagnostic(&headers, &body, "Unhandled")));
    accepted()
}

/// `POST /runtime/init/error`.
async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = diagnostic(&headers, &body, "Runtime.InitError");
    shared.init_error.send_replace(Some(error));
    accepted()
}

/// How to start a bootstrap: [`LambdaProcess::spawn`] with defaults, or
/// this builder for arguments, the function's name or its timeout.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    function_name: String,
    timeout: Duration,
}

impl Bootstrap {
    /// Runs `program`; the function is named after its folder
    /// (`target/lambda/api/bootstrap` is `api`), with a 30 s timeout.
    pub fn new(program: impl AsRef<Path>) -> Self {
        let program = program.as_ref().to_path_buf();
        let function_name = program
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .filter(|name| !name.is_empty())
            .unwrap_or("keyplane-test")
            .to_owned();
        Self {
            program,
            args: Vec::new(),
            env: Vec::new(),
            function_name,
            timeout: Duration::from_secs(30),
        }
    }

    /// A command-line argument (Lambda passes none; for scripts under test).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An environment variable, set after (so overriding) Lambda's own.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Environment variables, set after (so overriding) Lambda's own.
    pub fn envs<K, V>(self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        vars.into_iter().fold(self, |b, (k, v)| b.env(k, v))
    }

    /// `AWS_LAMBDA_FUNCTION_NAME`, and the name in the function's ARN.
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// How long an invocation may run before it fails as `Sandbox.Timedout`
    /// and the process is killed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts a [`RuntimeApi`] and the process, with an environment that
    /// holds only `PATH`, what Lambda sets, and what was given here.
    ///
    /// # Errors
    ///
    /// When the server cannot bind or the program cannot be started.
    pub async fn spawn(self) -> std::io::Result<LambdaProcess> {
        let api = RuntimeApi::start(&self.function_name).await?;
        let name = &self.function_name;
        let lambda_env = [
            ("AWS_LAMBDA_RUNTIME_API", api.address().to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]00000000000000000000000000000000".into(),
            ),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_DEFAULT_REGION", REGION.into()),
        ];
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            // Nothing from the test's own environment leaks in (AWS
            // profiles, endpoints, RUST_LOG): what a test passes is all
            // the function sees, as in Lambda.
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .envs(lambda_env.iter().map(|(k, v)| (*k, v)))
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned_at = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: {e}", self.program.display()))
        })?;

        let logs = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(capture(stdout, logs.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(capture(stderr, logs.clone())));
        }

        let kill = Arc::new(Notify::new());
        let (exit_tx, exit) = watch::channel(None);
        let stop = kill.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                () = stop.notified() => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            if let Ok(status) = status {
                exit_tx.send_replace(Some(status));
            }
        });

        Ok(LambdaProcess {
            api,
            program: self.program,
            timeout: self.timeout,
            spawned_at,
            first_event: OnceLock::new(),
            logs,
            readers,
            exit,
            kill,
        })
    }
}

/// Appends the stream's lines to `logs` until it closes.
async fn capture(stream: impl AsyncRead + Unpin, logs: Arc<Mutex<String>>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let mut logs = logs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                logs.push_str(&text);
                if !text.ends_with('\n') {
                    logs.push('\n');
                }
            }
        }
    }
}

/// A bootstrap running against its own [`RuntimeApi`]: invoke it, read its
/// logs. Killed when dropped.
pub struct LambdaProcess {
    api: RuntimeApi,
    program: PathBuf,
    timeout: Duration,
    spawned_at: Instant,
    first_event: OnceLock<Duration>,
    logs: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    exit: watch::Receiver<Option<ExitStatus>>,
    kill: Arc<Notify>,
}

impl fmt::Debug for LambdaProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaProcess")
            .field("program", &self.program)
            .field("api", &self.api)
            .field("exit", &*self.exit.borrow())
            .finish_non_exhaustive()
    }
}

impl LambdaProcess {
    /// Spawns `bootstrap` with Lambda's environment plus `env` (see
    /// [`Bootstrap`] for more control).
    ///
    /// # Panics
    ///
    /// When the bootstrap cannot be started: a test cannot go on without it.
    pub async fn spawn(bootstrap: impl AsRef<Path>, env: &[(&str, &str)]) -> Self {
        let bootstrap = bootstrap.as_ref();
        Bootstrap::new(bootstrap)
            .envs(env.iter().copied())
            .spawn()
            .await
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bootstrap.display()))
    }

    /// Invokes the function synchronously, as `lambda:Invoke` with
    /// `RequestResponse` does: its JSON answer, or the error it (or Lambda
    /// on its behalf) reported.
    pub async fn invoke(&self, event: Value) -> Result<Value, InvocationError> {
        let mut exit = self.exit.clone();
        let answer = tokio::select! {
            biased;
            answer = self.api.invoke(event, self.timeout) => answer,
            exited = exit.wait_for(Option::is_some) => {
                let status = exited.ok().and_then(|status| *status);
                let status = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                Err(InvocationError::new(
                    "Runtime.ExitError",
                    format!("Error: Runtime exited with error: {status}"),
                ))
            }
        };
        match &answer {
            Err(error) if error.error_type == "Sandbox.Timedout" => self.kill.notify_one(),
            Err(error) if error.is_runtime_failure() => {}
            // The function handled it, successfully or not.
            _ => {
                let _ = self.first_event.set(self.spawned_at.elapsed());
            }
        }
        answer
    }

    /// From spawning the process to receiving the function's first answer,
    /// once it has answered: the cold start as an invoker sees it, provided
    /// the first invocation was sent right after spawning.
    pub fn spawn_to_first_event(&self) -> Option<Duration> {
        self.first_event.get().copied()
    }

    /// From spawning the process to its first poll for an event: its init
    /// phase.
    pub fn init_duration(&self) -> Option<Duration> {
        self.api
            .first_poll()
            .map(|at| at.saturating_duration_since(self.spawned_at))
    }

    /// Everything the process printed so far, stdout and stderr interleaved
    /// by line, as CloudWatch Logs would hold it.
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits up to `within` for `needle` to appear in the logs, which lag
    /// behind the answers they accompany. Returns whether it did.
    pub async fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.logs().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What the process posted to `/runtime/init/error`, if anything.
    pub fn init_error(&self) -> Option<InvocationError> {
        self.api.init_error()
    }

    /// The process's exit status once it has exited, waiting up to
    /// `within` (for a bootstrap expected to fail its init, say).
    pub async fn exit_status(&self, within: Duration) -> Option<ExitStatus> {
        let mut exit = self.exit.clone();
        let exited = tokio::time::timeout(within, exit.wait_for(Option::is_some)).await;
        match exited {
            Ok(Ok(status)) => *status,
            _ => None,
        }
    }

    /// The Runtime API the process talks to.
    pub fn runtime_api(&self) -> &RuntimeApi {
        &self.api
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.kill.notify_one();
        for reader in &self.readers {
            reader.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

    /// The smallest runtime client: what `lambda_runtime` sends, by hand.
    struct Runtime {
        base: String,
        http: HttpClient,
    }

    impl Runtime {
        fn new(api: &RuntimeApi) -> Self {
            Self {
                base: format!("http://{}/2018-06-01/runtime", api.address()),
                http: Client::builder(TokioExecutor::new()).build_http(),
            }
        }

        async fn call(
            &self,
            method: &str,
            path: &str,
            body: &str,
        ) -> (StatusCode, HeaderMap, Value) {
            let request = http::Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.base))
                .body(Full::new(Bytes::from(body.to_owned())))
                .expect("valid request");
            let response = self.http.request(request).await.expect("server answers");
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.expect("body").to_bytes();
            let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (parts.status, parts.headers, json)
        }

        async fn next(&self) -> (String, HeaderMap, Value) {
            let (status, headers, event) = self.call("GET", "/invocation/next", "").await;
            assert_eq!(status, StatusCode::OK);
            let id = headers["lambda-runtime-aws-request-id"]
                .to_str()
                .expect("ascii id")
                .to_owned();
            (id, headers, event)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_response_answers_the_invocation_with_lambdas_headers() {
        let api = RuntimeApi::start("echo").await.expect("server starts");
        let runtime = Runtime::new(&api);
        assert!(api.first_poll().is_none());

        let invoking = api.invoke(json!({"n": 1}), Duration::from_secs(10));
        let handling = async {
            let (id, headers, event) = runtime.next().await;
            assert_eq!(event, json!({"n": 1}));
            assert_eq!(headers[header::CONTENT_TYPE], "application/json");
            assert_eq!(
                headers["lambda-runtime-invoked-function-arn"],
                "arn:aws:lambda:us-east-1:123456789012:function:echo"
            );
            assert!(headers["lambda-runtime-trace-id"]
                .to_str()
                .expect("ascii")
                .starts_with("Root=1-"));
            let deadline: u128 = headers["lambda-runtime-deadline-ms"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("epoch ms");
            let now = epoch_ms(SystemTime::now());
            assert!(
                deadline > now && deadline <= now + 10_000,
                "{deadline} vs {now}"
            );
            let (status, _, body) = runtime
                .call(
                    "POST",
                    &format!("/invocation/{id}/response"),
                    r#"{"echo":1}"#,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
            assert_eq!(body, json!({"status": "OK"}));
            id
        };
        let (answer, id) = tokio::join!(invoking, handling);
        assert_eq!(answer, Ok(json!({"echo": 1})));
        assert!(api.first_poll().is_some());

        // An answer for an invocation no longer in flight is refused.
        let (status, _, body) = runtime
            .call("POST", &format!("/invocation/{id}/response"), "{}")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errorType"], "InvalidRequestID");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn invocations_are_handed_out_one_per_poll_in_order() {
        let api = RuntimeApi::start("echo").await.expect("server starts");
        let runtime = Runtime::new(&api);
        let invoking = async {
            tokio::join!(
                api.invoke(json!(1), Duration::from_secs(10)),
                api.invoke(json!(2), Duration::from_secs(10)),
            )
        };
        let handling = async {
            let mut ids = Vec::new();
            for expected in [1, 2] {
                let (id, _, event) = runtime.next().await;
                assert_eq!(event, json!(expected));
                let (status, _, _) = runtime
                    .call(
                        "POST",
                        &format!("/invocation/{id}/response"),
                        &format!("{}", expected * 10),
                    )
                    .await;
                assert_eq!(status, StatusCode::ACCEPTED);
                ids.push(id);
            }
            ids
        };
        let ((first, second), ids) = tokio::join!(invoking, handling);
        assert_eq!((first, second), (Ok(json!(10)), Ok(json!(20))));
        assert_ne!(ids[0], ids[1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_posted_error_comes_back_as_the_invocation_error() {
        let api = RuntimeApi::start("failing").await.expect("server starts");
        let runtime = Runtime::new(&api);
        let invoking = api.invoke(json!({}), Duration::from_secs(10));
        let handling = async {
            let (id, _, _) = runtime.next().await;
            let (status, _, _) = runtime
                .call(
                    "POST",
                    &format!("/invocation/{id}/error"),
                    r#"{"errorType":"StoreUnavailable","errorMessage":"fail closed"}"#,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
        };
        let (answer, ()) = tokio::join!(invoking, handling);
        let error = answer.expect_err("the function failed");
        assert_eq!(
            error,
            InvocationError::new("StoreUnavailable", "fail closed".into())
        );
        assert!(!error.is_runtime_failure());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_init_error_fails_waiting_invocations() {
        let api = RuntimeApi::start("broken").await.expect("server starts");
        let runtime = Runtime::new(&api);
        let invoking = api.invoke(json!({}), Duration::from_secs(10));
        let failing_init = async {
            let (status, _, _) = runtime
                .call(
                    "POST",
                    "/init/error",
                    r#"{"errorType":"Runtime.InitError","errorMessage":"missing KEYPLANE_TABLE"}"#,
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
        };
        let (answer, ()) = tokio::join!(invoking, failing_init);
        let expected = InvocationError::new("Runtime.InitError", "missing KEYPLANE_TABLE".into());
        assert_eq!(answer, Err(expected.clone()));
        assert_eq!(api.init_error(), Some(expected));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unanswered_invocation_times_out() {
        let api = RuntimeApi::start("slow").await.expect("server starts");
        let answer = api.invoke(json!({}), Duration::from_millis(50)).await;
        let error = answer.expect_err("nobody polled");
        assert_eq!(error.error_type, "Sandbox.Timedout");
        assert!(error.is_runtime_failure());
    }

    /// A shell runtime in the style of Lambda's custom-runtime tutorial: a
    /// process that knows the Runtime API only from its environment.
    const SHELL_RUNTIME: &str = r#"
        set -eu
        api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
        echo "init $AWS_LAMBDA_FUNCTION_NAME in $AWS_REGION, home=${HOME:-unset}"
        while :; do
          headers=$(mktemp)
          event=$(curl -sS -D "$headers" "$api/invocation/next")
          id=$(tr -d '\r' <"$headers" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
          rm -f "$headers"
          echo "handling $id" >&2
          case "$event" in
            '"exit"') exit 3 ;;
            '"sleep"') exec sleep 30 ;;
            '"fail"') curl -sS -o /dev/null -d '{"errorType":"Handled","errorMessage":"no"}' "$api/invocation/$id/error" ;;
            *) curl -sS -o /dev/null -d "{\"echo\":$event,\"greeting\":\"$GREETING\"}" "$api/invocation/$id/response" ;;
          esac
        done
    "#;

    fn shell_runtime() -> Bootstrap {
        Bootstrap::new("/bin/sh")
            .arg("-c")
            .arg(SHELL_RUNTIME)
            .function_name("shell")
            .env("GREETING", "hi")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_is_invoked_through_its_environment_and_logs_are_captured() {
        let lambda = shell_runtime().spawn().await.expect("sh starts");
        assert_eq!(lambda.spawn_to_first_event(), None);

        let answer = lambda.invoke(json!({"n": 1})).await;
        assert_eq!(answer, Ok(json!({"echo": {"n": 1}, "greeting": "hi"})));
        let cold = lambda.spawn_to_first_event().expect("measured");
        assert!(lambda.init_duration().expect("polled") <= cold);

        assert_eq!(
            lambda.invoke(json!(2)).await,
            Ok(json!({"echo": 2, "greeting": "hi"}))
        );
        assert_eq!(
            lambda.spawn_to_first_event(),
            Some(cold),
            "only the first counts"
        );
        let failed = lambda.invoke(json!("fail")).await;
        assert_eq!(failed, Err(InvocationError::new("Handled", "no".into())));

        assert!(
            lambda
                .wait_for_log(
                    "handling 00000000-0000-4000-8000-000000000002",
                    Duration::from_secs(5)
                )
                .await,
            "{}",
            lambda.logs()
        );
        // The test's own environment (HOME) does not reach the function.
        assert!(lambda
            .logs()
            .contains("init shell in us-east-1, home=unset"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_that_exits_mid_invocation_is_a_runtime_exit_error() {
        let lambda = shell_runtime().spawn().await.expect("sh starts");
        let error = lambda.invoke(json!("exit")).await.expect_err("it exited");
        assert_eq!(error.error_type, "Runtime.ExitError");
        assert!(error.error_message.contains("exit status: 3"), "{error}");
        assert_eq!(lambda.spawn_to_first_event(), None);
        let status = lambda.exit_status(Duration::from_secs(5)).await;
        assert_eq!(status.and_then(|s| s.code()), Some(3));
        // Later invocations fail the same way instead of hanging.
        let again = lambda.invoke(json!(1)).await.expect_err("still gone");
        assert_eq!(again.error_type, "Runtime.ExitError");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_past_its_timeout_is_killed() {
        let lambda = shell_runtime()
            .timeout(Duration::from_millis(300))
            .spawn()
            .await
            .expect("sh starts");
        let error = lambda.invoke(json!("sleep")).await.expect_err("too slow");
        assert_eq!(error.error_type, "Sandbox.Timedout");
        assert!(lambda.exit_status(Duration::from_secs(5)).await.is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_missing_bootstrap_is_an_error_naming_it() {
        let error = Bootstrap::new("/nonexistent/api/bootstrap")
            .spawn()
            .await
            .expect_err("no such file");
        assert!(
            error.to_string().contains("/nonexistent/api/bootstrap"),
            "{error}"
        );
    }
}
