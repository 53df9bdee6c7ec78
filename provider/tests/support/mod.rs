//! What the acceptance tests run against: a real `keyplane serve` on
//! 127.0.0.1 (embedded store, temporary data directory), moto for Secrets
//! Manager (started by tests/run), and the real Terraform CLI (tests/tools
//! installs 1.15.5) loading this provider through `dev_overrides`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyplane_api::id::{OrgId, WorkspaceId};
use keyplane_api::tenancy::{CreateOrganization, CreateWorkspace};
use keyplane_aws::Profile;
use keyplane_client::{Client, Credentials};
use keyplane_local::credentials::LocalCredentials;
use keyplane_secrets::SecretsClient;
use secrecy::ExposeSecret;

/// The scanner every leak scan shares (see the file).
#[path = "../../../tests/src/leak_scan.rs"]
pub mod leak_scan;

/// The admin profile `keyplane serve` writes on first start.
pub const ADMIN_PROFILE: &str = "keyplane-admin";
const REGION: &str = "us-east-1";

pub use keyplane_aws::testing::moto_endpoint;

/// Beside this test binary's folder (`target/debug/deps/..`): where cargo
/// puts the workspace's binaries.
fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap();
    let path = debug.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it (cargo build --workspace)",
        path.display()
    );
    path
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let sink = buffer.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    buffer
}

