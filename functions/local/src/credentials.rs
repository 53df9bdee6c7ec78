//! The local credentials file (AWS shared-credentials format plus a
//! `principal_arn` per profile).
//!
//! `keyplane serve` verifies SigV4 itself, so it needs the secret of every
//! access key it accepts and the IAM principal each key acts as. Keeping both
//! in the standard shared-credentials format means the very same file works
//! for the clients: `AWS_SHARED_CREDENTIALS_FILE=<file> AWS_PROFILE=<profile>`
//! is honoured by the AWS SDKs, the Terraform provider and (by hand) curl.
//! AWS tools ignore keys they do not know, so our extra `principal_arn` is
//! harmless to them.
//!
//! Secrets are held as [`SecretString`] and never appear in `Debug` output
//! or error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use keyplane_core::principal::Principal;
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

/// The profile `keyplane serve` writes for the first administrator.
pub const ADMIN_PROFILE: &str = "keyplane-admin";

/// Prefix of the access key ids we mint: `AKIA`-like, but recognisably ours.
const ACCESS_KEY_PREFIX: &str = "KPAK";
const ACCESS_KEY_RANDOM_LEN: usize = 16;
const SECRET_LEN: usize = 40;
const UPPER_ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

const FIELD_ACCESS_KEY_ID: &str = "aws_access_key_id";
const FIELD_SECRET: &str = "aws_secret_access_key";
const FIELD_PRINCIPAL: &str = "principal_arn";

/// Why a credentials file cannot be read, parsed or written. Messages name
/// the file, line, profile and field, but never a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading, creating or writing the file failed.
    #[error("cannot {action} credentials file {}: {source}", .path.display())]
    Io {
        /// What we were doing: "read", "create", "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `write_new` never replaces an existing file.
    #[error("credentials file {} already exists; refusing to overwrite it", .path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// A line is not a section header, a `key = value` pair or a comment.
    #[error("{}:{line}: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the line's content, which may be a secret).
        message: String,
    },
    /// A profile's field is missing or invalid.
    #[error("{}:{line}: profile [{profile}]: {field} {problem}", .path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line of the field, or of the section header if missing.
        line: usize,
        /// The profile (section) name.
        profile: String,
        /// The field name, e.g. `principal_arn`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A profile of that name already exists.
    #[error("profile [{profile}] already exists")]
    DuplicateProfile {
        /// The profile name.
        profile: String,
    },
    /// Profile names are restricted so they survive INI and shell quoting.
    #[error("invalid profile name '{0}': use 1 to 64 letters, digits, '.', '_' or '-'")]
    InvalidProfileName(String),
}

/// One access key: its profile, secret and principal.
#[derive(Clone)]
struct Entry {
    profile: String,
    secret: SecretString,
    principal: Principal,
}

/// The access keys `keyplane serve` accepts: access key id → (secret,
/// principal).
#[derive(Clone, Default)]
pub struct LocalCredentials {
    by_access_key: BTreeMap<String, Entry>,
}

/// A freshly minted access key, to show to the operator once.
#[derive(Debug, Clone)]
pub struct GeneratedCredential {
    /// The profile (section) name in the credentials file.
    pub profile: String,
    /// The access key id, e.g. `KPAK0123456789ABCDEF`.
    pub access_key_id: String,
    /// The secret access key (its `Debug` is redacted).
    pub secret_access_key: SecretString,
    /// The principal this key acts as.
    pub principal: Principal,
}

impl LocalCredentials {
    /// No credentials: every signed request is refused as an unknown key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and parses a credentials file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CredentialsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of a credentials file; `path` only names it in errors.
    ///
    /// Every section must carry all of `aws_access_key_id`,
    /// `aws_secret_access_key` and `principal_arn`; other keys (e.g.
    /// `aws_session_token`, `region`) are ignored. Lines starting with `#` or
    /// `;` are comments. Duplicate profiles, fields or access key ids are
    /// errors rather than silently shadowing one another.
    pub fn parse(text: &str, path: &Path) -> Result<Self, CredentialsError> {
        let mut parser = Parser {
            path,
            credentials: Self::new(),
            profiles: BTreeMap::new(),
            section: None,
        };
        for (index, raw) in text.lines().enumerate() {
            parser.line(index + 1, raw)?;
        }
        parser.finish_section()?;
        Ok(parser.credentials)
    }

