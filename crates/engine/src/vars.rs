//! Session parameters: the ones drivers and tools SET, SHOW and RESET.
//!
//! Each known parameter has a default, a normaliser that validates a new value
//! (and may rewrite it, as `datestyle` does) and a flag for read-only ones.
//! Unknown names fail as in Redshift: `unrecognized configuration parameter`.

use std::collections::BTreeMap;

/// Where unqualified names are looked up, as Redshift sets it.
pub const DEFAULT_SEARCH_PATH: &str = "$user, public";

use shale_common::SqlState;

use crate::error::{EngineError, Result};

/// How a parameter's new value is checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Any text.
    Text,
    /// An integer within a range.
    Int(i64, i64),
    /// `on` / `off` and the usual synonyms.
    Bool,
    /// Milliseconds, optionally with a unit (`ms`, `s`, `min`, `h`).
    Duration,
    /// `ISO`, optionally with an ordering (`MDY`, `DMY`, `YMD`).
    DateStyle,
    /// A time zone name or offset.
    TimeZone,
    /// `UTF8` and its synonyms only.
    Encoding,
    /// Cannot be changed.
    ReadOnly,
}

struct Def {
    name: &'static str,
    default: &'static str,
    kind: Kind,
}

const DEFS: &[Def] = &[
    Def {
        name: "analyze_threshold_percent",
        default: "10",
        kind: Kind::Text,
    },
    Def {
        name: "application_name",
        default: "",
        kind: Kind::Text,
    },
    Def {
        name: "client_encoding",
        default: "UTF8",
        kind: Kind::Encoding,
    },
    Def {
        name: "datestyle",
        default: "ISO, MDY",
        kind: Kind::DateStyle,
    },
    Def {
        name: "describe_field_name_in_uppercase",
        default: "off",
        kind: Kind::Bool,
    },
    Def {
        name: "enable_case_sensitive_identifier",
        default: "off",
        kind: Kind::Bool,
    },
    Def {
        name: "enable_result_cache_for_session",
        default: "on",
        kind: Kind::Bool,
    },
    Def {
        name: "extra_float_digits",
        default: "0",
        kind: Kind::Int(-15, 3),
    },
    Def {
        name: "integer_datetimes",
        default: "on",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "intervalstyle",
        default: "postgres",
        kind: Kind::Text,
    },
    Def {
        name: "is_superuser",
        default: "off",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "max_concurrency_scaling_clusters",
        default: "1",
        kind: Kind::Int(0, 10),
    },
    Def {
        name: "query_group",
        default: "default",
        kind: Kind::Text,
    },
    Def {
        name: "search_path",
        default: DEFAULT_SEARCH_PATH,
        kind: Kind::Text,
    },
    Def {
        name: "server_encoding",
        default: "UNICODE",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "server_version",
        default: crate::SERVER_VERSION,
        kind: Kind::ReadOnly,
    },
    Def {
        name: "server_version_num",
        default: "80002",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "session_authorization",
        default: "",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "standard_conforming_strings",
        // String literals take backslash escapes, as Redshift's do.
        default: "off",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "statement_timeout",
        default: "0",
        kind: Kind::Duration,
    },
    Def {
        name: "timezone",
        default: "UTC",
        kind: Kind::TimeZone,
    },
    Def {
        name: "transaction_isolation",
        default: "serializable",
        kind: Kind::ReadOnly,
    },
    Def {
        name: "wlm_query_slot_count",
        default: "1",
        kind: Kind::Int(1, 50),
    },
];

/// Maps the spellings clients use onto canonical parameter names.
pub(crate) fn canonical(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "time zone" | "time_zone" => "timezone".into(),
        "transaction isolation level" | "default_transaction_isolation" => {
            "transaction_isolation".into()
        }
        "names" => "client_encoding".into(),
        _ => lower,
    }
}

fn def(name: &str) -> Option<&'static Def> {
    DEFS.iter().find(|d| d.name == name)
}

