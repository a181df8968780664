//! SET and RESET of session parameters.

use datafusion::sql::sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, Reset, ResetStatement, Set, Value,
};

use crate::error::{EngineError, Result};
use crate::session::{Output, Session};

pub(crate) fn execute(session: &mut Session, set: &Set) -> Result<Output> {
    match set {
        Set::SingleAssignment {
            variable, values, ..
        } => assign(session, &name_of(variable), values)?,
        Set::MultipleAssignments { assignments } => {
            for a in assignments {
                assign(session, &name_of(&a.name), std::slice::from_ref(&a.value))?;
            }
        }
        Set::SetTimeZone { value, .. } => assign(session, "timezone", std::slice::from_ref(value))?,
        Set::SetNames { charset_name, .. } => {
            let name = session.vars.set("client_encoding", &charset_name.value)?;
            apply(session, name);
        }
        // Redshift runs every transaction serializable; accept the request.
        Set::SetTransaction { .. } => {}
        other => {
            return Err(EngineError::unsupported(format!(
                "statement not supported: {other}"
            )));
        }
    }
    Ok(Output::Command("SET".into()))
}

pub(crate) fn reset(session: &mut Session, reset: &ResetStatement) -> Result<Output> {
    match &reset.reset {
        Reset::ALL => session.vars.reset_all(),
        Reset::ConfigurationParameter(name) => {
            let name = session.vars.reset(&name_of(name))?;
            apply(session, name);
        }
    }
    apply(session, "timezone");
    apply(session, "search_path");
    Ok(Output::Command("RESET".into()))
}

fn assign(session: &mut Session, name: &str, values: &[Expr]) -> Result<()> {
    let texts: Vec<String> = values.iter().map(value_text).collect();
    let is_default = texts.len() == 1 && texts[0].eq_ignore_ascii_case("default");
    let canonical = if is_default {
        session.vars.reset(name)?
    } else {
        session.vars.set(name, &texts.join(", "))?
    };
    apply(session, canonical);
    Ok(())
}

/// Carries a parameter's new value into DataFusion where it matters there.
fn apply(session: &mut Session, name: &str) {
    if name == "timezone" {
        let tz = session.vars.timezone().to_string();
        session.state.config_mut().options_mut().execution.time_zone = Some(tz);
        session.config_changed();
    }
    if name == "search_path" {
        session.search_path_changed();
    }
}

/// `datestyle`, `"DateStyle"`, `my.setting` → the name as text.
pub(crate) fn name_of(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The text of a SET value: `'ISO'`, `ISO`, `3`, `-1`, `on` all work.
fn value_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s)
            | Value::DoubleQuotedString(s)
            | Value::EscapedStringLiteral(s) => s.clone(),
            Value::Number(n, _) => n.to_string(),
            Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(parts) => parts
            .iter()
            .map(|i| i.value.clone())
            .collect::<Vec<_>>()
            .join("."),
        Expr::UnaryOp { op, expr } => format!("{op}{}", value_text(expr)),
        other => other.to_string(),
    }
}
