//! The local data directory: `store.redb`, `credentials` (AWS
//! shared-credentials format) and `config.json` (platform admins, usage
//! reporters, region).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use keyplane_core::key_format::KeyEnv;
use keyplane_core::principal::Principal;
use keyplane_core::Config;
use keyplane_local::LocalCredentials;
use serde::{Deserialize, Serialize};

/// The principal of the admin credential created on first start.
pub const BOOTSTRAP_ADMIN: &str = "arn:aws:iam::000000000000:user/keyplane-admin";
/// Region clients sign for, as with an API Gateway deployment.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Settings kept in `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// Platform admins.
    pub admins: Vec<Principal>,
    /// Principals allowed to report usage.
    #[serde(default)]
    pub usage_reporters: Vec<Principal>,
    /// Region clients sign requests for.
    pub region: String,
    /// `test` or `live`: the prefix of minted keys.
    pub key_env: KeyEnv,
}

impl LocalConfig {
    pub fn core_config(&self) -> Config {
        Config {
            admins: self.admins.clone(),
            usage_reporters: self.usage_reporters.clone(),
            key_env: self.key_env,
            rotators: Vec::new(),
        }
    }
}

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What opening a data directory found.
#[derive(Debug)]
pub struct Opened {
    pub config: LocalConfig,
    pub credentials: LocalCredentials,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("store.redb")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.root.join("credentials")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// Present from initialisation until the first server start has shown
    /// how to use the admin credential, so that an `admin` command run
    /// first does not swallow the message.
    fn first_start_path(&self) -> PathBuf {
        self.root.join("first-start-pending")
    }

    /// Whether the admin-credential message is still to be shown; true at
    /// most once per data directory.
    pub fn take_first_start_notice(&self) -> bool {
        fs::remove_file(self.first_start_path()).is_ok()
    }

    /// Opens the directory, initialising it on first use with an admin
    /// credential and a configuration naming that admin.
    pub fn open_or_init(&self) -> anyhow::Result<Opened> {
        fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create data directory {}", self.root.display()))?;
        if !self.config_path().exists() {
            let admin = Principal::parse(BOOTSTRAP_ADMIN)?;
            if !self.credentials_path().exists() {
                let (credentials, _) = LocalCredentials::generate_admin(admin.clone());
                credentials
                    .write_new(self.credentials_path())
                    .with_context(|| {
                        format!("cannot write {}", self.credentials_path().display())
                    })?;
                fs::write(
                    self.first_start_path(),
                    "keyplane serve explains the admin credential once, then removes this file\n",
                )
                .with_context(|| format!("cannot write {}", self.first_start_path().display()))?;
            }
            let config = LocalConfig {
                admins: vec![admin],
                usage_reporters: Vec::new(),
                region: DEFAULT_REGION.to_owned(),
                key_env: KeyEnv::Test,
            };
            write_json(&self.config_path(), &config)?;
        }
        let config: LocalConfig = serde_json::from_slice(
            &fs::read(self.config_path())
                .with_context(|| format!("cannot read {}", self.config_path().display()))?,
        )
        .with_context(|| {
            format!(
                "{} is not a valid Keyplane configuration",
                self.config_path().display()
            )
        })?;
        let credentials = LocalCredentials::load(self.credentials_path())
            .with_context(|| format!("cannot load {}", self.credentials_path().display()))?;
        Ok(Opened {
            config,
            credentials,
        })
    }

    pub fn save_config(&self, config: &LocalConfig) -> anyhow::Result<()> {
        write_json(&self.config_path(), config)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn first_open_creates_an_admin_credential_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));

        let first = data.open_or_init().unwrap();
        assert!(data.take_first_start_notice());
        assert_eq!(
            first.config.admins,
            vec![Principal::parse(BOOTSTRAP_ADMIN).unwrap()]
        );
        assert_eq!(first.credentials.len(), 1);
        let mode = fs::metadata(data.credentials_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let second = data.open_or_init().unwrap();
        assert!(
            !data.take_first_start_notice(),
            "the credential is announced only once"
        );
        assert_eq!(second.credentials.len(), 1);
    }

    #[test]
    fn the_first_server_start_is_told_even_after_an_admin_command() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        // An admin command initialises the directory and shows nothing.
        data.open_or_init().unwrap();
        // The server's first start does, and only that one.
        data.open_or_init().unwrap();
        assert!(data.take_first_start_notice());
        assert!(!data.take_first_start_notice());
    }

    #[test]
    fn a_broken_config_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.open_or_init().unwrap();
        fs::write(data.config_path(), "{\"admins\": 5}").unwrap();
        let err = data.open_or_init().unwrap_err();
        assert!(
            format!("{err:#}").contains("is not a valid Keyplane configuration"),
            "{err:#}"
        );
    }
}
