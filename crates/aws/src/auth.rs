//! Who may call the S3 API: SigV4 verification against `AccessKeys` (s3s
//! checks header signatures and presigned URLs with the secret we return),
//! the access hook where IAM policies will be evaluated, and how the `Host`
//! header selects virtual-hosted buckets.

use s3s::S3Result;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::s3_error;
use shale_objects::AccessKeys;

/// Secrets for signature verification: an unknown key id is
/// `InvalidAccessKeyId`, a wrong signature `SignatureDoesNotMatch`.
pub(crate) struct KeysAuth(pub AccessKeys);

#[async_trait::async_trait]
impl S3Auth for KeysAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.0
            .secret_for(access_key)
            .map(SecretKey::from)
            .ok_or_else(|| {
                s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

/// Authorization of each request once its signature is verified. Today
/// every known key may do everything and anonymous requests are refused;
/// this is where IAM policy checks go.
pub(crate) struct Policy;

#[async_trait::async_trait]
impl S3Access for Policy {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3_error!(AccessDenied, "Access Denied")),
        }
    }
}

/// `<bucket>.localhost[:port]` is virtual-hosted; every other host (an IP
/// address, `localhost`, a machine name) is path-style.
pub(crate) struct LocalhostHost;

impl S3Host for LocalhostHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        match name.strip_suffix(".localhost") {
            Some(bucket) if !bucket.is_empty() => {
                Ok(VirtualHost::new(host).with_bucket(bucket.to_ascii_lowercase()))
            }
            _ => Ok(VirtualHost::new(host)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_localhost_subdomains_are_virtual_hosts() {
        let h = LocalhostHost;
        let bucket = |host| {
            h.parse_host_header(host)
                .ok()
                .and_then(|v| v.bucket().map(str::to_owned))
        };
        assert_eq!(bucket("data.localhost:4566").as_deref(), Some("data"));
        assert_eq!(bucket("my.logs.localhost").as_deref(), Some("my.logs"));
        assert_eq!(bucket("localhost:4566"), None);
        assert_eq!(bucket("example.com"), None);
    }
}
