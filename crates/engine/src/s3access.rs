//! `AuthorizedStore`: a bucket's `ObjectStore` as COPY and UNLOAD see it
//! once they run under an IAM identity (a role Redshift assumed, or the
//! owner of the keys given). Every call is first decided by the account,
//! as the S3 API would decide it: reads need `s3:GetObject` on the object,
//! listings `s3:ListBucket` on the bucket (with `s3:prefix`), writes
//! `s3:PutObject`, deletions `s3:DeleteObject`. A denial is object_store's
//! `PermissionDenied`, which COPY and UNLOAD report as
//! `S3ServiceException:Access Denied,Status 403,Error AccessDenied`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use shale_iam::{Account, Identity, Request, s3_bucket_arn, s3_object_arn};
use shale_objects::object_store::path::Path;
use shale_objects::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// Who COPY or UNLOAD acts as.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub account: Account,
    pub identity: Identity,
}

impl Grant {
    fn check(
        &self,
        action: &str,
        resource: String,
        prefix: Option<String>,
    ) -> object_store::Result<()> {
        let mut request = Request::new(action, resource.clone());
        if let Some(p) = prefix {
            request = request.with_context("s3:prefix", p);
        }
        if self
            .account
            .authorize(&self.identity, &request)
            .is_allowed()
        {
            Ok(())
        } else {
            Err(object_store::Error::PermissionDenied {
                path: resource,
                source: format!("{action} denied").into(),
            })
        }
    }
}

/// `inner`, the store of `bucket`, with every call authorized for `grant`.
#[derive(Debug)]
pub(crate) struct AuthorizedStore {
    pub inner: Arc<dyn ObjectStore>,
    pub bucket: String,
    pub grant: Arc<Grant>,
}

impl fmt::Display for AuthorizedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Authorized({})", self.inner)
    }
}

impl AuthorizedStore {
    fn object(&self, action: &str, path: &Path) -> object_store::Result<()> {
        self.grant
            .check(action, s3_object_arn(&self.bucket, path.as_ref()), None)
    }

    fn listing(&self, prefix: Option<&Path>) -> object_store::Result<()> {
        // object_store lists whole segments: `a/b` is the S3 prefix `a/b/`.
        let prefix = prefix.map_or_else(String::new, |p| format!("{p}/"));
        self.grant
            .check("s3:ListBucket", s3_bucket_arn(&self.bucket), Some(prefix))
    }
}

#[async_trait]
impl ObjectStore for AuthorizedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.object("s3:PutObject", location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.object("s3:PutObject", location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.object("s3:GetObject", location)?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let bucket = self.bucket.clone();
        let grant = Arc::clone(&self.grant);
        let checked = locations
            .map(move |p| {
                let p = p?;
                grant.check("s3:DeleteObject", s3_object_arn(&bucket, p.as_ref()), None)?;
                Ok(p)
            })
            .boxed();
        self.inner.delete_stream(checked)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.listing(prefix) {
            Ok(()) => self.inner.list(prefix),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.listing(prefix)?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.object("s3:GetObject", from)?;
        self.object("s3:PutObject", to)?;
        self.inner.copy_opts(from, to, options).await
    }
}
