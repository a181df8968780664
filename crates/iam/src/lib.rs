//! AWS IAM's policy language for Shale: policy documents parsed from AWS's
//! JSON grammar into typed values, and requests decided against them the way
//! IAM decides them.
//!
//! - `policy`: [`PolicyDocument::parse`] and the document model
//!   (statements, effects, action/resource/principal elements). A
//!   [`PolicyKind`] says which flavour of document is expected: an identity
//!   policy (`create-policy --policy-document`), a role trust policy
//!   (`create-role --assume-role-policy-document`) or a resource policy
//!   (an S3 bucket policy). Malformed documents fail with a [`PolicyError`]
//!   whose text reads like IAM's `MalformedPolicyDocument` messages.
//! - `condition`: the condition operators (`StringLike`,
//!   `ForAnyValue:StringEqualsIfExists`, `Null`, ...) and how each compares
//!   request values with policy values.
//! - `eval`: [`evaluate`], [`Request`], [`Decision`] and [`trust_allows`].
//! - `s3`: the IAM action and resource ARN of each S3 API operation
//!   ([`s3_authorization`]).
//! - `managed`: the AWS managed policies users attach by ARN
//!   ([`managed_policy`]).
//! - `pattern` and `json` are internal: wildcard patterns with policy
//!   variables, and an order-preserving JSON value that keeps duplicate keys
//!   so they can be refused.
//!
//! # How a request is decided
//!
//! A [`Request`] is an action (`s3:GetObject`), a resource ARN
//! (`arn:aws:s3:::bucket/key`), optionally the principal making it, and a
//! request context: condition keys (`aws:username`, `s3:prefix`, ...) with
//! their values. [`evaluate`] reads every statement of every policy it is
//! given, in any order, and:
//!
//! 1. A statement **applies** when all of these hold:
//!    - its `Action` names the action (any of its patterns matches), or its
//!      `NotAction` does not (none of its patterns matches);
//!    - its `Resource` names the resource, or its `NotResource` does not; a
//!      statement with neither (a trust policy's) applies to any resource;
//!    - its `Principal` names the request's principal, or its `NotPrincipal`
//!      does not; a statement with neither (an identity policy's) applies to
//!      any principal;
//!    - every condition holds (the operators of a `Condition` block are
//!      ANDed, so are the keys under one operator; the values listed for one
//!      key are ORed).
//! 2. If any applying statement has `"Effect": "Deny"`, the decision is
//!    [`Decision::ExplicitDeny`], whatever allows there are and in whatever
//!    order the statements come.
//! 3. Otherwise, if any applying statement has `"Effect": "Allow"`, the
//!    decision is [`Decision::Allow`].
//! 4. Otherwise it is [`Decision::ImplicitDeny`]: everything not allowed is
//!    denied.
//!
//! Matching rules:
//!
//! - Actions match case-insensitively, with `*` (any run of characters,
//!   also none) and `?` (exactly one character): `s3:Get*`, `s3:*`, `*`.
//! - Resources match case-sensitively with the same wildcards, over the
//!   whole ARN: `arn:aws:s3:::bucket/*`, `arn:aws:s3:::bucket*`.
//! - Policy variables (`${aws:username}`, generally `${key}` with an
//!   optional default `${key, 'default'}`, and the escapes `${*}`, `${?}`,
//!   `${$}`) are replaced in `Resource`/`NotResource` and in the values of
//!   string and ARN conditions, from the request context, only in documents
//!   whose `Version` is `2012-10-17` (older documents read them literally,
//!   as IAM does). A substituted value is literal text: its `*` is not a
//!   wildcard. A variable whose key is missing (and has no default) makes
//!   its pattern match nothing.
//! - Condition keys are case-insensitive; values are compared as each
//!   operator says. A condition whose key is missing from the context fails,
//!   except that negated operators (`StringNotEquals`, `ArnNotLike`, ...)
//!   then hold, `...IfExists` operators then hold, `ForAllValues:` then
//!   holds (and `ForAnyValue:` fails), and `Null` tests exactly for absence.
//!
//! **What is deliberately absent.** Only the statements of the documents
//! handed in are weighed. Combining policy *types* is the caller's job:
//! service control policies, permission boundaries and session policies
//! (each must also allow), and cross-account access (the identity policy in
//! one account *and* the resource policy in the other must both allow). The
//! request context is whatever the caller fills in: this crate invents no
//! `aws:CurrentTime` or `aws:SecureTransport`.
//!
//! # The account
//!
//! [`Account`] is the one AWS account Shale plays: IAM users and their
//! access keys, roles with trust policies, customer managed policies and
//! attachments, the temporary credentials STS issued, the roles associated
//! with the cluster and the database passwords the Redshift credentials API
//! issued. It answers "whose key is this?" ([`Account::credential`]) and
//! "may this identity do that?" ([`Account::authorize`]) for the S3 API,
//! the IAM/STS/Redshift APIs and COPY/UNLOAD alike, so all three decide the
//! same way. It persists itself to one JSON file, durably, before a change
//! is acknowledged.
//!
//! **Architecture Invariant:** this crate knows no SQL and no HTTP; the
//! policy language is pure functions over strings, the account's only I/O
//! is its own file, and nothing reachable from a policy text, a request or
//! that file panics.

#![warn(missing_docs)]

mod account;
mod condition;
mod error;
mod eval;
mod json;
mod managed;
mod pattern;
mod policy;
mod s3;
#[cfg(test)]
mod tests;

pub use account::{
    AccessKey, Account, AssumeRefusal, ClusterRoles, Credential, DEFAULT_ROLE, DbLogin, DbPassword,
    Document, IamError, Identity, ManagedPolicy as CustomerPolicy, OpenError, REDSHIFT_SERVICE,
    Role, SessionFault, Target, TemporaryCredentials, User,
};
pub use condition::{BaseOperator, Condition, ConditionOperator, SetOperator};
pub use error::PolicyError;
pub use eval::{Context, Decision, Principal, Request, TrustPrincipal, evaluate, trust_allows};
pub use managed::{MANAGED_POLICIES, ManagedPolicy, managed_policy};
pub use policy::{
    ActionElement, Effect, PolicyDocument, PolicyKind, PolicyVersion, PrincipalElement,
    PrincipalType, Principals, ResourceElement, Statement,
};
pub use s3::{s3_action, s3_authorization, s3_bucket_arn, s3_object_arn};
