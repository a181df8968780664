//! Password hashes: what is stored instead of a password, and the checks
//! the login exchanges make against it.
//!
//! Two forms are kept: Redshift's MD5 form (`md5` + md5(password || user)),
//! which answers MD5 challenges and cleartext passwords, and a
//! SCRAM-SHA-256 verifier in PostgreSQL's notation, for SCRAM logins. Both
//! are made from a clear-text password; a password given in MD5 form has no
//! verifier, so such a user can log in only by MD5 or cleartext.

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};

/// Iterations for new SCRAM verifiers (PostgreSQL's default).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// A fresh SCRAM-SHA-256 verifier of a password, in PostgreSQL's notation.
pub fn scram_verifier(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    ScramVerifier::derive(password, &salt, SCRAM_ITERATIONS).to_string()
}

/// Whether `password` is the one behind an MD5-form hash (constant time).
pub fn check_md5(user: &str, password: &str, stored_md5: &str) -> bool {
    constant_time_eq(md5_hash(user, password).as_bytes(), stored_md5.as_bytes())
}

/// Redshift's rules for a clear-text password: 8 to 64 characters, at
/// least one upper-case letter, one lower-case letter and one digit,
/// printable ASCII except `'`, `"`, `\`, `/` and `@`. The error reads as
/// Redshift's.
pub fn check_rules(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    let allowed = |c: char| c.is_ascii_graphic() && !matches!(c, '\'' | '"' | '\\' | '/' | '@');
    if !(8..=64).contains(&n)
        || !password.chars().all(allowed)
        || !password.chars().any(|c| c.is_ascii_uppercase())
        || !password.chars().any(|c| c.is_ascii_lowercase())
        || !password.chars().any(|c| c.is_ascii_digit())
    {
        return Err(
            "Password must contain uppercase, lowercase and numeric characters, \
                    must be 8 to 64 characters long and may not contain ', \", \\, / or @.",
        );
    }
    Ok(())
}

/// Whether a string is an MD5-form hash (`md5` and 32 hex digits).
pub fn is_md5_form(s: &str) -> bool {
    s.len() == 35 && s.starts_with("md5") && s[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The stored form (`<digest>|<salt>`, lower-case hex) of the part after
/// `sha256|` in Redshift's `sha256|<digest>|<salt>` password: a 256-bit
/// digest and a 256-bit salt, both in hex.
pub fn sha256_form(digest_and_salt: &str) -> Option<String> {
    let (digest, salt) = digest_and_salt.split_once('|')?;
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex64(digest) && hex64(salt)).then(|| {
        format!(
            "{}|{}",
            digest.to_ascii_lowercase(),
            salt.to_ascii_lowercase()
        )
    })
}

/// Whether `password` matches a stored `<digest>|<salt>`: the digest is
/// SHA-256 of the password's bytes followed by the salt's, as Redshift's
/// digest authentication computes it.
pub fn check_sha256(password: &str, stored: &str) -> bool {
    let Some((digest, salt)) = stored.split_once('|') else {
        return false;
    };
    let Ok(salt) = hex::decode(salt) else {
        return false;
    };
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(password.as_bytes());
    ctx.update(&salt);
    let computed = hex::encode(ctx.finish());
    constant_time_eq(computed.as_bytes(), digest.as_bytes())
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

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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

    /// Whether `password` is the one this verifier was made from.
    pub fn check(&self, password: &str) -> bool {
        let again = ScramVerifier::derive(password, &self.salt, self.iterations);
        constant_time_eq(&again.stored_key, &self.stored_key)
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
        assert!(v.check("pencil") && !v.check("pencil2"));
        assert_eq!(ScramVerifier::parse(&v.to_string()), Some(v));
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

    #[test]
    fn the_docs_md5_example() {
        assert_eq!(
            md5_hash("user1", "ez"),
            "md5153c434b4b77c89e6b94f12c5393af5b"
        );
        assert!(is_md5_form("md5153c434b4b77c89e6b94f12c5393af5b"));
        assert!(!is_md5_form("md5153c434b4b77c89e6b94f12c5393af5"));
        assert!(check_md5(
            "user1",
            "ez",
            "md5153c434b4b77c89e6b94f12c5393af5b"
        ));
        assert!(!check_md5(
            "user2",
            "ez",
            "md5153c434b4b77c89e6b94f12c5393af5b"
        ));
    }

    #[test]
    fn redshift_password_rules() {
        assert!(check_rules("abcD1234").is_ok());
        assert!(check_rules("Abcd123").is_err(), "too short");
        assert!(check_rules("abcd1234").is_err(), "no upper case");
        assert!(check_rules("ABCD1234").is_err(), "no lower case");
        assert!(check_rules("abcdEFGH").is_err(), "no digit");
        assert!(check_rules("abcD1234/").is_err(), "slash");
        assert!(check_rules("abcD 1234").is_err(), "space");
        assert!(
            check_rules(&format!("aB1{}", "x".repeat(62))).is_err(),
            "65 long"
        );
    }
}
