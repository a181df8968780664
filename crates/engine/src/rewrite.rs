//! Rewrites of the statement tree before DataFusion plans it, for Redshift
//! syntax DataFusion reads differently.
//!
//! - `current_user`, `session_user` and `user` without parentheses are
//!   function calls in Redshift (and PostgreSQL), not column names.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Function, FunctionArgumentList, FunctionArguments, Ident, ObjectName, Statement,
    visit_expressions_mut,
};

/// Applies every rewrite to a statement.
pub(crate) fn rewrite(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e| {
        if let Expr::Identifier(Ident {
            value,
            quote_style: None,
            ..
        }) = e
        {
            let name = value.to_ascii_lowercase();
            if matches!(name.as_str(), "current_user" | "session_user" | "user") {
                *e = call(&name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

fn call(name: &str) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![],
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}
