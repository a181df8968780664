//! Views: stored as their query text, expanded where they are used.
//!
//! Before a statement is planned, every table reference that names a view is
//! replaced by the view's query as a derived table with the view's name (and
//! its column names as aliases), until no view is left or views nest
//! deeper than [`MAX_DEPTH`]. Because the text is planned afresh each time,
//! late-binding views (`WITH NO SCHEMA BINDING`) need nothing more: they
//! are bound when used, not when created.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Ident, Statement, TableAlias, TableAliasColumnDef, TableFactor, VisitMut, VisitorMut,
};
use shale_common::SqlState;

use crate::error::{EngineError, Result};
use crate::parse::{Stmt, parse_statements};
use crate::session::Session;

const MAX_DEPTH: usize = 16;

/// Expands the views a statement uses, in place.
pub(crate) fn expand(session: &mut Session, stmt: &mut Statement) -> Result<()> {
    for _ in 0..MAX_DEPTH {
        let mut expander = Expander {
            session,
            error: None,
            changed: false,
        };
        let _ = stmt.visit(&mut expander);
        if let Some(e) = expander.error {
            return Err(e);
        }
        if !expander.changed {
            return Ok(());
        }
    }
    Err(EngineError::sql(
        SqlState::ProgramLimitExceeded,
        "views are nested too deeply",
    ))
}

struct Expander<'a> {
    session: &'a mut Session,
    error: Option<EngineError>,
    changed: bool,
}

impl VisitorMut for Expander<'_> {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, alias, args, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        if args.is_some() {
            return ControlFlow::Continue(());
        }
        let entry = match self.session.find_table(name) {
            Ok(Some(e)) if e.def.is_view() => e,
            Ok(_) => return ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        };
        let sql = entry.def.view_sql.clone().unwrap_or_default();
        let query = match parse_statements(&sql) {
            Ok(mut s) => match s.pop().map(|p| p.stmt) {
                Some(Stmt::Sql(stmt)) => match *stmt {
                    Statement::Query(q) => q,
                    _ => return self.broken(&entry.name),
                },
                _ => return self.broken(&entry.name),
            },
            Err(_) => return self.broken(&entry.name),
        };
        let columns = if entry.def.columns.is_empty() {
            Vec::new()
        } else {
            entry
                .def
                .columns
                .iter()
                .map(|c| TableAliasColumnDef {
                    name: Ident::with_quote('"', &c.name),
                    data_type: None,
                })
                .collect()
        };
        let alias = match alias.take() {
            Some(mut a) => {
                if a.columns.is_empty() {
                    a.columns = columns;
                }
                a
            }
            None => TableAlias {
                explicit: true,
                name: Ident::with_quote('"', &entry.name),
                columns,
                at: None,
            },
        };
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: query,
            alias: Some(alias),
            sample: None,
        };
        self.changed = true;
        ControlFlow::Continue(())
    }
}

impl Expander<'_> {
    fn broken(&mut self, view: &str) -> ControlFlow<()> {
        self.error = Some(EngineError::sql(
            SqlState::InternalError,
            format!("the definition of view \"{view}\" cannot be read"),
        ));
        ControlFlow::Break(())
    }
}
