//! `PolicyDocument`: AWS's JSON policy grammar parsed into typed values and
//! checked the way IAM checks a document before it stores it.
//!
//! The grammar: an object with an optional `Version` (`2012-10-17` or
//! `2008-10-17`), an optional `Id` and a `Statement` that is one statement
//! object or an array of them. A statement has an optional `Sid`, a required
//! `Effect` (`Allow` or `Deny`, case-sensitive), exactly one of `Action` /
//! `NotAction`, at most one of `Resource` / `NotResource`, at most one of
//! `Principal` / `NotPrincipal`, and an optional `Condition`. List elements
//! take a string or an array of strings. Element names are case-sensitive;
//! unknown or repeated keys are refused.
//!
//! Parsing runs in two passes, like IAM: first the shape of every statement
//! (types, unknown keys, conflicting elements, `Effect`, condition
//! operators), then the rules that depend on the [`PolicyKind`] and the
//! formats of actions, resources and principals.

use std::collections::{BTreeMap, BTreeSet};

use crate::condition::{Condition, ConditionOperator, parse_date};
use crate::error::PolicyError;
use crate::json::Json;

/// The flavour of policy a document is parsed as; each has its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity-based (permissions) policy, attached to a user, group or
    /// role (`create-policy --policy-document`, `put-role-policy`): it must
    /// not name a principal, every statement needs `Resource` or
    /// `NotResource`, and `Sid`s are alphanumeric.
    Identity,
    /// A role's trust policy (`create-role --assume-role-policy-document`):
    /// every statement needs a `Principal`, may not have `Resource`,
    /// `NotResource` or `NotPrincipal`, and may name only `sts:` actions.
    Trust,
    /// A resource-based policy such as an S3 bucket policy: every statement
    /// needs a `Principal` (or `NotPrincipal`) and a `Resource` (or
    /// `NotResource`).
    Resource,
}

/// The policy language version in `Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyVersion {
    /// `2008-10-17`: the original language, without policy variables.
    V2008_10_17,
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
}

impl PolicyVersion {
    /// The version as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2008_10_17 => "2008-10-17",
            Self::V2012_10_17 => "2012-10-17",
        }
    }
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// `Version`, when given. Without it IAM reads the document as
    /// `2008-10-17` (no policy variables).
    pub version: Option<PolicyVersion>,
    /// `Id`, when given.
    pub id: Option<String>,
    /// The statements, in document order; never empty.
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The statement grants what it matches.
    Allow,
    /// The statement refuses what it matches, overriding any `Allow`.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, when given and not empty.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Action` or `NotAction`.
    pub action: ActionElement,
    /// `Resource` or `NotResource`; `None` only in trust policies, where the
    /// statement applies to the role itself.
    pub resource: Option<ResourceElement>,
    /// `Principal` or `NotPrincipal`; `None` in identity policies.
    pub principal: Option<PrincipalElement>,
    /// Every test of the `Condition` block, in document order; all must
    /// hold.
    pub conditions: Vec<Condition>,
}

/// A statement's `Action` or `NotAction`: action patterns such as
/// `s3:Get*`, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionElement {
    /// The statement covers the actions any pattern matches.
    Action(Vec<String>),
    /// The statement covers the actions no pattern matches.
    NotAction(Vec<String>),
}

/// A statement's `Resource` or `NotResource`: ARN patterns or `*`, never
/// empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceElement {
    /// The statement covers the resources any pattern matches.
    Resource(Vec<String>),
    /// The statement covers the resources no pattern matches.
    NotResource(Vec<String>),
}

/// A statement's `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalElement {
    /// The statement applies to these principals.
    Principal(Principals),
    /// The statement applies to every principal but these.
    NotPrincipal(Principals),
}

/// The principals a `Principal` element names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone, anonymous callers included.
    Any,
    /// `{"AWS": [...], "Service": "...", ...}`: each type with its values
    /// (never empty).
    Listed(BTreeMap<PrincipalType, Vec<String>>),
}

/// The key of a `Principal` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalType {
    /// `AWS`: account ids, account root ARNs, user and role ARNs, or `*`.
    Aws,
    /// `Service`: AWS service principals (`redshift.amazonaws.com`).
    Service,
    /// `Federated`: identity providers (`cognito-identity.amazonaws.com`, a
    /// SAML provider ARN).
    Federated,
    /// `CanonicalUser`: S3 canonical user ids.
    CanonicalUser,
}

impl PrincipalType {
    /// The key as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Service => "Service",
            Self::Federated => "Federated",
            Self::CanonicalUser => "CanonicalUser",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [
            Self::Aws,
            Self::Service,
            Self::Federated,
            Self::CanonicalUser,
        ]
        .into_iter()
        .find(|t| t.as_str() == key)
    }
}

