//! Who may call the S3 API, and what they may do: SigV4 verification
//! against the account's keys (s3s checks header signatures and presigned
//! URLs with the secret we return), then, per request, the session token of
//! temporary credentials, their expiry, and the signer's IAM policies for
//! the operation's action and resource. Also how the `Host` header selects
//! virtual-hosted buckets.

use s3s::S3Result;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::path::S3Path;
use s3s::s3_error;
use shale_iam::{Account, Identity, Request, SessionFault};

/// Secrets for signature verification: an unknown key id is
/// `InvalidAccessKeyId`, a wrong signature `SignatureDoesNotMatch`.
pub(crate) struct AccountAuth(pub Account);

#[async_trait::async_trait]
impl S3Auth for AccountAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.0
            .credential(access_key)
            .map(|c| SecretKey::from(c.secret))
            .ok_or_else(|| {
                s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

/// The identity behind a verified access key, once its session token and
/// expiry are checked. `token` is the request's `X-Amz-Security-Token`.
pub(crate) fn identity(
    account: &Account,
    access_key: &str,
    token: Option<&str>,
) -> S3Result<Identity> {
    let credential = account.credential(access_key).ok_or_else(|| {
        s3_error!(
            InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records."
        )
    })?;
    match credential.check_session(token) {
        Ok(()) => Ok(credential.identity),
        Err(SessionFault::WrongToken) => Err(s3_error!(
            InvalidToken,
            "The provided token is malformed or otherwise invalid."
        )),
        Err(SessionFault::Expired) => {
            Err(s3_error!(ExpiredToken, "The provided token has expired."))
        }
    }
}

/// Refuses with S3's AccessDenied unless `identity` may do `action` on
/// `resource`.
pub(crate) fn authorize(
    account: &Account,
    identity: &Identity,
    action: &str,
    resource: &str,
) -> S3Result<()> {
    if account
        .authorize(identity, &Request::new(action, resource))
        .is_allowed()
    {
        Ok(())
    } else {
        Err(s3_error!(AccessDenied, "Access Denied"))
    }
}

/// The session token of a request: the header, or a presigned URL's
/// `X-Amz-Security-Token`.
pub(crate) fn session_token(headers: &http::HeaderMap, uri: &http::Uri) -> Option<String> {
    if let Some(v) = headers.get("x-amz-security-token") {
        return v.to_str().ok().map(str::to_owned);
    }
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| v.into_owned())
}

/// Authorization of each request once its signature is verified: unsigned
/// requests are refused; signed ones need the signer's policies to allow
/// the operation's IAM action on its resource. `DeleteObjects` names its
/// keys in the body and is authorized per key by the handler; `CopyObject`
/// also needs `s3:GetObject` on its source, checked there too.
pub(crate) struct Policy(pub Account);

#[async_trait::async_trait]
impl S3Access for Policy {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let access_key = credentials.access_key.clone();
        let identity = identity(
            &self.0,
            &access_key,
            session_token(cx.headers(), cx.uri()).as_deref(),
        )?;
        if identity == Identity::Root {
            return Ok(());
        }
        let op = cx.s3_op().name();
        if op == "DeleteObjects" {
            return Ok(());
        }
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.as_ref()), None),
            S3Path::Object { bucket, key } => (Some(bucket.as_ref()), Some(key.as_ref())),
        };
        let Some((action, resource)) = shale_iam::s3_authorization(op, bucket, key) else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let mut request =
            Request::new(action, resource).with_context("aws:SecureTransport", "false");
        // A listing's parameters are condition keys (`s3:prefix`, ...).
        if action == "s3:ListBucket"
            && let Some(query) = cx.uri().query()
        {
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                if matches!(k.as_ref(), "prefix" | "delimiter" | "max-keys") {
                    request = request.with_context(format!("s3:{k}"), v.into_owned());
                }
            }
        }
        if self.0.authorize(&identity, &request).is_allowed() {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Access Denied"))
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
