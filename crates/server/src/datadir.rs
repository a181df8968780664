//! The data directory: created on first start, with the secrets Shale makes.
//!
//! Layout (more is added by the storage and S3 work):
//!
//! ```text
//! <data>/credentials     mode 0600: the superuser's generated password and an
//!                        AWS access-key pair as the shared-credentials profile
//!                        `[shale]` (point AWS_SHARED_CREDENTIALS_FILE here)
//! <data>/warehouse/      the tables' catalog and files; users and their
//!                        password hashes are in its catalog
//! <data>/tls/server.crt  self-signed certificate (made unless one is configured)
//! <data>/tls/server.key  mode 0600: its private key
//! ```
//!
//! Every file is written whole to a temporary name, fsynced, and renamed into
//! place, so a crash leaves either the old file or the new one.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use shale_common::Settings;

use crate::ServerError;
use shale_engine::Engine;

/// The superuser every cluster starts with.
pub const SUPERUSER: &str = "awsuser";

/// What [`bootstrap`] found or made.
#[derive(Debug)]
pub struct Bootstrap {
    pub root: PathBuf,
    pub credentials: Credentials,
    pub credentials_path: PathBuf,
    /// True when this start created the credentials file.
    pub created: bool,
}

/// The contents of `<data>/credentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The superuser's password, kept only while it is the generated one.
    pub admin_password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    fn render(&self) -> String {
        let mut s = String::from(
            "# Written by Shale. Keep this file private.\n\
             # The [shale] profile is an AWS shared-credentials profile for Shale's\n\
             # AWS-compatible endpoint: AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=shale\n",
        );
        s.push_str("\n[warehouse]\n");
        s.push_str(&format!("user = {SUPERUSER}\n"));
        match &self.admin_password {
            Some(p) => s.push_str(&format!("password = {p}\n")),
            None => s.push_str("# password: as set by SHALE_ADMIN_PASSWORD\n"),
        }
        s.push_str("\n[shale]\n");
        s.push_str(&format!("aws_access_key_id = {}\n", self.access_key_id));
        s.push_str(&format!(
            "aws_secret_access_key = {}\n",
            self.secret_access_key
        ));
        s
    }

    fn parse(text: &str) -> Option<Self> {
        let mut section = "";
        let (mut id, mut secret, mut password) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name;
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().to_string());
            match (section, k) {
                ("shale", "aws_access_key_id") => id = Some(v),
                ("shale", "aws_secret_access_key") => secret = Some(v),
                ("warehouse", "password") => password = Some(v),
                _ => {}
            }
        }
        Some(Credentials {
            access_key_id: id?,
            secret_access_key: secret?,
            admin_password: password,
        })
    }
}