    /// Credentials holding one freshly minted key for `principal`, under the
    /// profile [`ADMIN_PROFILE`].
    pub fn generate_admin(principal: Principal) -> (Self, GeneratedCredential) {
        let mut credentials = Self::new();
        let generated = credentials.mint(ADMIN_PROFILE.to_owned(), principal);
        (credentials, generated)
    }

    /// Mints a new key for `principal` under a new profile `profile`.
    pub fn add_profile(
        &mut self,
        profile: &str,
        principal: Principal,
    ) -> Result<GeneratedCredential, CredentialsError> {
        if !valid_profile_name(profile) {
            return Err(CredentialsError::InvalidProfileName(profile.to_owned()));
        }
        if self.by_access_key.values().any(|e| e.profile == profile) {
            return Err(CredentialsError::DuplicateProfile {
                profile: profile.to_owned(),
            });
        }
        Ok(self.mint(profile.to_owned(), principal))
    }

    /// Mints a new key for `principal` and appends it as profile `profile`
    /// to the credentials file at `path` (created with mode 0600 if absent).
    ///
    /// The file is appended to rather than rewritten, so comments and other
    /// profiles stay exactly as they were. Meant for an admin CLI; two
    /// concurrent invocations could both append the same profile name, which
    /// the next `load` reports as a duplicate.
    pub fn append_profile(
        path: impl AsRef<Path>,
        profile: &str,
        principal: Principal,
    ) -> Result<GeneratedCredential, CredentialsError> {
        let path = path.as_ref();
        let (mut credentials, text) = match std::fs::read_to_string(path) {
            Ok(text) => (Self::parse(&text, path)?, text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Self::new(), String::new()),
            Err(source) => {
                return Err(CredentialsError::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let generated = credentials.add_profile(profile, principal)?;
        let mut section = String::new();
        if text.is_empty() {
            section.push_str(FILE_HEADER);
        } else if !text.ends_with('\n') {
            section.push('\n');
        }
        section.push('\n');
        push_section(
            &mut section,
            &generated.profile,
            &generated.access_key_id,
            &generated.secret_access_key,
            &generated.principal,
        );
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        write_private(options, path, &section)?;
        Ok(generated)
    }

    /// Writes all profiles to a new file at `path` with mode 0600. Refuses
    /// to replace an existing file, so a restart can never clobber the
    /// administrator's credentials.
    pub fn write_new(&self, path: impl AsRef<Path>) -> Result<(), CredentialsError> {
        let path = path.as_ref();
        let mut text = String::from(FILE_HEADER);
        let mut entries: Vec<_> = self.by_access_key.iter().collect();
        entries.sort_by(|a, b| a.1.profile.cmp(&b.1.profile));
        for (access_key_id, entry) in entries {
            text.push('\n');
            push_section(
                &mut text,
                &entry.profile,
                access_key_id,
                &entry.secret,
                &entry.principal,
            );
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        write_private(options, path, &text)
    }

    /// The secret and principal of `access_key_id`, if known.
    pub fn lookup(&self, access_key_id: &str) -> Option<(&SecretString, &Principal)> {
        self.by_access_key
            .get(access_key_id)
            .map(|e| (&e.secret, &e.principal))
    }

    /// The access key id and secret of `profile`, for clients that take
    /// them directly, such as `curl --aws-sigv4 --user`.
    pub fn profile(&self, profile: &str) -> Option<(&str, &SecretString)> {
        self.by_access_key
            .iter()
            .find(|(_, e)| e.profile == profile)
            .map(|(id, e)| (id.as_str(), &e.secret))
    }

    /// How many access keys are known.
    pub fn len(&self) -> usize {
        self.by_access_key.len()
    }

    /// Whether no access key is known.
    pub fn is_empty(&self) -> bool {
        self.by_access_key.is_empty()
    }

    /// Mints a key that is not yet in use and records it.
    fn mint(&mut self, profile: String, principal: Principal) -> GeneratedCredential {
        // `rand::rng()` is a CSPRNG seeded from the OS.
        let mut rng = rand::rng();
        let access_key_id = loop {
            let mut id = String::from(ACCESS_KEY_PREFIX);
            id.extend(
                (0..ACCESS_KEY_RANDOM_LEN)
                    .map(|_| char::from(UPPER_ALNUM[rng.random_range(0..UPPER_ALNUM.len())])),
            );
            if !self.by_access_key.contains_key(&id) {
                break id;
            }
        };
        let secret = SecretString::from(Alphanumeric.sample_string(&mut rng, SECRET_LEN));
        self.by_access_key.insert(
            access_key_id.clone(),
            Entry {
                profile: profile.clone(),
                secret: secret.clone(),
                principal: principal.clone(),
            },
        );
        GeneratedCredential {
            profile,
            access_key_id,
            secret_access_key: secret,
            principal,
        }
    }
}

impl fmt::Debug for LocalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.by_access_key.iter().map(|(id, e)| {
                (
                    id,
                    format!("[{}] {} (secret redacted)", e.profile, e.principal),
                )
            }))
            .finish()
    }
}

const FILE_HEADER: &str = "\
# Keyplane local credentials (AWS shared-credentials format).
# Use with AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=<profile>.
# principal_arn is Keyplane's own field: the IAM principal the key acts as.
";

fn push_section(
    out: &mut String,
    profile: &str,
    access_key_id: &str,
    secret: &SecretString,
    principal: &Principal,
) {
    use fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "[{profile}]\n{FIELD_ACCESS_KEY_ID} = {access_key_id}\n{FIELD_SECRET} = {}\n{FIELD_PRINCIPAL} = {principal}\n",
        secret.expose_secret()
    );
}