fn unknown(name: &str) -> EngineError {
    EngineError::sql(
        SqlState::UndefinedObject,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

fn invalid(name: &str, value: &str) -> EngineError {
    EngineError::sql(
        SqlState::InvalidParameterValue,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// The parameters of one session.
#[derive(Debug, Clone)]
pub struct SessionVars {
    values: BTreeMap<&'static str, String>,
}

impl SessionVars {
    /// Defaults, with the values fixed at login.
    pub fn new(user: &str, is_superuser: bool, application_name: Option<&str>) -> Self {
        let mut values: BTreeMap<&'static str, String> = DEFS
            .iter()
            .map(|d| (d.name, d.default.to_string()))
            .collect();
        values.insert("session_authorization", user.to_string());
        values.insert(
            "is_superuser",
            if is_superuser { "on" } else { "off" }.into(),
        );
        if let Some(app) = application_name {
            values.insert("application_name", app.to_string());
        }
        SessionVars { values }
    }

    /// The current value, or `unrecognized configuration parameter`.
    pub fn get(&self, name: &str) -> Result<&str> {
        let key = canonical(name);
        def(&key)
            .and_then(|d| self.values.get(d.name))
            .map(String::as_str)
            .ok_or_else(|| unknown(name.trim()))
    }

    /// Sets a parameter after validating the value; returns the canonical name.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&'static str> {
        let key = canonical(name);
        let d = def(&key).ok_or_else(|| unknown(name.trim()))?;
        let value = normalise(d, value)?;
        self.values.insert(d.name, value);
        Ok(d.name)
    }

    /// Sets a parameter the session itself maintains (read-only ones such as
    /// `session_authorization`), without validation.
    pub(crate) fn set_internal(&mut self, name: &'static str, value: &str) {
        self.values.insert(name, value.to_string());
    }

    /// Restores a parameter's default; returns the canonical name.
    pub fn reset(&mut self, name: &str) -> Result<&'static str> {
        let key = canonical(name);
        let d = def(&key).ok_or_else(|| unknown(name.trim()))?;
        if matches!(d.kind, Kind::ReadOnly) {
            return Err(read_only(d.name));
        }
        self.values.insert(d.name, d.default.to_string());
        Ok(d.name)
    }

    /// Restores every settable parameter's default.
    pub fn reset_all(&mut self) {
        for d in DEFS.iter().filter(|d| !matches!(d.kind, Kind::ReadOnly)) {
            if d.name != "application_name" {
                self.values.insert(d.name, d.default.to_string());
            }
        }
    }

    /// Every parameter and its value, by name.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// `extra_float_digits` as a number.
    pub fn extra_float_digits(&self) -> i32 {
        self.values
            .get("extra_float_digits")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `statement_timeout` in milliseconds (0: none).
    pub fn statement_timeout_ms(&self) -> u64 {
        self.values
            .get("statement_timeout")
            .and_then(|v| parse_duration_ms(v))
            .unwrap_or(0)
    }

    /// The session time zone.
    pub fn timezone(&self) -> &str {
        self.values
            .get("timezone")
            .map(String::as_str)
            .unwrap_or("UTC")
    }
}

fn read_only(name: &str) -> EngineError {
    EngineError::sql(
        SqlState::InvalidParameterValue,
        format!("parameter \"{name}\" cannot be changed"),
    )
}

fn normalise(d: &Def, value: &str) -> Result<String> {
    let v = value.trim();
    match d.kind {
        Kind::ReadOnly => {
            // Setting a read-only parameter to its current spelling is harmless
            // (drivers do `SET standard_conforming_strings = on`).
            if v.eq_ignore_ascii_case(d.default) {
                Ok(d.default.to_string())
            } else {
                Err(read_only(d.name))
            }
        }
        Kind::Text => Ok(v.to_string()),
        Kind::Int(lo, hi) => match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err(EngineError::sql(
                SqlState::InvalidParameterValue,
                format!(
                    "{v} is outside the valid range for parameter \"{}\" ({lo} .. {hi})",
                    d.name
                ),
            )),
            Err(_) => Err(invalid(d.name, v)),
        },
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" | "t" => Ok("on".into()),
            "off" | "false" | "no" | "0" | "f" => Ok("off".into()),
            _ => Err(invalid(d.name, v)),
        },
        Kind::Duration => parse_duration_ms(v)
            .map(|ms| ms.to_string())
            .ok_or_else(|| invalid(d.name, v)),
        Kind::DateStyle => normalise_datestyle(v).ok_or_else(|| invalid(d.name, v)),
        Kind::TimeZone => normalise_timezone(v).ok_or_else(|| invalid(d.name, v)),
        Kind::Encoding => match v.to_ascii_uppercase().replace('-', "").as_str() {
            "UTF8" | "UNICODE" => Ok("UTF8".into()),
            _ => Err(invalid(d.name, v)),
        },
    }
}

fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Only ISO output is produced; the field order for input may be given.
fn normalise_datestyle(v: &str) -> Option<String> {
    let mut order = "MDY";
    for part in v.split(',') {
        match part.trim().to_ascii_uppercase().as_str() {
            "ISO" | "" => {}
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY",
            "DMY" | "EURO" | "EUROPEAN" => order = "DMY",
            "YMD" => order = "YMD",
            _ => return None,
        }
    }
    Some(format!("ISO, {order}"))
}

fn normalise_timezone(v: &str) -> Option<String> {
    let upper = v.to_ascii_uppercase();
    if upper == "UTC" || upper == "GMT" || upper == "Z" || upper == "LOCAL" || upper == "DEFAULT" {
        return Some("UTC".into());
    }
    // An offset such as +05:30 or -8.
    let offset = v.trim_start_matches(['+', '-']);
    if !offset.is_empty() && offset.chars().all(|c| c.is_ascii_digit() || c == ':') {
        return Some(v.to_string());
    }
    // A zone name known to the time zone database.
    v.parse::<datafusion::arrow::array::timezone::Tz>()
        .ok()
        .map(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> SessionVars {
        SessionVars::new("awsuser", true, Some("psql"))
    }

    #[test]
    fn defaults_match_redshift() {
        let v = vars();
        assert_eq!(v.get("DateStyle").ok(), Some("ISO, MDY"));
        assert_eq!(v.get("search_path").ok(), Some("$user, public"));
        assert_eq!(
            v.get("transaction isolation level").ok(),
            Some("serializable")
        );
        assert_eq!(v.get("application_name").ok(), Some("psql"));
        assert_eq!(v.get("server_version").ok(), Some("8.0.2"));
    }

    #[test]
    fn unknown_parameters_are_errors() {
        let e = vars().get("no_such_thing").expect_err("unknown");
        assert_eq!(
            e.message(),
            "unrecognized configuration parameter \"no_such_thing\""
        );
        assert_eq!(e.sqlstate(), SqlState::UndefinedObject);
    }

    #[test]
    fn values_are_validated_and_normalised() {
        let mut v = vars();
        v.set("datestyle", "iso").expect("iso");
        assert_eq!(v.get("datestyle").ok(), Some("ISO, MDY"));
        v.set("extra_float_digits", "3").expect("3");
        assert_eq!(v.extra_float_digits(), 3);
        assert!(v.set("extra_float_digits", "4").is_err());
        v.set("statement_timeout", "2s").expect("2s");
        assert_eq!(v.statement_timeout_ms(), 2000);
        assert!(v.set("client_encoding", "LATIN1").is_err());
        v.set("time zone", "America/New_York").expect("zone");
        assert!(v.set("timezone", "Mars/Olympus").is_err());
        assert!(v.set("server_version", "9.0").is_err());
    }

    #[test]
    fn reset_restores_defaults() {
        let mut v = vars();
        v.set("query_group", "etl").expect("set");
        v.reset("query_group").expect("reset");
        assert_eq!(v.get("query_group").ok(), Some("default"));
    }
}
