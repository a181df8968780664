//! Deciding a request against policies: [`evaluate`] (explicit deny, then
//! allow, else implicit deny; see the crate docs), principal matching, and
//! [`trust_allows`] for "may this principal assume the role?".

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::pattern;
use crate::policy::{
    ActionElement, Effect, PolicyDocument, PrincipalElement, PrincipalType, Principals,
    ResourceElement, Statement, is_account_id,
};

/// A request context: condition keys (`aws:username`, `aws:SourceIp`,
/// `s3:prefix`, ...) with their values. Keys are looked up
/// case-insensitively; a key with no values counts as missing.
pub type Context = BTreeMap<String, Vec<String>>;

/// The values of `key` in `context`, matching the key case-insensitively.
pub(crate) fn context_values<'a>(context: &'a Context, key: &str) -> Option<&'a [String]> {
    if let Some(values) = context.get(key) {
        return Some(values);
    }
    context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, values)| values.as_slice())
}

/// Who makes a request, as a `Principal` element would name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// An AWS identity: a 12-digit account id, or the ARN of an account
    /// root, user, role or assumed-role session
    /// (`arn:aws:sts::123456789012:assumed-role/Name/session`).
    Aws(String),
    /// An AWS service (`redshift.amazonaws.com`).
    Service(String),
    /// A federated identity provider (`cognito-identity.amazonaws.com`).
    Federated(String),
    /// An S3 canonical user id.
    CanonicalUser(String),
    /// An unsigned request; only `"Principal": "*"` (or `{"AWS": "*"}`)
    /// names it.
    Anonymous,
}

/// The principal asking to assume a role, checked by [`trust_allows`].
pub type TrustPrincipal = Principal;

impl Principals {
    /// Whether these principals include `principal`.
    ///
    /// `"*"` and `{"AWS": "*"}` name everyone. An account id or account root
    /// ARN names every identity of that account. A role ARN also names the
    /// sessions of that role. Service names compare case-insensitively,
    /// other values exactly.
    pub fn matches(&self, principal: &Principal) -> bool {
        match self {
            Principals::Any => true,
            Principals::Listed(listed) => listed.iter().any(|(kind, values)| {
                values
                    .iter()
                    .any(|value| principal_value_matches(*kind, value, principal))
            }),
        }
    }
}

fn principal_value_matches(kind: PrincipalType, value: &str, principal: &Principal) -> bool {
    match (kind, principal) {
        (PrincipalType::Aws, _) if value == "*" => true,
        (PrincipalType::Aws, Principal::Aws(id)) => aws_principal_matches(value, id),
        (PrincipalType::Service, Principal::Service(name)) => {
            value == "*" || value.eq_ignore_ascii_case(name)
        }
        (PrincipalType::Federated, Principal::Federated(provider)) => value == provider,
        (PrincipalType::CanonicalUser, Principal::CanonicalUser(id)) => value == id,
        _ => false,
    }
}

/// The six parts of an ARN this module looks at.
struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let _region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        Some(Self {
            partition,
            service,
            account,
            resource,
        })
    }
}

