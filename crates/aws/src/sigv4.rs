//! AWS Signature Version 4 verification for the non-S3 services Shale
//! serves (IAM, STS, Redshift, Redshift Serverless): the Query-protocol form
//! POSTs and JSON-protocol POSTs that boto3 and the aws CLI sign in the
//! `Authorization` header.
//!
//! s3s verifies only S3's signatures, and its `sig_v4` module is private, so
//! these services get this small verifier of their own. It follows
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//! Presigned URLs (`X-Amz-Signature` in the query) are not supported.
//!
//! The caller looks the secret up by the access key: `parse_authorization`
//! first, then `verify` with that key's secret.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::header::{AUTHORIZATION, DATE};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);
/// Everything but RFC 3986's unreserved characters gets percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The parameters of an `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    pub access_key_id: &'a str,
    /// The credential scope's day, `yyyymmdd`.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// The request as received, for verification.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// Who signed a request that verified, and for which region and service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Why a request's signature was refused. Display gives AWS's message; it
/// never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigV4Error {
    #[error("Request is missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Expired(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. \
         Consult the service documentation for details."
    )]
    Mismatch,
}

impl SigV4Error {
    /// The AWS error code for this refusal.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationToken",
            Self::Malformed(_) => "IncompleteSignature",
            Self::Expired(_) | Self::Mismatch => "SignatureDoesNotMatch",
        }
    }
}

fn malformed(message: impl Into<String>) -> SigV4Error {
    SigV4Error::Malformed(message.into())
}

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, SigV4Error> {
    let message = || malformed(format!("Authorization header requires '{name}' parameter."));
    value.filter(|v| !v.is_empty()).ok_or_else(message)
}

/// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`;
/// None if it is malformed in any way.
pub(crate) fn parse_authorization(header: &str) -> Option<Authorization<'_>> {
    parse(header).ok()
}

/// The service named in the Authorization header's credential scope.
pub(crate) fn service_of(headers: &http::HeaderMap) -> Option<String> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?;
    parse_authorization(header).map(|auth| auth.service.to_owned())
}

