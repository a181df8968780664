//! Statements DataFusion plans and runs: queries, DDL and DML.
//!
//! Two Redshift habits are applied on the way out: result columns named the
//! way PostgreSQL names them (`version`, `count`, `?column?` rather than
//! DataFusion's expression text), and PostgreSQL's command tags with row counts.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr as LogicalExpr, LogicalPlan};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_plan::execute_stream;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    self, DataType as SqlType, Expr, Query, SelectItem, SetExpr, Statement,
};

use crate::error::{EngineError, Result};
use crate::session::{Output, Session, merge_param_types};

/// Whether DataFusion plans this statement.
pub(crate) fn is_planned(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Query(_) | Statement::Insert(_) | Statement::Explain { .. }
    )
}

fn returns_rows(stmt: &Statement) -> bool {
    matches!(stmt, Statement::Query(_) | Statement::Explain { .. })
}

/// Plans a statement for internal use (CREATE TABLE AS, DML).
pub(crate) async fn plan_statement(session: &mut Session, stmt: &Statement) -> Result<LogicalPlan> {
    plan(session, stmt).await
}

/// Plans a statement and binds `$n` parameters to it.
pub(crate) async fn plan_with_params(
    session: &mut Session,
    stmt: &Statement,
    params: Vec<ScalarValue>,
) -> Result<LogicalPlan> {
    let plan = plan(session, stmt).await?;
    bind(plan, params)
}

/// Runs a planned query and returns its rows.
pub(crate) async fn execute_plan(
    session: &mut Session,
    plan: LogicalPlan,
) -> Result<datafusion::execution::SendableRecordBatchStream> {
    let physical = session.state.create_physical_plan(&plan).await?;
    Ok(execute_stream(physical, session.task_ctx())?)
}

fn bind(mut plan: LogicalPlan, params: Vec<ScalarValue>) -> Result<LogicalPlan> {
    if params.is_empty() {
        return Ok(plan);
    }
    let types = parameter_types(&plan)?;
    let values = params
        .into_iter()
        .enumerate()
        .map(|(i, v)| match types.get(i).cloned().flatten() {
            Some(ty) if !v.is_null() && v.data_type() != ty => cast_param(v, &ty),
            Some(ty) if v.is_null() => ScalarValue::try_from(&ty),
            _ => Ok(v),
        })
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    plan = plan.with_param_values(ParamValues::from(values))?;
    Ok(plan)
}

async fn plan(session: &mut Session, stmt: &Statement) -> Result<LogicalPlan> {
    // Functions such as now() read the statement's start time.
    session.state.mark_start_execution();
    let mut stmt = stmt.clone();
    crate::view::expand(session, &mut stmt)?;
    distinct_output_names(&mut stmt);
    Ok(session
        .state
        .statement_to_plan(DFStatement::Statement(Box::new(stmt)))
        .await?)
}

/// PostgreSQL allows two result columns with the same expression
/// (`select 1, 1`, `select (select ...), (select ...)`); DataFusion wants
/// distinct names. Where the select list repeats an unaliased expression,
/// each gets an internal alias; the client still sees PostgreSQL's names,
/// which [`output_schema`] takes from the statement as written.
fn distinct_output_names(stmt: &mut Statement) {
    let Statement::Query(q) = stmt else {
        return;
    };
    let SetExpr::Select(select) = q.body.as_mut() else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let repeated = select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) => !seen.insert(e.to_string()),
        _ => false,
    });
    if !repeated {
        return;
    }
    for (i, item) in select.projection.iter_mut().enumerate() {
        if let SelectItem::UnnamedExpr(e) = item
            && !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            *item = SelectItem::ExprWithAlias {
                expr: e.clone(),
                alias: ast::Ident::with_quote('"', format!("?column?{i}")),
            };
        }
    }
}

pub(crate) fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let by_name: HashMap<String, Option<DataType>> = plan.get_parameter_types()?;
    let mut out = vec![None; by_name.len()];
    for (name, ty) in by_name {
        let index = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                EngineError::sql(
                    shale_common::SqlState::SyntaxError,
                    format!("invalid parameter name {name}"),
                )
            })?;
        if index > out.len() {
            out.resize(index, None);
        }
        out[index - 1] = ty;
    }
    Ok(out)
}

/// Parameter types and result columns of a statement, without running it.
pub(crate) async fn describe(
    session: &mut Session,
    stmt: &Statement,
    declared: &[Option<DataType>],
) -> Result<(Vec<DataType>, SchemaRef)> {
    let plan = plan(session, stmt).await?;
    let mut inferred = parameter_types(&plan)?;
    for (index, ty) in cast_hints(stmt) {
        if index >= inferred.len() {
            inferred.resize(index + 1, None);
        }
        if inferred[index].is_none() {
            inferred[index] = Some(ty);
        }
    }
    let params = merge_param_types(declared, inferred);
    let schema = if returns_rows(stmt) {
        output_schema(stmt, plan.schema().inner())
    } else {
        Arc::new(Schema::empty())
    };
    Ok((params, schema))
}

