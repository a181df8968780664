//! Condition operators: the names IAM accepts as keys of a statement's
//! `Condition` block (`StringLike`, `ForAnyValue:StringEqualsIfExists`,
//! `Null`, ...), and how each one compares the request context's values for
//! a key with the values the policy lists.
//!
//! An operator name is an optional set prefix (`ForAnyValue:`,
//! `ForAllValues:`), a base operator, and an optional `IfExists` suffix.
//! For one key, a policy value list is ORed: a request value *satisfies* a
//! positive operator when it compares true with any listed value, and a
//! negated operator (`StringNotEquals`, `NotIpAddress`, ...) when it
//! compares true with none of them. Then:
//!
//! - plain operators hold when a request value satisfies them (keys
//!   normally carry one value);
//! - `ForAnyValue:` holds when at least one request value satisfies it;
//! - `ForAllValues:` holds when every request value does;
//! - a key missing from the context (or with no values) makes positive
//!   operators and `ForAnyValue:` fail, and negated operators and
//!   `ForAllValues:` hold; `...IfExists` always holds then;
//! - `Null` holds for `true` when the key is missing and for `false` when it
//!   is present.

use std::fmt;
use std::net::IpAddr;

use crate::eval::{Context, context_values};
use crate::pattern;

/// A condition operator without its set prefix and `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseOperator {
    /// Case-sensitive string equality.
    StringEquals,
    /// Negated `StringEquals`.
    StringNotEquals,
    /// Case-insensitive string equality.
    StringEqualsIgnoreCase,
    /// Negated `StringEqualsIgnoreCase`.
    StringNotEqualsIgnoreCase,
    /// Case-sensitive match with `*` and `?` wildcards.
    StringLike,
    /// Negated `StringLike`.
    StringNotLike,
    /// Numbers equal.
    NumericEquals,
    /// Negated `NumericEquals`.
    NumericNotEquals,
    /// Request number below the policy's.
    NumericLessThan,
    /// Request number at most the policy's.
    NumericLessThanEquals,
    /// Request number above the policy's.
    NumericGreaterThan,
    /// Request number at least the policy's.
    NumericGreaterThanEquals,
    /// Instants equal (ISO 8601 or epoch seconds).
    DateEquals,
    /// Negated `DateEquals`.
    DateNotEquals,
    /// Request instant before the policy's.
    DateLessThan,
    /// Request instant at or before the policy's.
    DateLessThanEquals,
    /// Request instant after the policy's.
    DateGreaterThan,
    /// Request instant at or after the policy's.
    DateGreaterThanEquals,
    /// `true`/`false`, case-insensitively.
    Bool,
    /// Base64 text equal, byte for byte.
    BinaryEquals,
    /// Request IP address inside the policy's CIDR block (v4 or v6).
    IpAddress,
    /// Negated `IpAddress`.
    NotIpAddress,
    /// ARN match, part by part, with wildcards (the same as `ArnLike`).
    ArnEquals,
    /// ARN match, part by part, with wildcards.
    ArnLike,
    /// Negated `ArnEquals`.
    ArnNotEquals,
    /// Negated `ArnLike`.
    ArnNotLike,
    /// Whether the key is absent (`true`) or present (`false`).
    Null,
}

impl BaseOperator {
    /// Every base operator, in the order IAM's documentation lists them.
    pub const ALL: [BaseOperator; 27] = [
        Self::StringEquals,
        Self::StringNotEquals,
        Self::StringEqualsIgnoreCase,
        Self::StringNotEqualsIgnoreCase,
        Self::StringLike,
        Self::StringNotLike,
        Self::NumericEquals,
        Self::NumericNotEquals,
        Self::NumericLessThan,
        Self::NumericLessThanEquals,
        Self::NumericGreaterThan,
        Self::NumericGreaterThanEquals,
        Self::DateEquals,
        Self::DateNotEquals,
        Self::DateLessThan,
        Self::DateLessThanEquals,
        Self::DateGreaterThan,
        Self::DateGreaterThanEquals,
        Self::Bool,
        Self::BinaryEquals,
        Self::IpAddress,
        Self::NotIpAddress,
        Self::ArnEquals,
        Self::ArnLike,
        Self::ArnNotEquals,
        Self::ArnNotLike,
        Self::Null,
    ];

