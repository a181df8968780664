//! The bucket registry: every `s3://bucket/key` Shale reads or writes
//! resolves here, to an embedded bucket in the data directory or to a bucket
//! mapped to an external S3-compatible endpoint.
//!
//! - `embedded`: `EmbeddedStore`, the buckets under `<data>/s3/` with S3's
//!   raw-key API (the S3 endpoint's backend); `index` is its SQLite index.
//! - `adapter`: `BucketStore`, one embedded bucket as an `ObjectStore`.
//! - `mapped`: object_store's S3 client for configured external buckets.
//! - `names`: S3's bucket and key naming rules.
//!
//! **Architecture Invariant:** this crate knows no SQL and no DataFusion.

mod adapter;
mod embedded;
mod error;
mod index;
mod mapped;
mod names;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub use adapter::{BucketStore, key_to_path};
pub use embedded::{
    BucketInfo, ByteStream, Conditions, EmbeddedStore, ListPage, ListRequest, MAX_PART_NUMBER,
    MAX_PUT_SIZE, MIN_PART_SIZE, ObjectInfo, ObjectReader, PartInfo, PutOptions, UploadInfo,
    WriteMode, resolve_range,
};
pub use error::ObjectsError;
pub use names::{MAX_KEY_LEN, check_bucket_name, check_key};
pub use object_store;
pub use shale_common::BucketMapping;

/// Every bucket Shale knows: the embedded ones and the mapped ones. Cheap to
/// clone (an `Arc` inside).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegistryInner>,
}

struct RegistryInner {
    embedded: EmbeddedStore,
    /// Mapped buckets by the name clients use; built once at open.
    mapped: HashMap<String, Arc<dyn object_store::ObjectStore>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut mapped: Vec<&String> = self.inner.mapped.keys().collect();
        mapped.sort();
        f.debug_struct("Registry")
            .field("embedded", &self.inner.embedded)
            .field("mapped", &mapped)
            .finish()
    }
}

impl Registry {
    /// Opens the embedded buckets at `root` (`<data>/s3`) and builds a client
    /// for every mapped bucket. A mapped name hides an embedded bucket of the
    /// same name.
    pub fn open(
        root: &std::path::Path,
        mapped: &[BucketMapping],
    ) -> Result<Registry, ObjectsError> {
        let embedded = EmbeddedStore::open(root)?;
        let mapped = mapped
            .iter()
            .map(|m| Ok((m.name.clone(), mapped::build(m)?)))
            .collect::<Result<_, ObjectsError>>()?;
        Ok(Registry {
            inner: Arc::new(RegistryInner { embedded, mapped }),
        })
    }

    /// The object store for `bucket`: its mapped client, or the embedded
    /// bucket as an `ObjectStore`; `NoSuchBucket` when it is neither.
    pub fn store(&self, bucket: &str) -> Result<Arc<dyn object_store::ObjectStore>, ObjectsError> {
        if let Some(store) = self.inner.mapped.get(bucket) {
            return Ok(Arc::clone(store));
        }
        if self.inner.embedded.bucket_exists(bucket) {
            return Ok(Arc::new(BucketStore::new(
                self.inner.embedded.clone(),
                bucket.to_owned(),
            )));
        }
        Err(ObjectsError::NoSuchBucket(bucket.to_owned()))
    }

    /// Whether `bucket` is mapped to an external endpoint.
    pub fn is_mapped(&self, bucket: &str) -> bool {
        self.inner.mapped.contains_key(bucket)
    }

    /// The embedded buckets, with S3's raw-key API.
    pub fn embedded(&self) -> &EmbeddedStore {
        &self.inner.embedded
    }
}
