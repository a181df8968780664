//! AWS's Query protocol, shared by IAM, STS and Redshift: a form-encoded
//! POST (`Action=...&Version=...&Name=value`, lists as `Name.member.1`)
//! answered with `<ActionResponse><ActionResult>...</ActionResult>
//! <ResponseMetadata>` XML, or `<ErrorResponse><Error>` on failure.
//!
//! [`Params`] reads the form, [`Xml`] writes the answer, [`ApiError`] is the
//! error every service returns.

use std::fmt::Write as _;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use s3s::{Body, HttpResponse};
use shale_iam::IamError;

/// An error answered to an API call: AWS's code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    /// A parameter the action needs is missing.
    pub(crate) fn missing(name: &str) -> Self {
        Self::new(
            "ValidationError",
            400,
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ),
        )
    }

    /// An action the service (of API `version`) does not have.
    pub(crate) fn unknown_action(action: &str, version: &str) -> Self {
        Self::new(
            "InvalidAction",
            400,
            format!("Could not find operation {action} for version {version}"),
        )
    }

    /// A parameter has a value of the wrong form.
    pub(crate) fn invalid(name: &str, value: &str) -> Self {
        Self::new(
            "InvalidParameterValue",
            400,
            format!("Value '{value}' for parameter {name} is invalid."),
        )
    }
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> Self {
        Self {
            code: e.code,
            status: e.status,
            message: e.message,
        }
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The parameters of a Query-protocol request.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The form fields of `body` and of the URL's query string.
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        pairs.extend(form_urlencoded::parse(body).into_owned());
        Self { pairs }
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, which the action requires.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// `Action`.
    pub(crate) fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// The list `name`: `name.member.1`, `name.member.2`, ... (or any other
    /// member name, as Redshift's `DbGroups.DbGroup.1`), in index order.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.");
        let mut items: Vec<(u32, String)> = self
            .pairs
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&prefix)?;
                let index = rest.rsplit('.').next()?.parse::<u32>().ok()?;
                // `name.member.N` or `name.N`, not `name.member.N.Key`.
                (rest.matches('.').count() <= 1).then(|| (index, v.clone()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A boolean parameter (`true` / `false`).
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(name, v)),
        }
    }

    /// An integer parameter.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::invalid(name, v)))
            .transpose()
    }
}

/// An XML document under construction; text is escaped.
#[derive(Debug, Default)]
pub(crate) struct Xml(String);

impl Xml {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `<tag>text</tag>`.
    pub(crate) fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        let _ = write!(self.0, "<{tag}>");
        escape_into(&mut self.0, text);
        let _ = write!(self.0, "</{tag}>");
        self
    }

    /// `<tag>` ... `</tag>` around what `inner` writes.
    pub(crate) fn node(&mut self, tag: &str, inner: impl FnOnce(&mut Self)) -> &mut Self {
        let _ = write!(self.0, "<{tag}>");
        inner(self);
        let _ = write!(self.0, "</{tag}>");
        self
    }

    /// `<tag>` with a timestamp in ISO 8601.
    pub(crate) fn time(&mut self, tag: &str, t: DateTime<Utc>) -> &mut Self {
        self.leaf(tag, &iso8601(t))
    }

    #[cfg(test)]
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// A timestamp as AWS writes them: `2026-12-02T16:13:47Z`.
pub(crate) fn iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            // XML 1.0 cannot carry other control characters at all.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// A policy document as IAM returns it inside XML: URL-encoded JSON.
pub(crate) fn url_encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A fresh request id.
pub(crate) fn request_id() -> String {
    let n = rand::random::<u128>();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `<ActionResponse xmlns=...><ActionResult>result</ActionResult>
/// <ResponseMetadata>...` with status 200.
pub(crate) fn respond(namespace: &str, action: &str, result: Xml) -> HttpResponse {
    let mut body = String::with_capacity(result.0.len() + 256);
    let _ = write!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{namespace}\"><{action}Result>{}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        result.0,
        request_id()
    );
    xml_response(200, body)
}

/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
pub(crate) fn error_response(namespace: &str, e: &ApiError) -> HttpResponse {
    let mut x = Xml::new();
    x.node("Error", |x| {
        x.leaf(
            "Type",
            if e.status >= 500 {
                "Receiver"
            } else {
                "Sender"
            },
        )
        .leaf("Code", e.code)
        .leaf("Message", &e.message);
    });
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{namespace}\">{}<RequestId>{}</RequestId></ErrorResponse>",
        x.0,
        request_id()
    );
    xml_response(e.status, body)
}

fn xml_response(status: u16, body: String) -> HttpResponse {
    let mut resp = HttpResponse::new(Body::from(Bytes::from(body)));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_in_index_order_whatever_the_member_name() {
        let p = Params::parse(
            None,
            b"Action=GetClusterCredentials&DbGroups.DbGroup.2=b&DbGroups.DbGroup.1=a&Tags.member.1.Key=k&AddIamRoles.member.1=arn%3Aaws",
        );
        assert_eq!(p.list("DbGroups"), vec!["a", "b"]);
        assert_eq!(p.list("AddIamRoles"), vec!["arn:aws"]);
        assert!(p.list("Tags").is_empty());
        assert_eq!(p.action(), Some("GetClusterCredentials"));
    }

    #[test]
    fn typed_parameters_refuse_bad_values() {
        let p = Params::parse(Some("AutoCreate=true&DurationSeconds=x"), b"");
        assert_eq!(p.bool("AutoCreate"), Ok(Some(true)));
        assert_eq!(
            p.int("DurationSeconds").unwrap_err().code,
            "InvalidParameterValue"
        );
        assert_eq!(p.required("DbUser").unwrap_err().code, "ValidationError");
    }

    #[test]
    fn text_is_escaped_and_documents_url_encoded() {
        let mut x = Xml::new();
        x.leaf("M", "a<b & 'c'");
        assert_eq!(x.into_string(), "<M>a&lt;b &amp; &apos;c&apos;</M>");
        assert_eq!(url_encoded("{\"A\": 1}"), "%7B%22A%22%3A%201%7D");
    }
}
