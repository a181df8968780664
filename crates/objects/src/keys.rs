//! `AccessKeys`: the AWS access-key pairs Shale accepts signatures from.
//!
//! Today that is the `shale` profile of `<data>/credentials`; IAM users join
//! later. The S3 API verifies SigV4 against these; COPY checks explicit
//! credentials against them too.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Known access key ids and their secrets. Cheap to clone.
#[derive(Clone, Default)]
pub struct AccessKeys {
    pairs: Arc<HashMap<String, String>>,
}

impl AccessKeys {
    /// The given `(access_key_id, secret_access_key)` pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> AccessKeys {
        AccessKeys {
            pairs: Arc::new(pairs.into_iter().collect()),
        }
    }

    /// The secret of a known access key id.
    pub fn secret_for(&self, access_key_id: &str) -> Option<String> {
        self.pairs.get(access_key_id).cloned()
    }
}

impl fmt::Debug for AccessKeys {
    // Key ids only: secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeys")
            .field("access_key_ids", &self.pairs.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_and_never_printed() {
        let keys = AccessKeys::new([("AKID".to_owned(), "s3cret".to_owned())]);
        assert_eq!(keys.secret_for("AKID").as_deref(), Some("s3cret"));
        assert_eq!(keys.secret_for("other"), None);
        let printed = format!("{keys:?}");
        assert!(
            printed.contains("AKID") && !printed.contains("s3cret"),
            "{printed}"
        );
    }
}