    /// The operator's name in a policy.
    pub fn name(self) -> &'static str {
        match self {
            Self::StringEquals => "StringEquals",
            Self::StringNotEquals => "StringNotEquals",
            Self::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Self::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            Self::StringLike => "StringLike",
            Self::StringNotLike => "StringNotLike",
            Self::NumericEquals => "NumericEquals",
            Self::NumericNotEquals => "NumericNotEquals",
            Self::NumericLessThan => "NumericLessThan",
            Self::NumericLessThanEquals => "NumericLessThanEquals",
            Self::NumericGreaterThan => "NumericGreaterThan",
            Self::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            Self::DateEquals => "DateEquals",
            Self::DateNotEquals => "DateNotEquals",
            Self::DateLessThan => "DateLessThan",
            Self::DateLessThanEquals => "DateLessThanEquals",
            Self::DateGreaterThan => "DateGreaterThan",
            Self::DateGreaterThanEquals => "DateGreaterThanEquals",
            Self::Bool => "Bool",
            Self::BinaryEquals => "BinaryEquals",
            Self::IpAddress => "IpAddress",
            Self::NotIpAddress => "NotIpAddress",
            Self::ArnEquals => "ArnEquals",
            Self::ArnLike => "ArnLike",
            Self::ArnNotEquals => "ArnNotEquals",
            Self::ArnNotLike => "ArnNotLike",
            Self::Null => "Null",
        }
    }

    /// The operator named `name`, case-sensitively as IAM reads it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operator is the negation of another one
    /// (`StringNotEquals` of `StringEquals`, ...).
    pub fn is_negated(self) -> bool {
        self.positive() != self
    }

    /// The operator a negated one negates; a positive operator itself.
    fn positive(self) -> Self {
        match self {
            Self::StringNotEquals => Self::StringEquals,
            Self::StringNotEqualsIgnoreCase => Self::StringEqualsIgnoreCase,
            Self::StringNotLike => Self::StringLike,
            Self::NumericNotEquals => Self::NumericEquals,
            Self::DateNotEquals => Self::DateEquals,
            Self::NotIpAddress => Self::IpAddress,
            Self::ArnNotEquals => Self::ArnEquals,
            Self::ArnNotLike => Self::ArnLike,
            other => other,
        }
    }

    /// Whether policy variables are substituted in this operator's values
    /// (string and ARN operators).
    pub fn supports_variables(self) -> bool {
        matches!(
            self.positive(),
            Self::StringEquals
                | Self::StringEqualsIgnoreCase
                | Self::StringLike
                | Self::ArnEquals
                | Self::ArnLike
        )
    }

    /// Whether this is one of the `Date...` operators.
    pub(crate) fn is_date(self) -> bool {
        matches!(
            self,
            Self::DateEquals
                | Self::DateNotEquals
                | Self::DateLessThan
                | Self::DateLessThanEquals
                | Self::DateGreaterThan
                | Self::DateGreaterThanEquals
        )
    }

    /// Whether `request` compares true with `policy` under this (positive)
    /// operator; `variables` is the context to substitute `${...}` from.
    fn compare(self, policy: &str, request: &str, variables: Option<&Context>) -> bool {
        let variables = variables.filter(|_| self.supports_variables());
        match self {
            Self::StringEquals => pattern::literal(policy, variables).is_some_and(|p| p == request),
            Self::StringEqualsIgnoreCase => pattern::literal(policy, variables)
                .is_some_and(|p| p.to_lowercase() == request.to_lowercase()),
            Self::StringLike => pattern::tokens(policy, variables, true)
                .is_some_and(|t| pattern::glob(&t, request, false)),
            Self::NumericEquals => numbers(policy, request, |r, p| r == p),
            Self::NumericLessThan => numbers(policy, request, |r, p| r < p),
            Self::NumericLessThanEquals => numbers(policy, request, |r, p| r <= p),
            Self::NumericGreaterThan => numbers(policy, request, |r, p| r > p),
            Self::NumericGreaterThanEquals => numbers(policy, request, |r, p| r >= p),
            Self::DateEquals => dates(policy, request, |r, p| r == p),
            Self::DateLessThan => dates(policy, request, |r, p| r < p),
            Self::DateLessThanEquals => dates(policy, request, |r, p| r <= p),
            Self::DateGreaterThan => dates(policy, request, |r, p| r > p),
            Self::DateGreaterThanEquals => dates(policy, request, |r, p| r >= p),
            Self::Bool => policy.trim().eq_ignore_ascii_case(request.trim()),
            Self::BinaryEquals => policy == request,
            Self::IpAddress => ip_in_block(policy, request),
            Self::ArnEquals | Self::ArnLike => pattern::tokens(policy, variables, true)
                .is_some_and(|t| pattern::arn_like(&t, request)),
            // Negated operators and `Null` are decided in `Condition::holds`.
            Self::StringNotEquals
            | Self::StringNotEqualsIgnoreCase
            | Self::StringNotLike
            | Self::NumericNotEquals
            | Self::DateNotEquals
            | Self::NotIpAddress
            | Self::ArnNotEquals
            | Self::ArnNotLike
            | Self::Null => false,
        }
    }
}