pub(crate) async fn execute(
    session: &mut Session,
    stmt: &Statement,
    params: Vec<ScalarValue>,
) -> Result<Output> {
    let plan = plan(session, stmt).await?;
    let plan = bind(plan, params)?;
    if returns_rows(stmt)
        && let Some(batch) = evaluate_constant_projection(session, &plan)?
    {
        let schema = output_schema(stmt, &batch.schema());
        let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
        return Ok(Output::Rows {
            tag: "SELECT",
            schema,
            stream: Box::pin(stream),
        });
    }
    if matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_)) {
        return Err(EngineError::unsupported("statement not supported"));
    }
    let schema = output_schema(stmt, plan.schema().inner());
    let physical = session.state.create_physical_plan(&plan).await?;
    let stream = execute_stream(physical, session.task_ctx())?;
    if returns_rows(stmt) {
        return Ok(Output::Rows {
            tag: "SELECT",
            schema,
            stream,
        });
    }
    let batches = datafusion::physical_plan::common::collect(stream).await?;
    let tag = match stmt {
        Statement::Insert(_) => format!("INSERT 0 {}", count(&batches)),
        _ => "OK".into(),
    };
    Ok(Output::Command(tag))
}

/// Casts a bound parameter to the type the statement needs, accepting the
/// forms drivers send: pgjdbc sends dates as `2024-02-29 +00` and
/// timestamps with a bare hour offset (`... 10:00:00+00`).
fn cast_param(v: ScalarValue, ty: &DataType) -> datafusion::error::Result<ScalarValue> {
    let err = match v.cast_to(ty) {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    if let ScalarValue::Utf8(Some(text)) = &v {
        let retry = match ty {
            DataType::Date32 => text.split_whitespace().next().map(str::to_string),
            DataType::Timestamp(..) => with_minutes_offset(text),
            _ => None,
        };
        if let Some(t) = retry
            && let Ok(c) = ScalarValue::Utf8(Some(t)).cast_to(ty)
        {
            return Ok(c);
        }
    }
    Err(err)
}

/// `2024-01-02 10:00:00+05` → `2024-01-02 10:00:00+05:00`.
fn with_minutes_offset(text: &str) -> Option<String> {
    let t = text.trim();
    let sign_at = t.rfind(['+', '-'])?;
    let offset = &t[sign_at + 1..];
    (offset.len() == 2 && offset.chars().all(|c| c.is_ascii_digit()) && sign_at > 10)
        .then(|| format!("{t}:00"))
}

/// A `SELECT` without `FROM` (`select 1`, `select version()`, health checks
/// and driver probes) is one row of expressions over nothing. Those
/// expressions are evaluated directly, skipping the optimizer and physical
/// planning, which cost far more than the answer. `None` sends the plan down
/// the ordinary path (anything with a subquery, aggregate or table).
fn evaluate_constant_projection(
    session: &Session,
    plan: &LogicalPlan,
) -> Result<Option<RecordBatch>> {
    let LogicalPlan::Projection(projection) = plan else {
        return Ok(None);
    };
    let LogicalPlan::EmptyRelation(empty) = projection.input.as_ref() else {
        return Ok(None);
    };
    if !empty.produce_one_row
        || projection.expr.iter().any(|e| {
            e.exists(|e| {
                Ok(matches!(
                    e,
                    LogicalExpr::ScalarSubquery(_)
                        | LogicalExpr::Exists(_)
                        | LogicalExpr::InSubquery(_)
                        | LogicalExpr::AggregateFunction(_)
                        | LogicalExpr::WindowFunction(_)
                        | LogicalExpr::Placeholder(_)
                ))
            })
            .unwrap_or(true)
        })
    {
        return Ok(None);
    }
    let state = &session.state;
    let input = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
    let simplifier = ExprSimplifier::new(
        SimplifyContext::builder()
            .with_schema(Arc::clone(&empty.schema))
            .with_config_options(Arc::clone(state.config_options()))
            .with_query_execution_start_time(state.execution_props().query_execution_start_time)
            .build(),
    );
    let mut columns = Vec::with_capacity(projection.expr.len());
    for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
        let simplified = simplifier
            .coerce(expr.clone(), &empty.schema)
            .and_then(|e| simplifier.simplify(e));
        let Ok(physical) = simplified.and_then(|e| state.create_physical_expr(e, &empty.schema))
        else {
            return Ok(None);
        };
        let array = physical.evaluate(&input)?.into_array(1)?;
        let array = if array.data_type() == field.data_type() {
            array
        } else {
            datafusion::arrow::compute::cast(&array, field.data_type())
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?
        };
        columns.push(array);
    }
    let schema = Arc::new(projection.schema.as_arrow().clone());
    let batch = RecordBatch::try_new(schema, columns)
        .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?;
    Ok(Some(batch))
}