/// Opens `path` with `options` plus owner-only permissions, then writes and
/// syncs `text`.
fn write_private(
    mut options: OpenOptions,
    path: &Path,
    text: &str,
) -> Result<(), CredentialsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io_error = |action, source| CredentialsError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let mut file: File = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            CredentialsError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io_error("create", e)
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", e))
}

fn valid_profile_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Fills `slot` with `value`, or says why not: a field given twice is a
/// mistake, not an override.
fn set_once<T>(slot: &mut Option<T>, value: Result<T, String>) -> Result<(), String> {
    if slot.is_some() {
        return Err("is set twice".to_owned());
    }
    *slot = Some(value?);
    Ok(())
}

/// A section being parsed.
struct Section {
    name: String,
    line: usize,
    access_key_id: Option<String>,
    secret: Option<SecretString>,
    principal: Option<Principal>,
}

struct Parser<'a> {
    path: &'a Path,
    credentials: LocalCredentials,
    /// Profile name → line of its header, to report duplicates.
    profiles: BTreeMap<String, usize>,
    section: Option<Section>,
}

impl Parser<'_> {
    fn syntax(&self, line: usize, message: impl Into<String>) -> CredentialsError {
        CredentialsError::Syntax {
            path: self.path.to_owned(),
            line,
            message: message.into(),
        }
    }

    fn line(&mut self, number: usize, raw: &str) -> Result<(), CredentialsError> {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some((name, trailer)) = rest.split_once(']') else {
                return Err(self.syntax(number, "section header is missing its closing ']'"));
            };
            let trailer = trailer.trim_start();
            if !(trailer.is_empty() || trailer.starts_with('#') || trailer.starts_with(';')) {
                return Err(self.syntax(number, "unexpected text after section header"));
            }
            let name = name.trim();
            if name.is_empty() {
                return Err(self.syntax(number, "empty profile name"));
            }
            if let Some(first) = self.profiles.get(name) {
                return Err(self.syntax(
                    number,
                    format!("duplicate profile [{name}] (first defined on line {first})"),
                ));
            }
            self.finish_section()?;
            self.profiles.insert(name.to_owned(), number);
            self.section = Some(Section {
                name: name.to_owned(),
                line: number,
                access_key_id: None,
                secret: None,
                principal: None,
            });
            return Ok(());
        }
        // Never echo the line: it may be a secret without its `key =`.
        let Some((key, value)) = line.split_once('=') else {
            return Err(self.syntax(number, "expected `[profile]`, `key = value` or a comment"));
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        let Some(section) = self.section.as_mut() else {
            return Err(self.syntax(number, "`key = value` before any [profile] header"));
        };
        let (field, result) = match key.as_str() {
            FIELD_ACCESS_KEY_ID => {
                let id = if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    Err("must be non-empty letters and digits".to_owned())
                } else if let Some(other) = self.credentials.by_access_key.get(value) {
                    Err(format!("is already used by profile [{}]", other.profile))
                } else {
                    Ok(value.to_owned())
                };
                (
                    FIELD_ACCESS_KEY_ID,
                    set_once(&mut section.access_key_id, id),
                )
            }
            FIELD_SECRET => {
                let secret = if value.is_empty() {
                    Err("is empty".to_owned())
                } else {
                    Ok(SecretString::from(value))
                };
                (FIELD_SECRET, set_once(&mut section.secret, secret))
            }
            FIELD_PRINCIPAL => {
                // The core's message does not quote the input (it could be a
                // pasted key); in the operator's own file, naming it helps.
                let principal = Principal::parse(value).map_err(|e| {
                    format!(
                        "is invalid: '{}' is {e}",
                        keyplane_core::validate::printable(value)
                    )
                });
                (FIELD_PRINCIPAL, set_once(&mut section.principal, principal))
            }
            // Other AWS settings (aws_session_token, region, …) are not ours.
            _ => return Ok(()),
        };
        result.map_err(|problem| CredentialsError::Field {
            path: self.path.to_owned(),
            line: number,
            profile: section.name.clone(),
            field,
            problem,
        })
    }

    /// Checks the open section is complete and records it.
    fn finish_section(&mut self) -> Result<(), CredentialsError> {
        let Some(section) = self.section.take() else {
            return Ok(());
        };
        let missing = |field| CredentialsError::Field {
            path: self.path.to_owned(),
            line: section.line,
            profile: section.name.clone(),
            field,
            problem: "is missing".to_owned(),
        };
        let Some(access_key_id) = section.access_key_id else {
            return Err(missing(FIELD_ACCESS_KEY_ID));
        };
        let Some(secret) = section.secret else {
            return Err(missing(FIELD_SECRET));
        };
        let Some(principal) = section.principal else {
            return Err(missing(FIELD_PRINCIPAL));
        };
        self.credentials.by_access_key.insert(
            access_key_id,
            Entry {
                profile: section.name,
                secret,
                principal,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:user/alice";
    const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";

    fn alice() -> Principal {
        Principal::parse(ARN).expect("valid ARN")
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let unique = Alphanumeric.sample_string(&mut rand::rng(), 12);
            let dir = std::env::temp_dir().join(format!("keyplane-credentials-{unique}"));
            std::fs::create_dir(&dir).expect("create temp dir");
            Self(dir)
        }

        fn file(&self) -> PathBuf {
            self.0.join("credentials")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn parse(text: &str) -> Result<LocalCredentials, CredentialsError> {
        LocalCredentials::parse(text, Path::new("/data/credentials"))
    }

    #[test]
    fn parses_profiles_ignoring_comments_and_foreign_keys() {
        let text = format!(
            "# comment\n; another\n\n[ci]  # trailing\nAWS_ACCESS_KEY_ID=AKIDCI\n  aws_secret_access_key =  {SECRET}  \nprincipal_arn = arn:aws:sts::123456789012:assumed-role/deployer/s1\nregion = eu-west-1\n\n[alice]\naws_access_key_id = AKIDALICE\naws_secret_access_key = other\naws_session_token = tok\nprincipal_arn = {ARN}\n"
        );
        let credentials = parse(&text).expect("valid file");
        assert_eq!(credentials.len(), 2);
        let (secret, principal) = credentials.lookup("AKIDCI").expect("ci key");
        assert_eq!(secret.expose_secret(), SECRET);
        assert_eq!(
            principal.as_str(),
            "arn:aws:iam::123456789012:role/deployer"
        );
        let (secret, principal) = credentials.lookup("AKIDALICE").expect("alice key");
        assert_eq!(secret.expose_secret(), "other");
        assert_eq!(principal, &alice());
        assert!(credentials.lookup("AKIDNOPE").is_none());
        assert!(parse("").expect("empty file").is_empty());
    }

    #[test]
    fn parse_errors_name_file_line_profile_and_field() {
        let cases: &[(&str, usize, &str)] = &[
            ("aws_access_key_id = X\n", 1, "before any [profile]"),
            ("[a\n", 1, "closing ']'"),
            ("[]\n", 1, "empty profile name"),
            ("[a] junk\n", 1, "after section header"),
            (&format!("[a]\n{SECRET}\n"), 2, "expected `[profile]`"),
            ("[a]\naws_access_key_id = has space\n", 2, "profile [a]: aws_access_key_id must be"),
            ("[a]\naws_access_key_id = A\naws_access_key_id = B\n", 3, "aws_access_key_id is set twice"),
            ("[a]\naws_secret_access_key =\n", 2, "aws_secret_access_key is empty"),
            ("[a]\nprincipal_arn = alice\n", 2, "principal_arn is invalid: 'alice'"),
            ("[a]\naws_access_key_id = A\naws_secret_access_key = s\n", 1, "profile [a]: principal_arn is missing"),
            ("[a]\naws_secret_access_key = s\nprincipal_arn = arn:aws:iam::123456789012:root\n", 1, "aws_access_key_id is missing"),
            (
                "[a]\naws_access_key_id = A\naws_secret_access_key = s\nprincipal_arn = arn:aws:iam::123456789012:root\n[a]\n",
                5,
                "duplicate profile [a] (first defined on line 1)",
            ),
            (
                "[a]\naws_access_key_id = A\naws_secret_access_key = s\nprincipal_arn = arn:aws:iam::123456789012:root\n[b]\naws_access_key_id = A\n",
                6,
                "profile [b]: aws_access_key_id is already used by profile [a]",
            ),
        ];
        for (text, line, expected) in cases {
            let message = parse(text).expect_err(text).to_string();
            assert!(
                message.starts_with(&format!("/data/credentials:{line}: ")),
                "{text:?} gave {message}"
            );
            assert!(message.contains(expected), "{text:?} gave {message}");
        }
    }

    #[test]
    fn errors_never_echo_secrets() {
        for text in [
            format!("[a]\n{SECRET}\n"),
            format!("{SECRET}\n"),
            format!("[a]\naws_secret_access_key = {SECRET}\naws_secret_access_key = {SECRET}\n"),
            format!("[a]\naws_secret_access_key = {SECRET}\n"),
        ] {
            let error = parse(&text).expect_err("invalid");
            assert!(!error.to_string().contains(SECRET), "{error}");
            assert!(!format!("{error:?}").contains(SECRET), "{error:?}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let (credentials, generated) = LocalCredentials::generate_admin(alice());
        let secret = generated.secret_access_key.expose_secret().to_owned();
        for debug in [format!("{credentials:?}"), format!("{generated:?}")] {
            assert!(!debug.contains(&secret), "{debug}");
            assert!(debug.contains(&generated.access_key_id), "{debug}");
            assert!(debug.contains(ARN), "{debug}");
        }
    }

    #[test]
    fn generated_keys_have_our_shape() {
        let (credentials, generated) = LocalCredentials::generate_admin(alice());
        assert_eq!(generated.profile, ADMIN_PROFILE);
        let id = &generated.access_key_id;
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("KPAK"));
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let secret = generated.secret_access_key.expose_secret();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
        let (stored, principal) = credentials.lookup(id).expect("minted key is known");
        assert_eq!(stored.expose_secret(), secret);
        assert_eq!(principal, &alice());
        let (_, other) = LocalCredentials::generate_admin(alice());
        assert_ne!(other.access_key_id, generated.access_key_id);
    }

    #[test]
    fn generate_write_load_round_trip() {
        let dir = TempDir::new();
        let (mut credentials, admin) = LocalCredentials::generate_admin(alice());
        let ci = credentials
            .add_profile(
                "ci",
                Principal::parse("arn:aws:iam::123456789012:role/ci").expect("arn"),
            )
            .expect("new profile");
        credentials.write_new(dir.file()).expect("write");
        let text = std::fs::read_to_string(dir.file()).expect("read back");
        assert!(text.contains("[keyplane-admin]\n"), "{text}");
        let loaded = LocalCredentials::load(dir.file()).expect("load");
        assert_eq!(loaded.len(), 2);
        for generated in [&admin, &ci] {
            let (secret, principal) = loaded.lookup(&generated.access_key_id).expect("key");
            assert_eq!(
                secret.expose_secret(),
                generated.secret_access_key.expose_secret()
            );
            assert_eq!(principal, &generated.principal);
        }
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let (credentials, _) = LocalCredentials::generate_admin(alice());
        credentials.write_new(dir.file()).expect("write");
        let mode = std::fs::metadata(dir.file())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let appended = dir.0.join("appended");
        LocalCredentials::append_profile(&appended, "bob", alice()).expect("create by append");
        let mode = std::fs::metadata(&appended)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = TempDir::new();
        std::fs::write(dir.file(), "keep me").expect("seed");
        let (credentials, _) = LocalCredentials::generate_admin(alice());
        let error = credentials
            .write_new(dir.file())
            .expect_err("must not overwrite");
        assert!(
            matches!(error, CredentialsError::AlreadyExists { .. }),
            "{error:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.file()).expect("read"),
            "keep me"
        );
    }

    #[test]
    fn append_profile_keeps_the_file_and_refuses_duplicates() {
        let dir = TempDir::new();
        let (credentials, admin) = LocalCredentials::generate_admin(alice());
        credentials.write_new(dir.file()).expect("write");
        // A hand-edited file without a final newline.
        let mut text = std::fs::read_to_string(dir.file()).expect("read");
        text.push_str("# operator note");
        std::fs::write(dir.file(), &text).expect("edit");

        let bob = Principal::parse("arn:aws:iam::123456789012:user/bob").expect("arn");
        let added =
            LocalCredentials::append_profile(dir.file(), "bob", bob.clone()).expect("append");
        let after = std::fs::read_to_string(dir.file()).expect("read");
        assert!(after.starts_with(&text), "existing content is kept");
        let loaded = LocalCredentials::load(dir.file()).expect("load");
        assert_eq!(loaded.len(), 2);
        assert!(loaded.lookup(&admin.access_key_id).is_some());
        assert_eq!(
            loaded.lookup(&added.access_key_id).map(|(_, p)| p),
            Some(&bob)
        );

        for profile in ["bob", ADMIN_PROFILE] {
            let error = LocalCredentials::append_profile(dir.file(), profile, bob.clone())
                .expect_err("duplicate");
            assert!(
                matches!(error, CredentialsError::DuplicateProfile { .. }),
                "{error:?}"
            );
        }
        for profile in ["", "has space", "a]b", &"x".repeat(65)] {
            let error = LocalCredentials::append_profile(dir.file(), profile, bob.clone())
                .expect_err("invalid name");
            assert!(
                matches!(error, CredentialsError::InvalidProfileName(_)),
                "{error:?}"
            );
        }
        assert_eq!(std::fs::read_to_string(dir.file()).expect("read"), after);
    }

    #[test]
    fn load_names_a_missing_file() {
        let dir = TempDir::new();
        let error = LocalCredentials::load(dir.file()).expect_err("missing");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot read credentials file "),
            "{message}"
        );
        assert!(
            message.contains(&dir.file().display().to_string()),
            "{message}"
        );
    }
}