fn parse(header: &str) -> Result<Authorization<'_>, SigV4Error> {
    let params = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| malformed("Unsupported AWS 'algorithm': expected 'AWS4-HMAC-SHA256'."))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(malformed(format!("Authorization header repeats '{key}'.")));
        }
    }
    let credential = required(credential, "Credential")?;
    let signed_headers = required(signed_headers, "SignedHeaders")?;
    let signature = required(signature, "Signature")?;

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, TERMINATOR] = scope[..] else {
        return Err(malformed(
            "Credential should be scoped as <key>/<yyyymmdd>/<region>/<service>/aws4_request.",
        ));
    };
    let valid_date = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if !valid_date || [access_key_id, region, service].contains(&"") {
        return Err(malformed(
            "Credential should be scoped to a valid key, date, region and service.",
        ));
    }
    let signed_headers: Vec<&str> = signed_headers.split(';').collect();
    if signed_headers.contains(&"")
        || !signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("host"))
    {
        return Err(malformed(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Verifies `req`'s header signature with `secret`, the secret of the access
/// key the Authorization header names, at time `now`.
pub(crate) fn verify(
    req: &SignedRequest<'_>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Verified, SigV4Error> {
    let header = req.headers.get(AUTHORIZATION).ok_or(SigV4Error::Missing)?;
    let header = header
        .to_str()
        .map_err(|_| malformed("Authorization header must be ASCII."))?;
    let auth = parse(header)?;

    let time = request_time(req.headers)?;
    let amz_date = time.format(AMZ_DATE).to_string();
    let day = time.format("%Y%m%d").to_string();
    if auth.date != day {
        return Err(malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{day}', from '{amz_date}'.",
            auth.date
        )));
    }
    let skew = time.signed_duration_since(now);
    if skew.abs() > MAX_SKEW {
        let at = |t: DateTime<Utc>| t.format(AMZ_DATE);
        return Err(SigV4Error::Expired(if skew < TimeDelta::zero() {
            let (limit, now) = (at(now - MAX_SKEW), at(now));
            format!("Signature expired: {amz_date} is now earlier than {limit} ({now} - 15 min.)")
        } else {
            let (limit, now) = (at(now + MAX_SKEW), at(now));
            format!(
                "Signature not yet current: {amz_date} is still later than {limit} ({now} + 15 min.)"
            )
        }));
    }

    let canonical = canonical_request(req, &auth)?;
    let scope = format!(
        "{}/{}/{}/{TERMINATOR}",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(&canonical))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    for part in [auth.region, auth.service, TERMINATOR] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(Verified {
            access_key_id: auth.access_key_id.to_owned(),
            region: auth.region.to_owned(),
            service: auth.service.to_owned(),
        })
    } else {
        Err(SigV4Error::Mismatch)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The request's time: `X-Amz-Date` (`20150830T123600Z`), else `Date`.
fn request_time(headers: &http::HeaderMap) -> Result<DateTime<Utc>, SigV4Error> {
    if let Some(value) = headers.get("x-amz-date") {
        let bad =
            || malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".");
        let value = value.to_str().map_err(|_| bad())?;
        let shaped = value.len() == 16
            && value.bytes().enumerate().all(|(i, b)| match i {
                8 => b == b'T',
                15 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(bad());
        }
        return NaiveDateTime::parse_from_str(value, AMZ_DATE)
            .map(|t| t.and_utc())
            .map_err(|_| bad());
    }
    let value = headers.get(DATE).ok_or_else(|| {
        malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.to_utc())
        .ok_or_else(|| malformed("Date header must be an RFC 1123 date."))
}

/// The canonical request, as bytes since header values need not be UTF-8.
fn canonical_request(
    req: &SignedRequest<'_>,
    auth: &Authorization<'_>,
) -> Result<Vec<u8>, SigV4Error> {
    let mut out = Vec::with_capacity(512);
    for part in [
        req.method.as_str(),
        &canonical_uri(req.uri.path()),
        &canonical_query(req.uri.query().unwrap_or_default()),
    ] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for &name in &auth.signed_headers {
        let mut values = req.headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(malformed(format!(
                "Header '{name}' is listed in SignedHeaders but missing from the request."
            )));
        }
        out.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        out.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_header_value(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(
        auth.signed_headers
            .join(";")
            .to_ascii_lowercase()
            .as_bytes(),
    );
    out.push(b'\n');

    let body_hash = hex::encode(Sha256::digest(req.body));
    match req.headers.get("x-amz-content-sha256") {
        // A declared hash is signed in place of the body; it must match.
        Some(declared)
            if !declared
                .as_bytes()
                .eq_ignore_ascii_case(body_hash.as_bytes()) =>
        {
            return Err(SigV4Error::Mismatch);
        }
        Some(declared) => out.extend_from_slice(declared.as_bytes()),
        None => out.extend_from_slice(body_hash.as_bytes()),
    }
    Ok(out)
}

/// Trims the value and collapses each run of spaces and tabs to one space.
fn push_header_value(out: &mut Vec<u8>, value: &[u8]) {
    let words = value
        .split(|b| matches!(b, b' ' | b'\t'))
        .filter(|w| !w.is_empty());
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
}

/// Decodes `%XX` escapes (but not `+`), then encodes all but the unreserved set.
fn uri_encode(raw: &str) -> String {
    let bytes: Cow<'_, [u8]> = percent_decode_str(raw).into();
    percent_encode(&bytes, UNRESERVED).to_string()
}

fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(name), uri_encode(value))
        })
        .collect();
    pairs.sort_unstable();
    let pairs: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    pairs.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, Method, Uri};
    use proptest::prelude::*;

    const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const IAM_AUTH: &str = "AWS4-HMAC-SHA256 \
        Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
        SignedHeaders=content-type;host;x-amz-date, \
        Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn at(time: &str) -> DateTime<Utc> {
        time.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let value = |v: &str| HeaderValue::from_str(v).unwrap();
        pairs
            .iter()
            .map(|(n, v)| (n.parse().unwrap(), value(v)))
            .collect()
    }

    /// One request to verify; tests change a field and `run` it.
    #[derive(Clone)]
    struct Case {
        method: Method,
        uri: &'static str,
        headers: HeaderMap,
        body: Vec<u8>,
        secret: &'static str,
        now: &'static str,
    }

    impl Case {
        /// AWS's documented example request (IAM ListUsers).
        fn iam() -> Self {
            Self {
                method: Method::GET,
                uri: "/?Action=ListUsers&Version=2010-05-08",
                headers: headers(&[
                    ("content-type", FORM),
                    ("host", "iam.amazonaws.com"),
                    ("x-amz-date", "20150830T123600Z"),
                    ("authorization", IAM_AUTH),
                ]),
                body: Vec::new(),
                secret: SECRET,
                now: "2015-08-30T12:36:00Z",
            }
        }

        fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
            change(&mut self);
            self
        }

        fn run(&self) -> Result<Verified, SigV4Error> {
            let uri: Uri = self.uri.parse().unwrap();
            let (method, headers, body) = (&self.method, &self.headers, &self.body);
            let req = SignedRequest {
                method,
                uri: &uri,
                headers,
                body,
            };
            verify(&req, self.secret, at(self.now))
        }
    }

    #[test]
    fn aws_example_verifies() {
        let ok = Case::iam().run().unwrap();
        assert_eq!(ok.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            (ok.region.as_str(), ok.service.as_str()),
            ("us-east-1", "iam")
        );
        assert_eq!(service_of(&Case::iam().headers).as_deref(), Some("iam"));
        for now in ["2015-08-30T12:50:00Z", "2015-08-30T12:22:00Z"] {
            assert!(Case::iam().with(|c| c.now = now).run().is_ok(), "{now}");
        }
    }

    #[test]
    fn aws_example_refusals() {
        let refused = |change: fn(&mut Case)| Case::iam().with(change).run().unwrap_err();
        for change in [
            (|c| c.secret = "wrong") as fn(&mut Case),
            |c| c.uri = "/?Action=ListUsers&Version=2010-05-09",
            |c| c.method = Method::POST,
            |c| c.body = b"x".to_vec(),
        ] {
            assert_eq!(refused(change), SigV4Error::Mismatch);
        }

        let late = refused(|c| c.now = "2015-08-30T12:56:00Z");
        assert_eq!(
            late.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z \
             (20150830T125600Z - 15 min.)"
        );
        assert_eq!(late.code(), "SignatureDoesNotMatch");
        let early = refused(|c| c.now = "2015-08-30T12:16:00Z");
        assert!(matches!(early, SigV4Error::Expired(_)), "{early:?}");

        for header in ["content-type", "x-amz-date"] {
            let err = Case::iam()
                .with(|c| drop(c.headers.remove(header)))
                .run()
                .unwrap_err();
            assert!(matches!(err, SigV4Error::Malformed(_)), "{header}: {err:?}");
            assert_eq!(err.code(), "IncompleteSignature");
        }
        let unsigned = Case::iam().with(|c| drop(c.headers.remove("authorization")));
        assert_eq!(unsigned.run(), Err(SigV4Error::Missing));
        assert_eq!(SigV4Error::Missing.code(), "MissingAuthenticationToken");
        assert_eq!(service_of(&unsigned.headers), None);
    }

    /// A minimal STS signer written from the spec, independent of `verify`.
    fn sign_sts(body: &[u8]) -> Case {
        let mac = |key: &[u8], data: &str| {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        };
        let sha = |data: &[u8]| hex::encode(Sha256::digest(data));
        let canonical = format!(
            "POST\n/\n\ncontent-type:{FORM}\nhost:localhost:5439\nx-amz-date:20240102T030405Z\n\n\
             content-type;host;x-amz-date\n{}",
            sha(body)
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/us-west-2/sts/aws4_request\n{}",
            sha(canonical.as_bytes())
        );
        let mut key = format!("AWS4{SECRET}").into_bytes();
        for part in ["20240102", "us-west-2", "sts", "aws4_request"] {
            key = mac(&key, part);
        }
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDSTS/20240102/us-west-2/sts/aws4_request,\
             SignedHeaders=content-type;host;x-amz-date,Signature={}",
            hex::encode(mac(&key, &to_sign))
        );
        Case {
            method: Method::POST,
            uri: "/",
            headers: headers(&[
                ("content-type", FORM),
                ("host", "localhost:5439"),
                ("x-amz-date", "20240102T030405Z"),
                ("authorization", &auth),
            ]),
            body: body.to_vec(),
            secret: SECRET,
            now: "2024-01-02T03:10:00Z",
        }
    }

    #[test]
    fn signed_form_post_round_trips() {
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let ok = sign_sts(body).run().unwrap();
        assert_eq!(
            (ok.access_key_id.as_str(), ok.service.as_str()),
            ("AKIDSTS", "sts")
        );
        let tamper = |c: &mut Case| c.body[0] = b'a';
        assert_eq!(sign_sts(body).with(tamper).run(), Err(SigV4Error::Mismatch));

        // A declared payload hash is signed, and must be the body's.
        let hash = HeaderValue::from_str(&hex::encode(Sha256::digest(body))).unwrap();
        let declared =
            sign_sts(body).with(|c| drop(c.headers.insert("x-amz-content-sha256", hash)));
        assert!(declared.run().is_ok());
        assert_eq!(declared.with(tamper).run(), Err(SigV4Error::Mismatch));
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a%20b/c d~"), "/a%20b/c%20d~");
        assert_eq!(canonical_query("b=2&a=&c&a=1+%2a"), "a=&a=1%2B%2A&b=2&c=");
        let mut out = Vec::new();
        push_header_value(&mut out, b"  a   b\t c  ");
        assert_eq!(out, b"a b c");
        let dated = headers(&[("date", "Sun, 30 Aug 2015 12:36:00 GMT")]);
        assert_eq!(request_time(&dated), Ok(at("2015-08-30T12:36:00Z")));
    }

    #[test]
    fn parse_accepts_both_comma_styles_and_rejects_garbage() {
        let auth = parse_authorization(IAM_AUTH).unwrap();
        assert_eq!(auth.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert_eq!((auth.access_key_id, auth.date), ("AKIDEXAMPLE", "20150830"));
        assert_eq!(
            parse_authorization(&IAM_AUTH.replace(", ", ",")),
            Some(auth)
        );

        for garbage in [
            "",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws5_request, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/2015083/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/20150830//iam/aws4_request, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws4_request, SignedHeaders=date, Signature=a",
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;, Signature=a",
            "AWS4-HMAC-SHA512 Credential=AK/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=ÄK/２０１５/ü/🦀/aws4_request, SignedHeaders=host, Signature=é",
            "AWS4-HMAC-SHA256 Credential=🦀, SignedHeaders, Signature=",
        ] {
            assert_eq!(parse_authorization(garbage), None, "{garbage}");
        }
        let err = parse("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Authorization header requires 'Credential' parameter."
        );
    }

    /// Arbitrary strings, and ones shaped enough to reach the signature check
    /// (regex alternatives are equally likely, so the common ones repeat).
    fn authorization() -> impl Strategy<Value = String> {
        let name = "(host|content-type|x-amz-date|[a-zA-Z-]{0,4})";
        let shaped = format!(
            "AWS4-HMAC-SHA256 Credential=([A-Z]{{1,4}}|[A-Z/]{{0,4}})/(20150830|20150830|[0-9]{{0,9}})/\
             (us-east-1|[a-z-]{{0,5}})/(iam|[a-z]{{0,3}})/(aws4_request|aws4_request|[a-z]{{0,3}})\
             (,|, | ,)SignedHeaders=(host|host;x-amz-date|{name})(;{name}){{0,2}}\
             (,|, )Signature=[0-9a-f]{{0,64}}.{{0,2}}"
        );
        let shaped = proptest::string::string_regex(&shaped).unwrap();
        prop_oneof![1 => ".*", 1 => "[ -~]*", 4 => shaped]
    }

    proptest! {
        #[test]
        fn parse_never_panics(header in ".*") {
            let _ = parse_authorization(&header);
        }

        #[test]
        fn verify_never_panics(
            auth in authorization(),
            date in "(20150830T123[0-9][0-5][0-9]Z|20150830T1[0-9]{5}Z|.{0,20})",
            query in "[A-Za-z0-9=&%+~ -]{0,20}",
            body in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut h = HeaderMap::new();
            for (name, value) in [("authorization", &auth), ("x-amz-date", &date), ("date", &date)] {
                if let Ok(v) = HeaderValue::from_str(value) {
                    h.insert(name, v);
                }
            }
            h.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
            let uri: Uri = format!("/?{query}").parse().unwrap_or_default();
            let req = SignedRequest { method: &Method::POST, uri: &uri, headers: &h, body: &body };
            let _ = verify(&req, SECRET, at("2015-08-30T12:36:00Z"));
        }
    }
}
