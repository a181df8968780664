//! The non-S3 services on the AWS endpoint: IAM, STS, Redshift (Query
//! protocol) and Redshift Serverless (JSON protocol). A request is routed
//! here by the service its SigV4 credential scope names; it is
//! authenticated against the [`Account`] (key, signature, session token,
//! expiry) and then runs as that identity.

use std::sync::Arc;

use s3s::{Body, HttpRequest, HttpResponse};
use shale_iam::{Account, Identity, SessionFault};

use crate::query::{self, ApiError, Params};
use crate::sigv4::{self, SignedRequest};
use crate::{Cluster, iam_api, redshift_api, sts_api};

/// The largest request body the APIs read: policy documents are at most a
/// few kilobytes.
const MAX_BODY: usize = 1 << 20;

/// The services answered here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Iam,
    Sts,
    Redshift,
    RedshiftServerless,
}

impl Service {
    /// The service a request is signed for, if it is one of these.
    pub(crate) fn of(req: &HttpRequest) -> Option<Self> {
        match sigv4::service_of(req.headers())?.as_str() {
            "iam" => Some(Self::Iam),
            "sts" => Some(Self::Sts),
            "redshift" => Some(Self::Redshift),
            "redshift-serverless" => Some(Self::RedshiftServerless),
            _ => None,
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Self::Iam => iam_api::NAMESPACE,
            Self::Sts => sts_api::NAMESPACE,
            Self::Redshift | Self::RedshiftServerless => redshift_api::NAMESPACE,
        }
    }
}

/// What the APIs act on.
#[derive(Debug, Clone)]
pub(crate) struct Apis {
    pub account: Account,
    pub cluster: Cluster,
}

/// Answers one request for `service`.
pub(crate) async fn handle(apis: &Arc<Apis>, service: Service, req: HttpRequest) -> HttpResponse {
    let (parts, mut body) = req.into_parts();
    let bytes = match body.store_all_limited(MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                "RequestEntityTooLarge",
                413,
                "The request body is too large.",
            );
            return failure(service, &e);
        }
    };
    let signed = SignedRequest {
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        body: &bytes,
    };
    let caller = match authenticate(&apis.account, &signed) {
        Ok(c) => c,
        Err(e) => return failure(service, &e),
    };
    if service == Service::RedshiftServerless {
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        tracing::debug!(target, caller = ?caller, "Redshift Serverless call.");
        let run = Arc::clone(apis);
        let result = tokio::task::spawn_blocking(move || {
            redshift_api::serverless_call(&run.account, &run.cluster, &caller, &target, &bytes)
        })
        .await
        .unwrap_or_else(|e| Err(internal(&e)));
        return match result {
            Ok(value) => json_response(200, &value),
            Err(e) => failure(service, &e),
        };
    }
    let params = Params::parse(parts.uri.query(), &bytes);
    let action = params.action().unwrap_or_default().to_owned();
    tracing::debug!(?service, action, caller = ?caller, "AWS API call.");
    // An action may write iam.json and fsync it: off the async threads.
    let run = Arc::clone(apis);
    let result = tokio::task::spawn_blocking(move || match service {
        Service::Iam => iam_api::call(&run.account, &caller, &params),
        Service::Sts => sts_api::call(&run.account, &caller, &params),
        // Serverless answered above, in JSON.
        Service::Redshift | Service::RedshiftServerless => {
            redshift_api::call(&run.account, &run.cluster, &caller, &params)
        }
    })
    .await
    .unwrap_or_else(|e| Err(internal(&e)));
    match result {
        Ok((action, x)) => query::respond(service.namespace(), &action, x),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(?service, action, error = %e.message, "AWS API call failed.");
            }
            failure(service, &e)
        }
    }
}

fn internal(e: &tokio::task::JoinError) -> ApiError {
    ApiError::new("InternalFailure", 500, format!("the request failed: {e}"))
}

/// The identity that signed `req`: a known, active key with a valid
/// signature, and for temporary credentials the matching, unexpired
/// session token.
fn authenticate(account: &Account, req: &SignedRequest<'_>) -> Result<Identity, ApiError> {
    let header = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            )
        })?;
    let auth = sigv4::parse_authorization(header).ok_or_else(|| {
        ApiError::new(
            "IncompleteSignature",
            400,
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        )
    })?;
    let invalid_token = || {
        ApiError::new(
            "InvalidClientTokenId",
            403,
            "The security token included in the request is invalid.",
        )
    };
    let credential = account
        .credential(auth.access_key_id)
        .ok_or_else(invalid_token)?;
    sigv4::verify(req, &credential.secret, chrono::Utc::now()).map_err(|e| {
        ApiError::new(
            e.code(),
            if e.code() == "IncompleteSignature" {
                400
            } else {
                403
            },
            e.to_string(),
        )
    })?;
    let token = req
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    match credential.check_session(token) {
        Ok(()) => Ok(credential.identity),
        Err(SessionFault::WrongToken) => Err(invalid_token()),
        Err(SessionFault::Expired) => Err(ApiError::new(
            "ExpiredToken",
            400,
            "The security token included in the request is expired",
        )),
    }
}

fn failure(service: Service, e: &ApiError) -> HttpResponse {
    match service {
        Service::RedshiftServerless => {
            // The JSON protocol's names for the signing errors.
            let code = match e.code {
                "InvalidClientTokenId" | "MissingAuthenticationToken" => {
                    "UnrecognizedClientException"
                }
                "SignatureDoesNotMatch" | "IncompleteSignature" => "InvalidSignatureException",
                other => other,
            };
            let mut resp = json_response(
                e.status,
                &serde_json::json!({ "__type": code, "message": e.message }),
            );
            if let Ok(v) = http::HeaderValue::from_str(code) {
                resp.headers_mut().insert("x-amzn-errortype", v);
            }
            resp
        }
        _ => query::error_response(service.namespace(), e),
    }
}

fn json_response(status: u16, value: &serde_json::Value) -> HttpResponse {
    let mut resp = HttpResponse::new(Body::from(value.to_string()));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    resp
}