/// `keyplane serve` on a free loopback port, logging at TRACE.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(built_binary("keyplane"))
            .args(["serve", "--log-format", "json", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("KEYPLANE_DATA_DIR", dir.path().join("data"))
            // Everything it can say, for the leak scans of its log.
            .env("RUST_LOG", "trace")
            .env_remove("KEYPLANE_STORE")
            .env_remove("KEYPLANE_TABLE")
            .env_remove("AWS_ENDPOINT_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = collect(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "keyplane serve did not start");
            assert!(child.try_wait().unwrap().is_none(), "keyplane serve exited");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            dir,
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            log,
        }
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("data").join("credentials")
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// A client signing as the admin.
    pub async fn admin(&self) -> Client {
        let credentials = LocalCredentials::load(self.credentials_file()).unwrap();
        let (access_key, secret) = credentials.profile(ADMIN_PROFILE).unwrap();
        Client::builder()
            .endpoint(self.endpoint.clone())
            .region(REGION)
            .credentials(Credentials::new(
                access_key,
                secret.expose_secret(),
                None,
                None,
                "keyplane-acceptance",
            ))
            .build()
            .await
            .unwrap()
    }
}

/// An organization "Acme" with a workspace "prod", made by `admin`.
pub async fn org_and_workspace(admin: &Client) -> (OrgId, WorkspaceId) {
    let org = admin
        .create_organization(&CreateOrganization {
            name: "Acme".into(),
            key_quota: None,
        })
        .await
        .unwrap();
    let ws = admin
        .create_workspace(
            &org.id,
            &CreateWorkspace {
                name: "prod".into(),
            },
        )
        .await
        .unwrap();
    (org.id, ws.id)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Secrets Manager on moto.
pub async fn secrets(moto: &str) -> SecretsClient {
    SecretsClient::from_sdk_config(
        &keyplane_aws::testing::emulator(moto, Profile::Interactive).await,
    )
}

/// A Terraform working directory with this provider loaded from the build.
pub struct Terraform {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    /// Every command run, with what it printed: the leak scans read it.
    transcript: Mutex<Vec<Ran>>,
}

/// One Terraform command and what it printed.
#[derive(Debug, Clone)]
pub struct Ran {
    pub args: Vec<String>,
    pub stdout: String,
    pub stderr: String,
}

/// What a Terraform command printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with everything Terraform said unless it succeeded.
    pub fn ok(self, what: &str) -> Self {
        assert_eq!(
            self.code, 0,
            "{what} failed:\n{}\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Terraform {
    pub fn new(server: &Server) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let provider_dir = built_binary("terraform-provider-keyplane")
            .parent()
            .unwrap()
            .to_path_buf();
        let cli_config = dir.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"keyplane/keyplane\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display()
            ),
        )
        .unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let env = vec![
            (
                "TF_CLI_CONFIG_FILE".to_owned(),
                cli_config.display().to_string(),
            ),
            ("TF_IN_AUTOMATION".to_owned(), "1".to_owned()),
            // See provider/README.md: the provider cannot speak Terraform's
            // plugin mTLS.
            ("TF_DISABLE_PLUGIN_TLS".to_owned(), "1".to_owned()),
            ("TF_LOG".to_owned(), "TRACE".to_owned()),
            ("TF_LOG_PATH".to_owned(), path("terraform.log")),
            ("PLUGIN_LOG_FILE".to_owned(), path("provider.log")),
            ("CHECKPOINT_DISABLE".to_owned(), "1".to_owned()),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                server.credentials_file().display().to_string(),
            ),
            ("AWS_PROFILE".to_owned(), ADMIN_PROFILE.to_owned()),
            ("AWS_CONFIG_FILE".to_owned(), path("no-aws-config")),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ];
        Self {
            dir,
            env,
            transcript: Mutex::new(Vec::new()),
        }
    }

    /// Writes `main.tf`.
    pub fn config(&self, hcl: &str) {
        std::fs::write(self.dir.path().join("main.tf"), hcl).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new("terraform");
        for var in [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "KEYPLANE_ENDPOINT",
        ] {
            command.env_remove(var);
        }
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run terraform ({e}): tests/run installs it (. tests/tools && install_tools)")
            });
        let run = Run::from(output);
        self.transcript.lock().unwrap().push(Ran {
            args: args.iter().map(|&a| a.to_owned()).collect(),
            stdout: run.stdout.clone(),
            stderr: run.stderr.clone(),
        });
        run
    }

    /// Every command run so far, with what it printed.
    pub fn transcript(&self) -> Vec<Ran> {
        self.transcript.lock().unwrap().clone()
    }

    /// What the `terraform show -json` runs printed: the saved plans
    /// (`show -json tfplan`) and the states (`show -json`).
    pub fn shown_json(&self) -> (Vec<String>, Vec<String>) {
        let mut plans = Vec::new();
        let mut states = Vec::new();
        for command in self.transcript() {
            match command.args.as_slice() {
                [show, json, plan] if show == "show" && json == "-json" && plan == "tfplan" => {
                    plans.push(command.stdout);
                }
                [show, json] if show == "show" && json == "-json" => states.push(command.stdout),
                _ => {}
            }
        }
        (plans, states)
    }

    /// The bytes of `name` in the working directory (empty if missing).
    pub fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap_or_default()
    }

    pub fn apply(&self) -> Run {
        self.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes.
    pub fn plan(&self) -> Run {
        self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
    }

    /// A saved plan, as `terraform show -json` describes it.
    pub fn plan_json(&self) -> serde_json::Value {
        self.run(&["plan", "-out=tfplan", "-input=false", "-no-color"])
            .ok("plan -out");
        let shown = self
            .run(&["show", "-json", "tfplan"])
            .ok("show -json tfplan");
        serde_json::from_str(&shown.stdout).unwrap()
    }

    /// The state, as `terraform show -json` describes it.
    pub fn state_json(&self) -> serde_json::Value {
        let shown = self.run(&["show", "-json"]).ok("show -json");
        serde_json::from_str(&shown.stdout).unwrap()
    }

    /// The attributes of `address` in the state.
    pub fn resource(&self, address: &str) -> serde_json::Value {
        let state = self.state_json();
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|resources| {
                resources
                    .iter()
                    .find(|r| r["address"] == address)
                    .map(|r| r["values"].clone())
            })
            .unwrap_or_else(|| panic!("{address} is not in the state: {state}"))
    }

    /// Every file Terraform and the provider wrote: state, backups, the
    /// plans shown as JSON, logs.
    pub fn everything_written(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            if entry.path().is_file() {
                all.push_str(&String::from_utf8_lossy(
                    &std::fs::read(entry.path()).unwrap(),
                ));
            }
        }
        all
    }
}

/// A stand-in for the rotator Lambda on moto (see
/// `moto_rotation_function.py`): its ARN.
pub fn moto_rotation_function(moto: &str, name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".tools/venv/bin/python");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_rotation_function.py");
    let output = Command::new(&python)
        .arg(&script)
        .args([moto, name])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (tests/moto installs it)", python.display()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
