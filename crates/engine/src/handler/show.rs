//! SHOW of session parameters, and SHOW ALL.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::sql::sqlparser::ast::Ident;

use crate::error::Result;
use crate::session::{Output, Session};

fn name_of(variable: &[Ident]) -> String {
    variable
        .iter()
        .map(|i| i.value.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_all(variable: &[Ident]) -> bool {
    variable.len() == 1 && variable[0].value.eq_ignore_ascii_case("all")
}

/// The column(s) `SHOW` returns: the parameter's name, or name and setting.
pub(crate) fn schema(_session: &Session, variable: &[Ident]) -> SchemaRef {
    if is_all(variable) {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("setting", DataType::Utf8, false),
        ]))
    } else {
        let name = crate::vars::canonical(&name_of(variable));
        Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]))
    }
}

pub(crate) fn execute(session: &mut Session, variable: &[Ident]) -> Result<Output> {
    let schema = schema(session, variable);
    let columns: Vec<Arc<dyn datafusion::arrow::array::Array>> = if is_all(variable) {
        let (names, values): (Vec<&str>, Vec<&str>) = session.vars.all().unzip();
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(values)),
        ]
    } else {
        let value = session.vars.get(&name_of(variable))?;
        vec![Arc::new(StringArray::from(vec![value]))]
    };
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(|e| datafusion::error::DataFusionError::ArrowError(Box::new(e), None))?;
    let stream = MemoryStream::try_new(vec![batch], Arc::clone(&schema), None)?;
    Ok(Output::Rows {
        tag: "SHOW",
        schema,
        stream: Box::pin(stream),
    })
}