/// Creates or opens the data directory and makes sure the superuser, the
/// credentials file and the user list agree with the settings.
pub fn bootstrap(settings: &Settings) -> Result<Bootstrap, ServerError> {
    let root = settings.data_dir.clone();
    if !root.exists() {
        std::fs::create_dir_all(&root).map_err(ServerError::io("cannot create", &root))?;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))
            .map_err(ServerError::io("cannot set permissions of", &root))?;
    }
    let credentials_path = root.join("credentials");
    let existing =
        match std::fs::read_to_string(&credentials_path) {
            Ok(text) => Some(Credentials::parse(&text).ok_or_else(|| {
                ServerError::Corrupt {
            path: credentials_path.clone(),
            message: "expected a [shale] profile with aws_access_key_id and aws_secret_access_key"
                .into(),
        }
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ServerError::io("cannot read", &credentials_path)(e)),
        };
    let created = existing.is_none();
    let credentials = existing.clone().unwrap_or_else(|| Credentials {
        access_key_id: random_access_key_id(),
        secret_access_key: shale_common::random::secret_access_key(),
        admin_password: None,
    });

    if existing.as_ref() != Some(&credentials) {
        write_private(&credentials_path, credentials.render().as_bytes())?;
    }
    Ok(Bootstrap {
        root,
        credentials,
        credentials_path,
        created,
    })
}

/// Makes sure the superuser exists with the configured password, once the
/// warehouse is open. Without a configured password the first start
/// generates one and keeps it in the credentials file (written before the
/// user is created, so that a crash in between cannot lose it).
pub async fn ensure_admin(
    engine: &Engine,
    settings: &Settings,
    boot: &mut Bootstrap,
) -> Result<(), ServerError> {
    let current = engine.user(SUPERUSER);
    let before = boot.credentials.clone();
    let password = match &settings.admin_password {
        Some(password) => {
            boot.credentials.admin_password = None;
            let matches = current.as_ref().is_some_and(|u| {
                u.superuser
                    && u.password.as_ref().is_some_and(|p| {
                        shale_common::password::check_md5(SUPERUSER, password, &p.md5)
                    })
            });
            (!matches).then(|| password.clone())
        }
        None if current.is_none() => {
            let password = boot
                .credentials
                .admin_password
                .clone()
                .unwrap_or_else(generate_password);
            boot.credentials.admin_password = Some(password.clone());
            Some(password)
        }
        None => None,
    };
    if boot.credentials != before {
        write_private(&boot.credentials_path, boot.credentials.render().as_bytes())?;
    }
    if let Some(password) = password {
        engine
            .put_superuser(SUPERUSER, &password)
            .await
            .map_err(ServerError::Engine)?;
    }
    Ok(())
}

fn random_access_key_id() -> String {
    shale_common::random::aws_id("AKIA")
}

/// A password Redshift would accept: 8 to 64 characters with an upper-case
/// letter, a lower-case letter and a digit.
fn generate_password() -> String {
    loop {
        let p = shale_common::random::string(shale_common::random::ALNUM, 24);
        if p.chars().any(|c| c.is_ascii_uppercase())
            && p.chars().any(|c| c.is_ascii_lowercase())
            && p.chars().any(|c| c.is_ascii_digit())
        {
            return p;
        }
    }
}

/// Writes a file readable only by its owner, durably: temporary file, fsync,
/// rename, fsync of the directory.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), ServerError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(ServerError::io("cannot create", dir))?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(ServerError::io("cannot create", &tmp))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(ServerError::io("cannot write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(ServerError::io("cannot rename", &tmp))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ServerError::io("cannot sync", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn settings(dir: &Path, password: Option<&str>) -> Settings {
        let mut s = Settings::for_data_dir(dir);
        s.admin_password = password.map(str::to_string);
        s
    }

    async fn start(dir: &Path, password: Option<&str>) -> (Bootstrap, Arc<Engine>) {
        let settings = settings(dir, password);
        let mut b = bootstrap(&settings).expect("bootstrap");
        let engine = Engine::open(shale_engine::EngineConfig::new(dir.join("warehouse")))
            .await
            .expect("engine");
        ensure_admin(&engine, &settings, &mut b)
            .await
            .expect("admin");
        (b, engine)
    }

    fn admin_password_is(engine: &Engine, password: &str) -> bool {
        let u = engine.user(SUPERUSER).expect("superuser");
        u.superuser
            && shale_common::password::check_md5(
                SUPERUSER,
                password,
                &u.password.as_ref().expect("hash").md5,
            )
    }

    #[tokio::test]
    async fn first_start_generates_password_and_keys_privately() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let (b, engine) = start(&dir, None).await;
        assert!(b.created);
        let pw = b.credentials.admin_password.clone().expect("generated");
        assert!(admin_password_is(&engine, &pw));
        let mode = std::fs::metadata(&b.credentials_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&b.credentials_path).expect("read");
        assert!(text.contains("[shale]\naws_access_key_id = AKIA"));
        // The catalog holds hashes only.
        let catalog = std::fs::read(dir.join("warehouse/catalog.db")).expect("read");
        assert!(!catalog.windows(pw.len()).any(|w| w == pw.as_bytes()));
        drop(engine);

        // A second start keeps everything.
        let (again, engine) = start(&dir, None).await;
        assert!(!again.created);
        assert_eq!(again.credentials, b.credentials);
        assert!(admin_password_is(&engine, &pw));
    }

    #[tokio::test]
    async fn admin_password_from_environment_wins_and_is_not_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (b, engine) = start(tmp.path(), Some("Env-Pass1")).await;
        assert!(b.credentials.admin_password.is_none());
        assert!(admin_password_is(&engine, "Env-Pass1"));
        let text = std::fs::read_to_string(&b.credentials_path).expect("read");
        assert!(!text.contains("Env-Pass1"));
        drop(engine);
        let (_, engine) = start(tmp.path(), Some("Other-Pass2")).await;
        assert!(admin_password_is(&engine, "Other-Pass2"));
        assert!(!admin_password_is(&engine, "Env-Pass1"));
    }

    #[test]
    fn generated_passwords_follow_redshift_rules() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 24);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