impl fmt::Display for BaseOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a condition treats a key with several values in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOperator {
    /// `ForAnyValue:`: at least one request value must satisfy the operator.
    ForAnyValue,
    /// `ForAllValues:`: every request value must (vacuously true for none).
    ForAllValues,
}

/// A full condition operator as written in a policy, such as
/// `ForAllValues:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    /// The `ForAnyValue:`/`ForAllValues:` prefix, if any.
    pub set: Option<SetOperator>,
    /// The operator proper.
    pub base: BaseOperator,
    /// The `IfExists` suffix: the condition also holds when the key is
    /// missing.
    pub if_exists: bool,
}

impl ConditionOperator {
    /// The operator named `name`, or `None` for a name IAM would refuse
    /// (unknown, miscapitalised, or `Null` with a prefix or suffix).
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let base = BaseOperator::from_name(base)?;
        if base == BaseOperator::Null && (if_exists || set.is_some()) {
            return None;
        }
        Some(Self {
            set,
            base,
            if_exists,
        })
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            Some(SetOperator::ForAnyValue) => f.write_str("ForAnyValue:")?,
            Some(SetOperator::ForAllValues) => f.write_str("ForAllValues:")?,
            None => {}
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// One test of a `Condition` block: an operator, a condition key, and the
/// values the policy lists for it (numbers and booleans kept as their JSON
/// text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: ConditionOperator,
    /// The condition key as written (`aws:SourceIp`); looked up
    /// case-insensitively.
    pub key: String,
    /// The policy's values; any of them may match.
    pub values: Vec<String>,
}

impl Condition {
    /// Whether the condition holds for `context` (see the module docs).
    /// `variables` turns on `${...}` substitution in string and ARN values;
    /// IAM does it only for documents of version `2012-10-17`.
    pub fn holds(&self, context: &Context, variables: bool) -> bool {
        let present = context_values(context, &self.key).filter(|values| !values.is_empty());
        let op = self.operator;
        if op.base == BaseOperator::Null {
            let absent = present.is_none();
            return self.values.iter().any(|v| {
                if v.eq_ignore_ascii_case("true") {
                    absent
                } else if v.eq_ignore_ascii_case("false") {
                    !absent
                } else {
                    false
                }
            });
        }
        let Some(request_values) = present else {
            return op.if_exists
                || match op.set {
                    Some(SetOperator::ForAllValues) => true,
                    Some(SetOperator::ForAnyValue) => false,
                    None => op.base.is_negated(),
                };
        };
        let variables = variables.then_some(context);
        let positive = op.base.positive();
        let satisfies = |request: &String| {
            let matched = self
                .values
                .iter()
                .any(|policy| positive.compare(policy, request, variables));
            matched != op.base.is_negated()
        };
        match op.set {
            Some(SetOperator::ForAllValues) => request_values.iter().all(satisfies),
            Some(SetOperator::ForAnyValue) | None => request_values.iter().any(satisfies),
        }
    }
}

/// Both texts as numbers, compared by `test(request, policy)`; false when
/// either is not a number.
fn numbers(policy: &str, request: &str, test: impl Fn(f64, f64) -> bool) -> bool {
    match (request.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
        (Ok(r), Ok(p)) => test(r, p),
        _ => false,
    }
}

