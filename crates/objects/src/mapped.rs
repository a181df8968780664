//! Buckets mapped to an external S3-compatible endpoint or to real AWS
//! (`[buckets.<name>]` in the configuration), reached with object_store's
//! S3 client. Secrets go to the client and nowhere else.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use shale_common::BucketMapping;

use crate::ObjectsError;

/// The endpoint a virtual-hosted request to `bucket` goes to:
/// `http://host:port` becomes `http://bucket.host:port`.
fn virtual_host_endpoint(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

/// Builds the client for one mapped bucket. Nothing is contacted yet.
pub(crate) fn build(mapping: &BucketMapping) -> Result<Arc<dyn ObjectStore>, ObjectsError> {
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&mapping.remote_bucket)
        .with_region(&mapping.region)
        .with_virtual_hosted_style_request(!mapping.path_style);
    if let Some(endpoint) = &mapping.endpoint {
        let endpoint = endpoint.trim_end_matches('/');
        builder = builder.with_allow_http(endpoint.starts_with("http://"));
        builder = if mapping.path_style {
            builder.with_endpoint(endpoint)
        } else {
            // object_store uses a virtual-hosted endpoint as given.
            builder.with_endpoint(virtual_host_endpoint(endpoint, &mapping.remote_bucket))
        };
    }
    if let (Some(id), Some(secret)) = (&mapping.access_key_id, &mapping.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = &mapping.session_token {
            builder = builder.with_token(token);
        }
    }
    let store = builder.build().map_err(|source| ObjectsError::Mapping {
        bucket: mapping.name.clone(),
        source,
    })?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_host_endpoints_prepend_the_bucket() {
        assert_eq!(
            virtual_host_endpoint("http://localhost:9000", "b"),
            "http://b.localhost:9000"
        );
    }
}
