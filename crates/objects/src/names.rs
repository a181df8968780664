//! S3's naming rules for buckets and keys, checked before anything is stored.

use crate::ObjectsError;

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks S3's general-purpose bucket naming rules.
pub fn check_bucket_name(name: &str) -> Result<(), ObjectsError> {
    let fail = |reason| {
        Err(ObjectsError::InvalidBucketName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.len() < 3 || name.len() > 63 {
        return fail("bucket names must be between 3 and 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return fail("bucket names may contain only lowercase letters, digits, dots and hyphens");
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return fail("bucket names must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return fail("bucket names must not contain two adjacent periods");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return fail("bucket names must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") {
        return fail("bucket names must not start with xn-- or sthree-");
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return fail("bucket names must not end with -s3alias or --ol-s3");
    }
    Ok(())
}

/// Checks that a key is one S3 would store: not empty, at most 1024 bytes.
pub fn check_key(key: &str) -> Result<(), ObjectsError> {
    if key.is_empty() {
        return Err(ObjectsError::InvalidKey {
            reason: "the key must not be empty",
        });
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ObjectsError::InvalidKey {
            reason: "the key is longer than 1024 bytes",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.logs", "a1b", &"a".repeat(63)] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "under_score",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys() {
        assert!(check_key("a//b").is_ok());
        assert!(check_key("dir/").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key(&"é".repeat(512)).is_ok());
        assert!(check_key(&"é".repeat(513)).is_err());
    }
}