/// Both texts as instants, compared by `test(request, policy)`; false when
/// either is not a date.
fn dates(policy: &str, request: &str, test: impl Fn(i128, i128) -> bool) -> bool {
    match (parse_date(request), parse_date(policy)) {
        (Some(r), Some(p)) => test(r, p),
        _ => false,
    }
}

/// A `Date...` condition value as nanoseconds since the Unix epoch: epoch
/// seconds (`1700000000`) or ISO 8601 (`2024-01-31`, `2024-01-31T12:00:00Z`,
/// `2024-01-31T12:00:00.5+02:00`; a missing zone means UTC).
pub(crate) fn parse_date(text: &str) -> Option<i128> {
    const NANOS: i128 = 1_000_000_000;
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().ok()?;
        return Some(i128::from(seconds) * NANOS);
    }
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = match parts.next() {
        Some(m) => digits(m, 2, 2)?,
        None => 1,
    };
    let day = match parts.next() {
        Some(d) => digits(d, 2, 2)?,
        None => 1,
    };
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let mut nanos = i128::from(days_from_civil(year, month, day)) * 86_400 * NANOS;
    if let Some(time) = time {
        let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
            Some(at) => (time.get(..at)?, time.get(at..)?),
            None => (time, ""),
        };
        let mut fields = clock.split(':');
        let hours = digits(fields.next()?, 2, 2)?;
        let minutes = match fields.next() {
            Some(m) => digits(m, 2, 2)?,
            None => 0,
        };
        let (seconds, fraction) = match fields.next() {
            Some(s) => match s.split_once('.') {
                Some((whole, fraction)) => (digits(whole, 2, 2)?, fraction_nanos(fraction)?),
                None => (digits(s, 2, 2)?, 0),
            },
            None => (0, 0),
        };
        if fields.next().is_some() || hours > 23 || minutes > 59 || seconds > 59 {
            return None;
        }
        let offset = zone_offset_seconds(zone)?;
        let seconds_of_day = hours * 3600 + minutes * 60 + seconds - offset;
        nanos += i128::from(seconds_of_day) * NANOS + i128::from(fraction);
    }
    Some(nanos)
}

/// `text` as a number of `min..=max` ASCII digits.
fn digits(text: &str, min: usize, max: usize) -> Option<i64> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Fractional seconds (`5`, `123456789`) as nanoseconds.
fn fraction_nanos(text: &str) -> Option<i64> {
    let value = digits(text, 1, 9)?;
    let scale = 10_i64.checked_pow(u32::try_from(9 - text.len()).ok()?)?;
    value.checked_mul(scale)
}

/// A zone designator (``, `Z`, `+02:00`, `-0530`, `+02`) as seconds east of
/// UTC.
fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = if let Some(rest) = zone.strip_prefix('+') {
        (1, rest)
    } else {
        (-1, zone.strip_prefix('-')?)
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (digits(h, 2, 2)?, digits(m, 2, 2)?),
        None if rest.len() == 4 => (digits(rest.get(..2)?, 2, 2)?, digits(rest.get(2..)?, 2, 2)?),
        None => (digits(rest, 2, 2)?, 0),
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Whether the address `request` lies in `block` (`203.0.113.0/24`,
/// `2001:db8::/32`, or a single address). An IPv4-mapped IPv6 request
/// address is compared as IPv4.
fn ip_in_block(block: &str, request: &str) -> bool {
    let (network, prefix) = match block.trim().split_once('/') {
        Some((network, prefix)) => match prefix.parse::<u32>() {
            Ok(prefix) => (network, Some(prefix)),
            Err(_) => return false,
        },
        None => (block.trim(), None),
    };
    let (Ok(network), Ok(address)) = (network.parse::<IpAddr>(), request.trim().parse::<IpAddr>())
    else {
        return false;
    };
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match (network, address) {
        (IpAddr::V4(network), IpAddr::V4(address)) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return false;
            }
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(network) & mask == u32::from(address) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(address)) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return false;
            }
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(network) & mask == u128::from(address) & mask
        }
        _ => false,
    }
}
