//! `PolicyError`: every way a policy document can be malformed, with the
//! message IAM gives for it.
//!
//! IAM answers all of these with the error code `MalformedPolicyDocument`
//! (S3's `PutBucketPolicy` says `MalformedPolicy`) and a terse message; many
//! different faults share `Syntax errors in policy.`. The variants keep what
//! exactly was wrong in their fields (visible through `Debug`), while
//! `Display` gives IAM's wording, so the HTTP layer can pass it on unchanged.

/// Why a policy document was refused. Variants are sorted by phase: JSON,
/// document elements, statement elements, then the rules of a
/// [`PolicyKind`](crate::PolicyKind).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is not JSON (the position is where parsing stopped).
    #[error("Syntax errors in policy.")]
    InvalidJson {
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
    },
    /// An element has the wrong JSON type (the document is not an object, a
    /// `Statement` is a number, an `Action` array holds an object, ...).
    #[error("Syntax errors in policy.")]
    WrongType {
        /// The element whose value has the wrong type.
        element: String,
    },
    /// The same key appears twice in one JSON object.
    #[error("Syntax errors in policy.")]
    DuplicateElement {
        /// The repeated key.
        element: String,
    },
    /// A key that is not part of the policy grammar, at document or
    /// statement level.
    #[error("Unknown field {field}")]
    UnknownField {
        /// The key as written.
        field: String,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    #[error("Syntax errors in policy.")]
    InvalidVersion {
        /// The version as written.
        version: String,
    },
    /// The document has no `Statement`, or an empty array of them.
    #[error("Syntax errors in policy.")]
    MissingStatement,
    /// Two statements carry the same `Sid`.
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid {
        /// The repeated statement id.
        sid: String,
    },
    /// An identity policy's `Sid` is not alphanumeric.
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
    )]
    InvalidSid {
        /// The statement id as written.
        sid: String,
    },
    /// A statement has no `Effect`.
    #[error("Missing required field Effect")]
    MissingEffect,
    /// `Effect` is neither `Allow` nor `Deny` (IAM's values are
    /// case-sensitive: `allow` fails its "legacy parsing").
    #[error("{}", effect_message(.effect))]
    InvalidEffect {
        /// The effect as written.
        effect: String,
    },
    /// A statement has both `Action` and `NotAction`.
    #[error("Syntax errors in policy.")]
    ActionAndNotAction,
    /// A statement has neither `Action` nor `NotAction`, or an empty list.
    #[error("Policy statement must contain actions.")]
    MissingAction,
    /// An action or condition key without a `vendor:` prefix.
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    MissingVendor {
        /// The action or condition key as written.
        value: String,
    },
    /// An action with more than one colon.
    #[error("Actions/Condition can contain only one colon.")]
    TooManyColons {
        /// The action as written.
        action: String,
    },
    /// An action whose vendor holds characters other than letters, digits,
    /// `-` and `.`.
    #[error("Vendor {vendor} is not valid")]
    InvalidVendor {
        /// The vendor part of the action.
        vendor: String,
    },
    /// A statement has both `Resource` and `NotResource`.
    #[error("Syntax errors in policy.")]
    ResourceAndNotResource,
    /// An identity or resource policy statement has neither `Resource` nor
    /// `NotResource`, or an empty list.
    #[error("Policy statement must contain resources.")]
    MissingResource,
    /// A resource that is neither `*` nor an ARN.
    #[error("Resource {resource} must be in ARN format or \"*\".")]
    ResourceNotArn {
        /// The resource as written.
        resource: String,
    },
    /// An ARN whose service part is missing or has wildcards.
    #[error("Resource vendor must be fully qualified and cannot contain regexes.")]
    ResourceVendor {
        /// The resource as written.
        resource: String,
    },
    /// An ARN with fewer than six colon-separated parts.
    #[error("The policy failed legacy parsing")]
    MalformedArn {
        /// The resource as written.
        resource: String,
    },
    /// A statement has both `Principal` and `NotPrincipal`.
    #[error("Syntax errors in policy.")]
    PrincipalAndNotPrincipal,
    /// An identity policy names a principal (they are implied by whom the
    /// policy is attached to).
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// A trust or resource policy statement has no `Principal` (or an empty
    /// one).
    #[error("Missing required field Principal")]
    MissingPrincipal,
    /// A principal of an unknown type, or a value that cannot name one.
    #[error("Invalid principal in policy: \"{kind}\":\"{value}\"")]
    InvalidPrincipal {
        /// The principal type, upper-cased as IAM prints it (`AWS`,
        /// `SERVICE`, ...).
        kind: String,
        /// The offending value.
        value: String,
    },
    /// An element a trust policy must not have (`Resource`, `NotResource`,
    /// `NotPrincipal`).
    #[error("Has prohibited field {field}")]
    ProhibitedField {
        /// The element's name.
        field: &'static str,
    },
    /// A trust policy action outside `sts:`.
    #[error("AssumeRole policy may only specify STS AssumeRole actions.")]
    TrustActionNotSts {
        /// The action as written.
        action: String,
    },
    /// A condition operator IAM does not know (`StringEqual`, `NullIfExists`,
    /// `ForSomeValues:StringLike`, ...).
    #[error("Syntax errors in policy.")]
    UnknownConditionOperator {
        /// The operator as written.
        operator: String,
    },
    /// A value of a `Date...` condition that is neither an ISO 8601 date
    /// nor epoch seconds.
    #[error("The policy failed legacy parsing")]
    InvalidDate {
        /// The value as written.
        value: String,
    },
}

/// IAM's wording for a bad `Effect`: a miscapitalised `Allow`/`Deny` gets
/// through its grammar check and fails later.
fn effect_message(effect: &str) -> &'static str {
    if effect.eq_ignore_ascii_case("allow") || effect.eq_ignore_ascii_case("deny") {
        "The policy failed legacy parsing"
    } else {
        "Syntax errors in policy."
    }
}