impl PolicyDocument {
    /// Parses and validates `text` as a policy of the given kind.
    ///
    /// ```
    /// use shale_iam::{PolicyDocument, PolicyKind};
    ///
    /// let doc = PolicyDocument::parse(
    ///     r#"{"Version": "2012-10-17",
    ///         "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
    ///                       "Resource": "arn:aws:s3:::bucket/*"}}"#,
    ///     PolicyKind::Identity,
    /// )
    /// .unwrap();
    /// assert_eq!(doc.statements.len(), 1);
    ///
    /// let err = PolicyDocument::parse(r#"{"Statement": []}"#, PolicyKind::Identity).unwrap_err();
    /// assert_eq!(err.to_string(), "Syntax errors in policy.");
    /// ```
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        let json = Json::parse(text).map_err(|e| PolicyError::InvalidJson {
            line: e.line(),
            column: e.column(),
        })?;
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        for (key, value) in object(json, "policy")? {
            match key.as_str() {
                "Version" => version = Some(parse_version(value)?),
                "Id" => id = Some(string(value, "Id")?),
                "Statement" => statement = Some(value),
                _ => return Err(PolicyError::UnknownField { field: key }),
            }
        }
        let statements = match statement.ok_or(PolicyError::MissingStatement)? {
            single @ Json::Object(_) => vec![single],
            Json::Array(items) if items.is_empty() => return Err(PolicyError::MissingStatement),
            Json::Array(items) => items,
            _ => return Err(wrong_type("Statement")),
        };
        let shapes = statements
            .into_iter()
            .map(parse_statement)
            .collect::<Result<Vec<_>, _>>()?;

        let mut sids = BTreeSet::new();
        for shape in &shapes {
            if let Some(sid) = &shape.sid
                && !sids.insert(sid.as_str())
            {
                return Err(PolicyError::DuplicateSid { sid: sid.clone() });
            }
        }
        let statements = shapes
            .into_iter()
            .map(|shape| shape.validate(kind))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            version,
            id,
            statements,
        })
    }

    /// Whether `${...}` policy variables are substituted in this document:
    /// only with `"Version": "2012-10-17"`.
    pub fn supports_variables(&self) -> bool {
        self.version == Some(PolicyVersion::V2012_10_17)
    }
}

/// A statement after the first pass: well-formed, not yet checked against
/// the policy kind.
struct Shape {
    sid: Option<String>,
    effect: Effect,
    action: Option<ActionElement>,
    resource: Option<ResourceElement>,
    principal: Option<PrincipalElement>,
    conditions: Vec<Condition>,
}

/// First pass over one statement: its shape.
fn parse_statement(value: Json) -> Result<Shape, PolicyError> {
    let mut sid = None;
    let mut effect = None;
    let (mut action, mut not_action) = (None, None);
    let (mut resource, mut not_resource) = (None, None);
    let (mut principal, mut not_principal) = (None, None);
    let mut conditions = Vec::new();
    for (key, value) in object(value, "Statement")? {
        match key.as_str() {
            "Sid" => sid = Some(string(value, "Sid")?).filter(|s| !s.is_empty()),
            "Effect" => effect = Some(parse_effect(value)?),
            "Action" => action = Some(string_list(value, "Action")?),
            "NotAction" => not_action = Some(string_list(value, "NotAction")?),
            "Resource" => resource = Some(string_list(value, "Resource")?),
            "NotResource" => not_resource = Some(string_list(value, "NotResource")?),
            "Principal" => principal = Some(parse_principals(value)?),
            "NotPrincipal" => not_principal = Some(parse_principals(value)?),
            "Condition" => conditions = parse_conditions(value)?,
            _ => return Err(PolicyError::UnknownField { field: key }),
        }
    }
    let action = match (action, not_action) {
        (Some(_), Some(_)) => return Err(PolicyError::ActionAndNotAction),
        (Some(a), None) => Some(ActionElement::Action(a)),
        (None, Some(a)) => Some(ActionElement::NotAction(a)),
        (None, None) => None,
    };
    let resource = match (resource, not_resource) {
        (Some(_), Some(_)) => return Err(PolicyError::ResourceAndNotResource),
        (Some(r), None) => Some(ResourceElement::Resource(r)),
        (None, Some(r)) => Some(ResourceElement::NotResource(r)),
        (None, None) => None,
    };
    let principal = match (principal, not_principal) {
        (Some(_), Some(_)) => return Err(PolicyError::PrincipalAndNotPrincipal),
        (Some(p), None) => Some(PrincipalElement::Principal(p)),
        (None, Some(p)) => Some(PrincipalElement::NotPrincipal(p)),
        (None, None) => None,
    };
    Ok(Shape {
        sid,
        effect: effect.ok_or(PolicyError::MissingEffect)?,
        action,
        resource,
        principal,
        conditions,
    })
}

