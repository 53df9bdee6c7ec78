//! A real `keyplane serve` on 127.0.0.1 with a temporary data directory,
//! and `keyplane` client commands pointed at it with the admin profile from
//! that directory's credentials file.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keyplane");

/// Variables that would make a client command talk to, or sign for,
/// something other than the server under test.
const CLEARED: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "KEYPLANE_KEY",
    "KEYPLANE_OUTPUT",
    "KEYPLANE_STORE",
    "KEYPLANE_TABLE",
    "KEYPLANE_LISTEN",
    "RUST_LOG",
];

pub struct Server {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    log: Arc<Mutex<String>>,
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

impl Server {
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().unwrap())
    }

    /// Starts a server on `dir/data`, which may already exist.
    pub fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts a server on `dir/data` with extra `serve` arguments.
    pub fn start_with(dir: tempfile::TempDir, args: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(BIN);
        for var in CLEARED {
            command.env_remove(var);
        }
        let mut child = command
            .args(["serve", "--log-format", "json", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .env("KEYPLANE_DATA_DIR", dir.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let log = collect(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server did not start: {}",
                log.lock().unwrap()
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "server exited: {}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            dir,
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            stdout,
            log,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `keyplane` with the admin profile, aimed at this server.
    pub fn kp(&self) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(BIN);
        for var in CLEARED {
            command.env_remove(var);
        }
        command
            .env("KEYPLANE_ENDPOINT", &self.endpoint)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.data_dir().join("credentials"),
            )
            .env("AWS_PROFILE", "keyplane-admin")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("KEYPLANE_DATA_DIR", self.data_dir())
            .timeout(Duration::from_secs(60));
        command
    }

    /// Runs `args` with `--output json`, expecting success; the answer.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .kp()
            .args(args)
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// A fresh organization and workspace.
    pub fn org_and_workspace(&self) -> (String, String) {
        let org = self.json(&["orgs", "create", "--name", "Acme"])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ws = self.json(&["workspaces", "create", "--org", &org, "--name", "prod"])["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (org, ws)
    }
}

impl Server {
    /// Stops the server as a service manager would (SIGTERM, then waits),
    /// and starts a new one on the same data directory.
    pub fn restart(mut self) -> Self {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log());
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        Self::start_in(dir)
    }
}

impl Server {
    /// Kills the server with SIGKILL, as a crash or an OOM kill would,
    /// and hands back its directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Stops the server with SIGTERM, waits for a clean exit, and hands
    /// back its directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log());
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
