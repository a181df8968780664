//! Warehouse users and their password hashes.
//!
//! Only hashes are stored: Redshift's MD5 form (`md5` + md5(password ||
//! user)) and a SCRAM-SHA-256 verifier in PostgreSQL's notation. Either one
//! suffices to check a password under every method the server offers: MD5
//! challenges are answered from the MD5 hash, SCRAM from the verifier, and a
//! cleartext password is hashed and compared.
//!
//! Until users move into the transactional catalog, the list lives in
//! `<data>/users.toml` (mode 0600).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};
use serde::{Deserialize, Serialize};

use crate::ServerError;
use crate::datadir::write_private;

/// Iterations for new SCRAM verifiers (PostgreSQL's default).
const SCRAM_ITERATIONS: u32 = 4096;

/// One user as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub name: String,
    #[serde(default)]
    pub superuser: bool,
    /// `md5` followed by md5(password || name) in hex.
    pub md5: String,
    /// `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`, base64 parts.
    pub scram: String,
}

impl UserRecord {
    /// Hashes a password for a user.
    pub fn new(name: &str, password: &str, superuser: bool) -> Self {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        UserRecord {
            name: name.to_string(),
            superuser,
            md5: md5_hash(name, password),
            scram: ScramVerifier::derive(password, &salt, SCRAM_ITERATIONS).to_string(),
        }
    }

    /// Whether `password` is this user's password (constant time).
    pub fn check_password(&self, password: &str) -> bool {
        constant_time_eq(
            md5_hash(&self.name, password).as_bytes(),
            self.md5.as_bytes(),
        )
    }

    /// The SCRAM verifier, parsed.
    pub fn scram_verifier(&self) -> Option<ScramVerifier> {
        ScramVerifier::parse(&self.scram)
    }
}

/// `md5` + hex(md5(password || user)), as PostgreSQL and Redshift store it.
pub fn md5_hash(user: &str, password: &str) -> String {
    format!("md5{:x}", md5::compute(format!("{password}{user}")))
}

/// The answer a client sends to an MD5 challenge: `md5` + hex(md5(hex-hash
/// without its prefix || salt)).
pub fn md5_challenge_response(stored_md5: &str, salt: &[u8]) -> String {
    let inner = stored_md5.strip_prefix("md5").unwrap_or(stored_md5);
    let mut data = inner.as_bytes().to_vec();
    data.extend_from_slice(salt);
    format!("md5{:x}", md5::compute(&data))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A SCRAM-SHA-256 verifier: what the server keeps instead of the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl ScramVerifier {
    /// Derives the verifier of a password (RFC 5802).
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Self {
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN),
            salt,
            password.as_bytes(),
            &mut salted,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
        let server_key = hmac::sign(&key, b"Server Key");
        ScramVerifier {
            iterations,
            salt: salt.to_vec(),
            stored_key: stored_key.as_ref().to_vec(),
            server_key: server_key.as_ref().to_vec(),
        }
    }

    /// Reads PostgreSQL's notation.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("SCRAM-SHA-256$")?;
        let (iter_salt, keys) = rest.split_once('$')?;
        let (iter, salt) = iter_salt.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(ScramVerifier {
            iterations: iter.parse().ok()?,
            salt: B64.decode(salt).ok()?,
            stored_key: B64.decode(stored).ok()?,
            server_key: B64.decode(server).ok()?,
        })
    }
}

impl std::fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    users: Vec<UserRecord>,
}

/// The users, loaded at start and written back on change.
#[derive(Debug)]
pub struct UserStore {
    path: PathBuf,
    users: RwLock<BTreeMap<String, UserRecord>>,
}

impl UserStore {
    /// Loads `path`, or starts empty when it does not exist.
    pub fn load(path: &Path) -> Result<Self, ServerError> {
        let users = match std::fs::read_to_string(path) {
            Ok(text) => {
                let file: UsersFile = toml::from_str(&text).map_err(|e| ServerError::Corrupt {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
                file.users
                    .into_iter()
                    .map(|u| (u.name.clone(), u))
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(ServerError::io("cannot read", path)(e)),
        };
        Ok(UserStore {
            path: path.to_owned(),
            users: RwLock::new(users),
        })
    }

    /// A user by name.
    pub fn get(&self, name: &str) -> Option<UserRecord> {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Whether no user exists yet.
    pub fn is_empty(&self) -> bool {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Adds or replaces a user and writes the file durably.
    pub fn put(&self, user: UserRecord) -> Result<(), ServerError> {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        users.insert(user.name.clone(), user);
        let file = UsersFile {
            users: users.values().cloned().collect(),
        };
        let text = toml::to_string(&file).map_err(|e| ServerError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_private(&self.path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_postgres() {
        // PostgreSQL: select 'md5' || md5('secret' || 'alice');
        assert_eq!(
            md5_hash("alice", "secret"),
            "md54a0a68b43b6cd5cf266fa02f196e2371"
        );
    }

    #[test]
    fn scram_verifier_matches_an_independent_derivation() {
        // RFC 7677's salt and password; keys computed with Python's hashlib.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let v = ScramVerifier::derive("pencil", &salt, 4096);
        assert_eq!(
            v.to_string(),
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$\
             WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:\
             wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
        assert_eq!(ScramVerifier::parse(&v.to_string()), Some(v));
    }

    #[test]
    fn passwords_are_checked_against_hashes() {
        let u = UserRecord::new("awsuser", "Secret123", true);
        assert!(u.check_password("Secret123"));
        assert!(!u.check_password("secret123"));
        assert!(!u.md5.contains("Secret123") && !u.scram.contains("Secret123"));
    }

    #[test]
    fn md5_challenge() {
        // libpq computes the same: md5(md5(pw||user) || salt).
        let stored = md5_hash("u", "p");
        let salt = [1u8, 2, 3, 4];
        let inner = &stored[3..];
        let mut data = inner.as_bytes().to_vec();
        data.extend_from_slice(&salt);
        assert_eq!(
            md5_challenge_response(&stored, &salt),
            format!("md5{:x}", md5::compute(&data))
        );
    }
}
