//! Functions Redshift has and DataFusion lacks, or has with other answers.
//!
//! Session-dependent ones (`current_user`, `pg_backend_pid`) are registered
//! per session with that session's values.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::session::SessionInfo;

/// A function of no arguments that returns a value fixed when it is made.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Constant {
    name: &'static str,
    value: ScalarValue,
    signature: Signature,
}

impl Constant {
    fn udf(name: &'static str, value: ScalarValue) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(Constant {
            name,
            value,
            signature: Signature::nullary(Volatility::Stable),
        }))
    }
}

impl ScalarUDFImpl for Constant {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.value.data_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// Registers Redshift's identity and session functions on a session's state.
pub(crate) fn register(state: &mut SessionState, info: &SessionInfo) -> Result<()> {
    let text = |s: &str| ScalarValue::Utf8(Some(s.to_string()));
    let udfs = [
        Constant::udf("version", text(crate::VERSION_STRING)),
        Constant::udf("current_user", text(&info.user)),
        Constant::udf("session_user", text(&info.user)),
        Constant::udf("user", text(&info.user)),
        Constant::udf("current_database", text(&info.database)),
        Constant::udf("current_schema", text(crate::DEFAULT_SCHEMA)),
        Constant::udf("pg_backend_pid", ScalarValue::Int32(Some(info.backend_pid))),
    ];
    register_last_copy(state, -1, 0)?;
    register_last(state, ("pg_last_unload_id", "pg_last_unload_count"), -1, 0)?;
    for udf in udfs {
        state.register_udf(udf)?;
    }
    Ok(())
}

/// `pg_last_copy_id()` and `pg_last_copy_count()`: the last COPY of the
/// session, re-registered after each one.
pub(crate) fn register_last_copy(state: &mut SessionState, id: i64, count: i64) -> Result<()> {
    register_last(state, ("pg_last_copy_id", "pg_last_copy_count"), id, count)
}

/// A pair of `pg_last_*_id()` / `pg_last_*_count()` functions.
pub(crate) fn register_last(
    state: &mut SessionState,
    (id_name, count_name): (&'static str, &'static str),
    id: i64,
    count: i64,
) -> Result<()> {
    state.register_udf(Constant::udf(
        id_name,
        ScalarValue::Int32(Some(i32::try_from(id).unwrap_or(i32::MAX))),
    ))?;
    state.register_udf(Constant::udf(count_name, ScalarValue::Int64(Some(count))))?;
    Ok(())
}
