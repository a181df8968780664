//! IDENTITY columns: `shale_identity(table, column)` hands out each row's
//! value.
//!
//! A column with IDENTITY has this call as its default, so INSERT and
//! MERGE fill it for rows that give no value. Values come from the
//! storage's counter, shared by every session, so concurrent inserts never
//! get the same value; the transaction records how far the counter went, so
//! that after a restart it continues past every committed value.

use std::sync::Arc;

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use shale_storage::Storage;

use crate::catalog::{SharedTx, lock};

pub(crate) const IDENTITY_FUNCTION: &str = "shale_identity";

pub(crate) struct Identity {
    shared: SharedTx,
    storage: Storage,
    signature: Signature,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Identity {}

impl std::hash::Hash for Identity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        IDENTITY_FUNCTION.hash(state);
    }
}

/// The session's identity function.
pub(crate) fn udf(shared: SharedTx, storage: Storage) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Identity {
        shared,
        storage,
        signature: Signature::exact(vec![DataType::Int64, DataType::Int64], Volatility::Volatile),
    }))
}

/// The default expression of an identity column.
pub(crate) fn default_expr(udf: &Arc<ScalarUDF>, table: u64, column: usize) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::clone(udf),
        vec![
            Expr::Literal(ScalarValue::Int64(Some(table as i64)), None),
            Expr::Literal(ScalarValue::Int64(Some(column as i64)), None),
        ],
    ))
}

fn int_arg(v: &ColumnarValue) -> Option<i64> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(n))) => Some(*n),
        _ => None,
    }
}

impl ScalarUDFImpl for Identity {
    fn name(&self) -> &str {
        IDENTITY_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (Some(table), Some(column)) = (
            args.args.first().and_then(int_arg),
            args.args.get(1).and_then(int_arg),
        ) else {
            return exec_err!("{IDENTITY_FUNCTION} takes a table id and a column number");
        };
        let rows = args.number_rows;
        let mut state = lock(&self.shared);
        let tx = state.tx();
        let Some(entry) = u64::try_from(table)
            .ok()
            .and_then(|t| tx.catalog().table_by_id(t).cloned())
        else {
            return exec_err!("{IDENTITY_FUNCTION}: no table {table}");
        };
        let Some((name, step)) = usize::try_from(column)
            .ok()
            .and_then(|i| entry.def.columns.get(i))
            .and_then(|c| c.identity.map(|i| (c.name.clone(), i.step)))
        else {
            return exec_err!("{IDENTITY_FUNCTION}: column {column} is not an identity column");
        };
        let Some(first) = self.storage.reserve_identity(&entry, &name, rows as u64) else {
            return exec_err!("identity column \"{name}\" is out of values");
        };
        let values: Int64Array = (0..rows as i64).map(|i| first + i * step).collect();
        let next = first + rows as i64 * step;
        tx.set_identity(entry.id, &name, next)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        Ok(ColumnarValue::Array(Arc::new(values)))
    }
}
