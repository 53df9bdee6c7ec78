//! Where a created or rolled plaintext goes: stdout, a new mode-0600 file,
//! or a Secrets Manager secret — exactly one of them. File and secret are
//! checked before the key is minted, so that a sink which cannot work never
//! costs a plaintext.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use keyplane_api::id::KeyId;
use keyplane_api::key_format::ApiKey;
use keyplane_client::IdempotencyKey;
use keyplane_secrets::{SecretsClient, SecretsError};

use crate::remote::{Remote, UsageError};

#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Write the plaintext to this new file (mode 0600) instead of stdout.
    #[arg(long, value_name = "PATH", conflicts_with = "to_secrets_manager")]
    secret_file: Option<PathBuf>,
    /// With --secret-file: replace the file if it exists.
    #[arg(long, requires = "secret_file")]
    force: bool,
    /// Store the plaintext in this AWS Secrets Manager secret instead of
    /// stdout: created, or given a new current version if it exists.
    #[arg(long, value_name = "SECRET_NAME")]
    to_secrets_manager: Option<String>,
}

/// A sink, ready to take the plaintext.
#[derive(Debug)]
pub enum Sink {
    Stdout,
    File(SecretFile),
    SecretsManager {
        client: SecretsClient,
        name: String,
        exists: bool,
    },
}

impl SinkArgs {
    pub async fn prepare(&self, remote: &Remote) -> anyhow::Result<Sink> {
        if let Some(path) = &self.secret_file {
            return Ok(Sink::File(SecretFile::prepare(path, self.force)?));
        }
        if let Some(name) = &self.to_secrets_manager {
            let mut loader = keyplane_aws::loader(keyplane_aws::Profile::Interactive);
            if let Some(profile) = &remote.profile {
                loader = loader.profile_name(profile);
            }
            if let Some(region) = &remote.region {
                loader = loader.region(aws_config::Region::new(region.clone()));
            }
            let client = SecretsClient::from_sdk_config(&loader.load().await);
            let exists = client
                .describe(name)
                .await
                .with_context(|| format!("cannot reach Secrets Manager secret {name}"))?
                .is_some();
            return Ok(Sink::SecretsManager {
                client,
                name: name.clone(),
                exists,
            });
        }
        Ok(Sink::Stdout)
    }
}

impl Sink {
    /// Stores `key` (of `key_id`); where it went, for people.
    pub async fn store(self, key: &ApiKey, key_id: &KeyId) -> anyhow::Result<String> {
        match self {
            Sink::Stdout => {
                println!("{}", key.expose());
                Ok("stdout".to_owned())
            }
            Sink::File(file) => file.write(key),
            Sink::SecretsManager {
                client,
                name,
                exists,
            } => {
                let token = IdempotencyKey::generate();
                let written = if exists {
                    client.put_version(&name, key, token.as_str(), &[]).await
                } else {
                    let description = format!("Keyplane key {}", key_id.as_str());
                    match client
                        .create(&name, key, token.as_str(), Some(&description), &[])
                        .await
                    {
                        // Created by someone else since we looked.
                        Err(SecretsError::AlreadyExists { .. }) => {
                            let token = IdempotencyKey::generate();
                            client.put_version(&name, key, token.as_str(), &[]).await
                        }
                        other => other,
                    }
                };
                let version = written?;
                Ok(format!(
                    "Secrets Manager secret {} (version {})",
                    version.arn, version.version_id
                ))
            }
        }
    }
}

/// A file made before the key is minted: the final file itself, or with
/// `--force` a temporary one beside it that replaces it once written.
/// Removed again if the plaintext never arrives.
#[derive(Debug)]
pub struct SecretFile {
    path: PathBuf,
    open: Option<(File, PathBuf)>,
}

impl SecretFile {
    fn prepare(path: &Path, force: bool) -> anyhow::Result<Self> {
        if path.exists() && !force {
            return Err(UsageError(format!(
                "{} exists; pass --force to replace it",
                path.display()
            ))
            .into());
        }
        let target = if force {
            let name = path
                .file_name()
                .context("--secret-file must name a file")?
                .to_string_lossy();
            path.with_file_name(format!(".{name}.{}.tmp", IdempotencyKey::generate()))
        } else {
            path.to_owned()
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)
            .with_context(|| format!("cannot create {}", target.display()))?;
        Ok(Self {
            path: path.to_owned(),
            open: Some((file, target)),
        })
    }

    fn write(mut self, key: &ApiKey) -> anyhow::Result<String> {
        let (mut file, target) = self
            .open
            .take()
            .context("the secret file is already written")?;
        let written = writeln!(file, "{}", key.expose())
            .and_then(|()| file.sync_all())
            .and_then(|()| {
                if target == self.path {
                    Ok(())
                } else {
                    fs::rename(&target, &self.path)
                }
            });
        if let Err(err) = written {
            let _ = fs::remove_file(&target);
            return Err(err).with_context(|| format!("cannot write {}", self.path.display()));
        }
        Ok(self.path.display().to_string())
    }
}

impl Drop for SecretFile {
    fn drop(&mut self) {
        if let Some((_, target)) = self.open.take() {
            let _ = fs::remove_file(target);
        }
    }
}