impl Shape {
    /// Second pass: the rules of `kind`, then the formats of actions and
    /// resources.
    fn validate(self, kind: PolicyKind) -> Result<Statement, PolicyError> {
        if kind == PolicyKind::Identity
            && let Some(sid) = &self.sid
            && !sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(PolicyError::InvalidSid { sid: sid.clone() });
        }
        let action = match self.action {
            Some(ActionElement::Action(a) | ActionElement::NotAction(a)) if a.is_empty() => {
                return Err(PolicyError::MissingAction);
            }
            Some(action) => action,
            None => return Err(PolicyError::MissingAction),
        };
        match kind {
            PolicyKind::Identity => {
                if self.principal.is_some() {
                    return Err(PolicyError::PrincipalNotAllowed);
                }
            }
            PolicyKind::Trust => {
                match &self.principal {
                    None => return Err(PolicyError::MissingPrincipal),
                    Some(PrincipalElement::NotPrincipal(_)) => {
                        return Err(PolicyError::ProhibitedField {
                            field: "NotPrincipal",
                        });
                    }
                    Some(PrincipalElement::Principal(_)) => {}
                }
                match &self.resource {
                    Some(ResourceElement::Resource(_)) => {
                        return Err(PolicyError::ProhibitedField { field: "Resource" });
                    }
                    Some(ResourceElement::NotResource(_)) => {
                        return Err(PolicyError::ProhibitedField {
                            field: "NotResource",
                        });
                    }
                    None => {}
                }
            }
            PolicyKind::Resource => {
                if self.principal.is_none() {
                    return Err(PolicyError::MissingPrincipal);
                }
            }
        }
        if kind != PolicyKind::Trust {
            match &self.resource {
                Some(ResourceElement::Resource(r) | ResourceElement::NotResource(r))
                    if !r.is_empty() =>
                {
                    r.iter().try_for_each(|r| validate_resource(r))?;
                }
                _ => return Err(PolicyError::MissingResource),
            }
        }
        let (ActionElement::Action(actions) | ActionElement::NotAction(actions)) = &action;
        for a in actions {
            validate_action(a)?;
            if kind == PolicyKind::Trust
                && !a.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sts:"))
            {
                return Err(PolicyError::TrustActionNotSts { action: a.clone() });
            }
        }
        Ok(Statement {
            sid: self.sid,
            effect: self.effect,
            action,
            resource: self.resource,
            principal: self.principal,
            conditions: self.conditions,
        })
    }
}

/// The members of a JSON object, refusing repeated keys.
fn object(value: Json, element: &str) -> Result<Vec<(String, Json)>, PolicyError> {
    let Json::Object(members) = value else {
        return Err(wrong_type(element));
    };
    let mut seen = BTreeSet::new();
    for (key, _) in &members {
        if !seen.insert(key.as_str()) {
            return Err(PolicyError::DuplicateElement {
                element: key.clone(),
            });
        }
    }
    Ok(members)
}

fn wrong_type(element: &str) -> PolicyError {
    PolicyError::WrongType {
        element: element.to_owned(),
    }
}

fn string(value: Json, element: &str) -> Result<String, PolicyError> {
    match value {
        Json::String(s) => Ok(s),
        _ => Err(wrong_type(element)),
    }
}

/// A string or an array of strings.
fn string_list(value: Json, element: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s]),
        Json::Array(items) => items.into_iter().map(|v| string(v, element)).collect(),
        _ => Err(wrong_type(element)),
    }
}

fn parse_version(value: Json) -> Result<PolicyVersion, PolicyError> {
    match value {
        Json::String(s) if s == "2012-10-17" => Ok(PolicyVersion::V2012_10_17),
        Json::String(s) if s == "2008-10-17" => Ok(PolicyVersion::V2008_10_17),
        Json::String(version) => Err(PolicyError::InvalidVersion { version }),
        _ => Err(wrong_type("Version")),
    }
}

fn parse_effect(value: Json) -> Result<Effect, PolicyError> {
    match value {
        Json::String(s) if s == "Allow" => Ok(Effect::Allow),
        Json::String(s) if s == "Deny" => Ok(Effect::Deny),
        Json::String(effect) => Err(PolicyError::InvalidEffect { effect }),
        _ => Err(wrong_type("Effect")),
    }
}