/// The row count DataFusion reports for DML, as one UInt64 value.
fn count(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.columns().first())
        .filter_map(|c| c.as_any().downcast_ref::<UInt64Array>())
        .flat_map(|a| a.iter().flatten())
        .sum()
}

/// The result schema with columns named as PostgreSQL names them.
fn output_schema(stmt: &Statement, schema: &SchemaRef) -> SchemaRef {
    let Statement::Query(q) = stmt else {
        return Arc::clone(schema);
    };
    let Some(names) = query_names(q) else {
        return Arc::clone(schema);
    };
    if names.len() != schema.fields().len() || names.iter().all(Option::is_none) {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(names)
        .map(|(f, name)| match name {
            Some(n) => f.as_ref().clone().with_name(n),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// For each output column of a query, the name PostgreSQL would give it, or
/// `None` where DataFusion's name is already right. `None` overall when the
/// columns cannot be lined up with the select list (a wildcard).
fn query_names(q: &Query) -> Option<Vec<Option<String>>> {
    body_names(&q.body)
}

fn body_names(body: &SetExpr) -> Option<Vec<Option<String>>> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
                SelectItem::ExprWithAlias { .. } => Some(None),
                _ => None,
            })
            .collect(),
        SetExpr::Query(q) => query_names(q),
        SetExpr::SetOperation { left, .. } => body_names(left),
        _ => None,
    }
}

fn expr_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
        Expr::Nested(inner) => expr_name(inner).or_else(|| Some("?column?".into())),
        Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase()),
        Expr::Cast { data_type, .. } => Some(type_name(data_type).into()),
        Expr::Case { .. } => Some("case".into()),
        _ => Some("?column?".into()),
    }
}

/// Types of `$n` placeholders that appear directly under a cast
/// (`$1::int`), which DataFusion leaves untyped; PostgreSQL infers them.
fn cast_hints(stmt: &Statement) -> Vec<(usize, DataType)> {
    let mut hints = Vec::new();
    let _ = ast::visit_expressions(stmt, |e| {
        if let Expr::Cast {
            expr, data_type, ..
        } = e
            && let Expr::Value(v) = expr.as_ref()
            && let ast::Value::Placeholder(name) = &v.value
            && let Some(index) = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && index >= 1
            && let Some(ty) = arrow_type(data_type)
        {
            hints.push((index - 1, ty));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    hints
}

/// The Arrow type of a SQL type, for the common scalar types.
fn arrow_type(t: &SqlType) -> Option<DataType> {
    use datafusion::arrow::datatypes::TimeUnit;
    Some(match type_name(t) {
        "int2" => DataType::Int16,
        "int4" => DataType::Int32,
        "int8" => DataType::Int64,
        "float4" => DataType::Float32,
        "float8" => DataType::Float64,
        "varchar" | "bpchar" | "text" => DataType::Utf8,
        "bool" => DataType::Boolean,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => return None,
    })
}

/// PostgreSQL's internal name for a type, which it uses for cast columns.
fn type_name(t: &SqlType) -> &'static str {
    match t {
        SqlType::SmallInt(_) | SqlType::Int2(_) => "int2",
        SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_) => "int4",
        SqlType::BigInt(_) | SqlType::Int8(_) => "int8",
        SqlType::Real | SqlType::Float4 => "float4",
        SqlType::Double(_) | SqlType::DoublePrecision | SqlType::Float8 | SqlType::Float(_) => {
            "float8"
        }
        SqlType::Numeric(_) | SqlType::Decimal(_) | SqlType::Dec(_) => "numeric",
        SqlType::Varchar(_) | SqlType::CharacterVarying(_) | SqlType::CharVarying(_) => "varchar",
        SqlType::Char(_) | SqlType::Character(_) => "bpchar",
        SqlType::Text | SqlType::String(_) => "text",
        SqlType::Boolean | SqlType::Bool => "bool",
        SqlType::Date => "date",
        SqlType::Timestamp(_, ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone) => {
            "timestamptz"
        }
        SqlType::Timestamp(..) => "timestamp",
        SqlType::Time(..) => "time",
        _ => "?column?",
    }
}
