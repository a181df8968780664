//! Random tokens: generated passwords, AWS-style key ids, secrets and
//! session tokens. Every character comes from the operating system's
//! generator, drawn uniformly from its alphabet.

/// Letters and digits.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The alphabet of AWS secret access keys.
pub const SECRET_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The alphabet of AWS key and entity ids after their four-letter prefix.
pub const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols).
pub fn string(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    if alphabet.is_empty() || alphabet.len() > 256 {
        return out;
    }
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        let mut buf = [0u8; 64];
        rand::fill(&mut buf);
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(char::from(alphabet[b as usize % alphabet.len()]));
            }
        }
    }
    out
}

/// An AWS-style id: `prefix` and 16 id characters (`AKIA...`, `AROA...`).
pub fn aws_id(prefix: &str) -> String {
    format!("{prefix}{}", string(ID_ALPHABET, 16))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> String {
    string(SECRET_ALPHABET, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_their_length_and_alphabet() {
        let id = aws_id("AKIA");
        assert_eq!(id.len(), 20);
        assert!(id[4..].bytes().all(|b| ID_ALPHABET.contains(&b)));
        let s = secret_access_key();
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|b| SECRET_ALPHABET.contains(&b)));
        assert_ne!(secret_access_key(), s);
        assert_eq!(string(b"", 5), "");
    }
}