fn parse_principals(value: Json) -> Result<Principals, PolicyError> {
    let members = match value {
        Json::String(s) if s == "*" => return Ok(Principals::Any),
        Json::Object(_) => object(value, "Principal")?,
        _ => return Err(wrong_type("Principal")),
    };
    if members.is_empty() {
        return Err(PolicyError::MissingPrincipal);
    }
    let mut listed = BTreeMap::new();
    for (key, value) in members {
        let values = string_list(value, "Principal")?;
        let Some(kind) = PrincipalType::from_key(&key) else {
            return Err(PolicyError::InvalidPrincipal {
                kind: key.to_ascii_uppercase(),
                value: values.first().cloned().unwrap_or_default(),
            });
        };
        if values.is_empty() {
            return Err(PolicyError::MissingPrincipal);
        }
        for value in &values {
            if !valid_principal(kind, value) {
                return Err(PolicyError::InvalidPrincipal {
                    kind: kind.as_str().to_ascii_uppercase(),
                    value: value.clone(),
                });
            }
        }
        listed.insert(kind, values);
    }
    Ok(Principals::Listed(listed))
}

/// Whether `value` can name a principal of type `kind`. An `AWS` principal
/// is `*`, a 12-digit account id, or a full ARN without wildcards.
fn valid_principal(kind: PrincipalType, value: &str) -> bool {
    match kind {
        PrincipalType::Aws => {
            value == "*"
                || is_account_id(value)
                || (value.starts_with("arn:")
                    && value.splitn(6, ':').count() == 6
                    && !value.contains(['*', '?']))
        }
        PrincipalType::Service | PrincipalType::Federated | PrincipalType::CanonicalUser => {
            !value.is_empty() && !value.contains(char::is_whitespace)
        }
    }
}

/// Whether `value` is a 12-digit AWS account id.
pub(crate) fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

fn parse_conditions(value: Json) -> Result<Vec<Condition>, PolicyError> {
    let mut conditions = Vec::new();
    for (name, block) in object(value, "Condition")? {
        let operator = ConditionOperator::parse(&name)
            .ok_or(PolicyError::UnknownConditionOperator { operator: name })?;
        let mut keys = BTreeSet::new();
        for (key, values) in object(block, "Condition")? {
            // Condition keys are case-insensitive, so these are one key.
            if !keys.insert(key.to_ascii_lowercase()) {
                return Err(PolicyError::DuplicateElement { element: key });
            }
            if key
                .split_once(':')
                .is_none_or(|(vendor, _)| vendor.is_empty())
            {
                return Err(PolicyError::MissingVendor { value: key });
            }
            let values = condition_values(values)?;
            if operator.base.is_date()
                && let Some(bad) = values.iter().find(|v| parse_date(v).is_none())
            {
                return Err(PolicyError::InvalidDate { value: bad.clone() });
            }
            conditions.push(Condition {
                operator,
                key,
                values,
            });
        }
    }
    Ok(conditions)
}

/// A condition value: a string, number or boolean, or an array of them.
fn condition_values(value: Json) -> Result<Vec<String>, PolicyError> {
    fn scalar(value: Json) -> Result<String, PolicyError> {
        match value {
            Json::String(s) => Ok(s),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            _ => Err(wrong_type("Condition")),
        }
    }
    match value {
        Json::Array(items) => items.into_iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

/// An action is `*` or `vendor:name`, the vendor made of letters, digits,
/// `-` and `.` (or `*`).
fn validate_action(action: &str) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let mut parts = action.split(':');
    let vendor = parts.next().unwrap_or_default();
    if parts.next().is_none() || vendor.is_empty() {
        return Err(PolicyError::MissingVendor {
            value: action.to_owned(),
        });
    }
    if parts.next().is_some() {
        return Err(PolicyError::TooManyColons {
            action: action.to_owned(),
        });
    }
    if vendor != "*"
        && !vendor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(PolicyError::InvalidVendor {
            vendor: vendor.to_owned(),
        });
    }
    Ok(())
}

/// A resource is `*` or `arn:partition:service:region:account:resource`
/// (wildcards allowed anywhere but in the service).
fn validate_resource(resource: &str) -> Result<(), PolicyError> {
    if resource == "*" {
        return Ok(());
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() < 2 || parts.first() != Some(&"arn") {
        return Err(PolicyError::ResourceNotArn {
            resource: resource.to_owned(),
        });
    }
    if parts
        .get(2)
        .is_none_or(|service| service.is_empty() || service.contains(['*', '?']))
    {
        return Err(PolicyError::ResourceVendor {
            resource: resource.to_owned(),
        });
    }
    if parts.len() < 6 {
        return Err(PolicyError::MalformedArn {
            resource: resource.to_owned(),
        });
    }
    Ok(())
}