/// An account id as its root ARN; anything else unchanged.
fn normalize_aws(value: &str) -> Cow<'_, str> {
    if is_account_id(value) {
        Cow::Owned(format!("arn:aws:iam::{value}:root"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Whether the `AWS` principal value `policy` names the requester.
fn aws_principal_matches(policy: &str, requester: &str) -> bool {
    let policy = normalize_aws(policy);
    let requester = normalize_aws(requester);
    if policy == requester {
        return true;
    }
    let (Some(p), Some(r)) = (Arn::parse(&policy), Arn::parse(&requester)) else {
        return false;
    };
    if p.partition != r.partition || p.account != r.account || p.service != "iam" {
        return false;
    }
    if p.resource == "root" {
        // The account root stands for every identity in the account.
        return true;
    }
    // A role ARN (with or without a path) names that role's sessions.
    if let (Some(role), "sts", Some(session)) = (
        p.resource.strip_prefix("role/"),
        r.service,
        r.resource.strip_prefix("assumed-role/"),
    ) {
        let role_name = role.rsplit('/').next().unwrap_or(role);
        let session_role = session.split('/').next().unwrap_or(session);
        return role_name == session_role;
    }
    false
}

/// A request to authorize: who wants to do what to which resource, and the
/// condition keys that come with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The action, `service:Name` (`s3:GetObject`).
    pub action: String,
    /// The resource ARN (`arn:aws:s3:::bucket/key`), or `*` for actions
    /// without one (`s3:ListAllMyBuckets`).
    pub resource: String,
    /// The principal, for policies that name principals (trust and resource
    /// policies). `None` means unknown: statements with a `Principal` do not
    /// apply, statements with a `NotPrincipal` do.
    pub principal: Option<Principal>,
    /// The request context the conditions read.
    pub context: Context,
}

impl Request {
    /// A request for `action` on `resource`, with no principal and an empty
    /// context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            principal: None,
            context: Context::new(),
        }
    }

    /// The same request made by `principal`.
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// The same request with `value` added to the context key `key`.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context
            .entry(key.into())
            .or_default()
            .push(value.into());
        self
    }
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// An applying `Allow` statement and no applying `Deny`.
    Allow,
    /// An applying `Deny` statement; no policy can override it.
    ExplicitDeny,
    /// No applying statement: denied by default (another policy type, such
    /// as a bucket policy, may still allow it).
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may go ahead.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

/// Decides `request` against every statement of `policies`: an applying
/// `Deny` anywhere wins, else an applying `Allow` allows, else the request
/// is implicitly denied. See the crate docs for when a statement applies.
pub fn evaluate(policies: &[&PolicyDocument], request: &Request) -> Decision {
    let mut allowed = false;
    for policy in policies {
        for statement in &policy.statements {
            if applies(policy, statement, request) {
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether the trust policy `policy` lets `principal` perform `action`
/// (normally `sts:AssumeRole`) on its role. Conditions see an empty context,
/// so a statement requiring, say, `sts:ExternalId` does not allow; to supply
/// context, call [`evaluate`] with a [`Request`] carrying the principal.
pub fn trust_allows(policy: &PolicyDocument, principal: &TrustPrincipal, action: &str) -> bool {
    let request = Request::new(action, "").with_principal(principal.clone());
    evaluate(&[policy], &request).is_allowed()
}

fn applies(policy: &PolicyDocument, statement: &Statement, request: &Request) -> bool {
    let variables = policy.supports_variables();
    action_matches(&statement.action, &request.action)
        && resource_matches(
            statement.resource.as_ref(),
            &request.resource,
            variables.then_some(&request.context),
        )
        && principal_matches(statement.principal.as_ref(), request.principal.as_ref())
        && statement
            .conditions
            .iter()
            .all(|c| c.holds(&request.context, variables))
}

fn action_matches(element: &ActionElement, action: &str) -> bool {
    let any = |patterns: &[String]| {
        patterns.iter().any(|p| {
            pattern::tokens(p, None, true).is_some_and(|t| pattern::glob(&t, action, true))
        })
    };
    match element {
        ActionElement::Action(patterns) => any(patterns),
        ActionElement::NotAction(patterns) => !any(patterns),
    }
}

fn resource_matches(
    element: Option<&ResourceElement>,
    resource: &str,
    variables: Option<&Context>,
) -> bool {
    let any = |patterns: &[String]| {
        patterns.iter().any(|p| {
            pattern::tokens(p, variables, true).is_some_and(|t| pattern::glob(&t, resource, false))
        })
    };
    match element {
        None => true,
        Some(ResourceElement::Resource(patterns)) => any(patterns),
        Some(ResourceElement::NotResource(patterns)) => !any(patterns),
    }
}

fn principal_matches(element: Option<&PrincipalElement>, principal: Option<&Principal>) -> bool {
    match element {
        None => true,
        Some(PrincipalElement::Principal(set)) => principal.is_some_and(|p| set.matches(p)),
        Some(PrincipalElement::NotPrincipal(set)) => !principal.is_some_and(|p| set.matches(p)),
    }
}
