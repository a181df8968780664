//! CREATE / DROP of tables and schemas, and TRUNCATE, on Shale's storage.
//!
//! Each statement becomes ops of the session's transaction, so DDL is
//! transactional as in Redshift: a table created in a block that rolls back
//! never existed. TRUNCATE is the exception Redshift makes: it commits the
//! transaction it runs in.

use std::collections::HashSet;

use datafusion::arrow::datatypes::DataType;
use datafusion::sql::sqlparser::ast::{
    self, DataType as SqlType, ExactNumberInfo, ObjectName, ObjectType, SchemaName, Statement,
};
use shale_common::SqlState;
use shale_storage::types::{MAX_CHAR, MAX_DECIMAL_PRECISION, MAX_VARBYTE, MAX_VARCHAR};
use shale_storage::{ColumnDef, ColumnType, Constraint, Identity, SortStyle, TableDef};

use crate::catalog::lock;
use crate::error::{EngineError, Result};
use crate::parse::create_table::{CreateTable, TableConstraint, folded};
use crate::session::{Output, Session};
use crate::table::write_rows;

pub(crate) async fn create_table(session: &mut Session, ct: &CreateTable) -> Result<Output> {
    let (schema_id, name) = session.creation_target(&ct.name, ct.temporary)?;
    let temporary = ct.temporary || (ct.name.0.len() == 1 && name.starts_with('#'));
    let exists = lock(&session.shared)
        .tx()
        .catalog()
        .table(schema_id, &name)
        .is_some();
    if exists {
        if ct.if_not_exists {
            session.notice(
                "NOTICE",
                SqlState::DuplicateTable,
                &format!("relation \"{name}\" already exists, skipping"),
            );
            return Ok(Output::Command("CREATE TABLE".into()));
        }
        return Err(EngineError::sql(
            SqlState::DuplicateTable,
            format!("relation \"{name}\" already exists"),
        ));
    }

    let mut def = TableDef::new(Vec::new(), session.info.user.clone());
    def.temporary = temporary;
    if let Some((parent, with_defaults)) = &ct.like {
        let parent = session.table_entry(parent)?;
        def.columns = parent.def.columns.clone();
        if !with_defaults {
            for c in &mut def.columns {
                c.default = None;
            }
        }
        def.diststyle = parent.def.diststyle.clone();
        def.distkey = parent.def.distkey.clone();
        def.sortkey = parent.def.sortkey.clone();
        def.sort_style = parent.def.sort_style;
    }
    let mut query_plan = None;
    if let Some(query) = &ct.query {
        let stmt = Statement::Query(query.clone());
        let plan = crate::handler::query::plan_statement(session, &stmt).await?;
        for field in plan.schema().fields() {
            def.columns.push(ColumnDef::new(
                field.name().to_lowercase(),
                column_type_of_arrow(field.data_type(), field.metadata()),
            ));
        }
        query_plan = Some(plan);
    }
    for c in &ct.columns {
        let ty = column_type(&c.data_type)?;
        let identity = match c.identity {
            Some((seed, step, by_default)) => {
                if !matches!(ty, ColumnType::Integer | ColumnType::BigInt) {
                    return Err(EngineError::sql(
                        SqlState::InvalidTableDefinition,
                        format!(
                            "Identity column \"{}\" must be of type INT or BIGINT",
                            c.name
                        ),
                    ));
                }
                if step == 0 {
                    return Err(EngineError::sql(
                        SqlState::InvalidParameterValue,
                        "IDENTITY step cannot be 0",
                    ));
                }
                Some(Identity {
                    seed,
                    step,
                    by_default,
                })
            }
            None => None,
        };
        def.columns.push(ColumnDef {
            name: c.name.clone(),
            ty,
            not_null: c.not_null || c.primary_key,
            default: c.default.as_ref().map(|e| e.to_string()),
            identity,
            encode: c.encode.clone(),
        });
        if c.distkey {
            def.distkey = Some(c.name.clone());
            def.diststyle.get_or_insert_with(|| "KEY".into());
        }
        if c.sortkey {
            def.sortkey.push(c.name.clone());
        }
        if c.primary_key {
            def.constraints.push(Constraint::PrimaryKey {
                columns: vec![c.name.clone()],
            });
        }
        if c.unique {
            def.constraints.push(Constraint::Unique {
                columns: vec![c.name.clone()],
            });
        }
        if let Some((table, cols)) = &c.references {
            def.constraints.push(Constraint::ForeignKey {
                columns: vec![c.name.clone()],
                references: table.clone(),
                referred_columns: cols.clone(),
            });
        }
    }
    for tc in &ct.constraints {
        def.constraints.push(match tc {
            TableConstraint::PrimaryKey(cols) => {
                for col in cols {
                    if let Some(c) = def.columns.iter_mut().find(|c| &c.name == col) {
                        c.not_null = true;
                    }
                }
                Constraint::PrimaryKey {
                    columns: cols.clone(),
                }
            }
            TableConstraint::Unique(cols) => Constraint::Unique {
                columns: cols.clone(),
            },
            TableConstraint::ForeignKey {
                columns,
                table,
                referred,
            } => Constraint::ForeignKey {
                columns: columns.clone(),
                references: table.clone(),
                referred_columns: referred.clone(),
            },
        });
    }
    if let Some(style) = &ct.diststyle {
        def.diststyle = Some(style.clone());
    }
    if let Some(key) = &ct.distkey {
        def.distkey = Some(key.clone());
        def.diststyle.get_or_insert_with(|| "KEY".into());
    }
    if !ct.sortkey.is_empty() {
        def.sortkey = ct.sortkey.clone();
    }
    if ct.interleaved {
        def.sort_style = SortStyle::Interleaved;
    }
    check_definition(&def)?;

    let owner = def.owner.clone();
    let id = {
        let mut state = lock(&session.shared);
        let id = state.tx().create_table(schema_id, &name, def)?;
        crate::handler::access::apply_defaults(state.tx(), id, schema_id, &owner)?;
        id
    };
    let Some(plan) = query_plan else {
        return Ok(Output::Command("CREATE TABLE".into()));
    };
    let entry = session.table_by_id(id)?;
    let stream = crate::handler::query::execute_plan(session, plan).await?;
    let stream = crate::handler::dml::cast_stream(stream, entry.def.arrow_schema());
    let rows = write_rows(&session.storage, &session.shared, &entry, stream).await?;
    Ok(Output::Command(format!("SELECT {rows}")))
}

fn check_definition(def: &TableDef) -> Result<()> {
    let mut seen = HashSet::new();
    for c in &def.columns {
        if !seen.insert(c.name.as_str()) {
            return Err(EngineError::sql(
                SqlState::DuplicateColumn,
                format!("column \"{}\" specified more than once", c.name),
            ));
        }
    }
    if def.columns.is_empty() {
        return Err(EngineError::sql(
            SqlState::InvalidTableDefinition,
            "Tables must have at least one column",
        ));
    }
    let known = |name: &str| def.columns.iter().any(|c| c.name == name);
    for key in def.sortkey.iter().chain(def.distkey.iter()) {
        if !known(key) {
            return Err(EngineError::sql(
                SqlState::UndefinedColumn,
                format!("column \"{key}\" named in key does not exist"),
            ));
        }
    }
    Ok(())
}

/// A Redshift column type from its SQL spelling, with Redshift's defaults
/// (VARCHAR means VARCHAR(256), CHAR means CHAR(1), NUMERIC means (18,0)).
pub(crate) fn column_type(t: &SqlType) -> Result<ColumnType> {
    use SqlType as T;
    let length = |len: &Option<ast::CharacterLength>, default: u32, max: u32, name: &str| {
        let n = match len {
            None => default,
            Some(ast::CharacterLength::Max) => max,
            Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                u32::try_from(*length).unwrap_or(u32::MAX)
            }
        };
        if n == 0 || n > max {
            return Err(EngineError::sql(
                SqlState::InvalidParameterValue,
                format!("length for type {name} cannot exceed {max}"),
            ));
        }
        Ok(n)
    };
    Ok(match t {
        T::SmallInt(_) | T::Int2(_) => ColumnType::SmallInt,
        T::Int(_) | T::Integer(_) | T::Int4(_) => ColumnType::Integer,
        T::BigInt(_) | T::Int8(_) => ColumnType::BigInt,
        T::Real | T::Float4 => ColumnType::Real,
        T::Double(_) | T::DoublePrecision | T::Float8 => ColumnType::Double,
        T::Float(info) => match info {
            ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _)
                if *p <= 24 =>
            {
                ColumnType::Real
            }
            _ => ColumnType::Double,
        },
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => (18, 0),
                ExactNumberInfo::Precision(p) => (*p, 0),
                ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
            };
            if precision == 0 || precision > u64::from(MAX_DECIMAL_PRECISION) {
                return Err(EngineError::sql(
                    SqlState::InvalidParameterValue,
                    format!("NUMERIC precision {precision} must be between 1 and 38"),
                ));
            }
            if scale < 0 || scale as u64 > precision {
                return Err(EngineError::sql(
                    SqlState::InvalidParameterValue,
                    format!("NUMERIC scale {scale} must be between 0 and precision {precision}"),
                ));
            }
            ColumnType::Decimal {
                precision: precision as u8,
                scale: scale as i8,
            }
        }
        T::Boolean | T::Bool => ColumnType::Boolean,
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) | T::Nvarchar(len) => {
            ColumnType::Varchar(length(len, 256, MAX_VARCHAR, "varchar")?)
        }
        T::Text | T::String(_) => ColumnType::Varchar(256),
        T::Char(len) | T::Character(len) => ColumnType::Char(length(len, 1, MAX_CHAR, "char")?),
        T::Date => ColumnType::Date,
        T::Time(_, ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone) => ColumnType::TimeTz,
        T::Time(..) => ColumnType::Time,
        T::Timestamp(_, ast::TimezoneInfo::Tz | ast::TimezoneInfo::WithTimeZone) => {
            ColumnType::TimestampTz
        }
        T::Timestamp(..) | T::Datetime(_) => ColumnType::Timestamp,
        T::Varbinary(len) => ColumnType::Varbyte(binary_length(len.as_ref())?),
        T::Bytea => ColumnType::Varbyte(64_000),
        T::Custom(name, modifiers) => {
            let word = name.to_string().to_lowercase();
            let n = modifiers.first().and_then(|m| m.parse::<u32>().ok());
            match word.as_str() {
                "super" => ColumnType::Super,
                "varbyte" | "varbinary" => match n {
                    Some(n) if n == 0 || n > MAX_VARBYTE => {
                        return Err(EngineError::sql(
                            SqlState::InvalidParameterValue,
                            format!("length for type varbyte cannot exceed {MAX_VARBYTE}"),
                        ));
                    }
                    Some(n) => ColumnType::Varbyte(n),
                    None => ColumnType::Varbyte(64_000),
                },
                "bpchar" => ColumnType::Char(n.unwrap_or(256).min(MAX_CHAR)),
                "timetz" => ColumnType::TimeTz,
                "timestamptz" => ColumnType::TimestampTz,
                "float" => ColumnType::Double,
                _ => {
                    return Err(EngineError::sql(
                        SqlState::UndefinedObject,
                        format!("type \"{word}\" does not exist"),
                    ));
                }
            }
        }
        other => {
            return Err(EngineError::sql(
                SqlState::UndefinedObject,
                format!(
                    "type \"{}\" does not exist",
                    other.to_string().to_lowercase()
                ),
            ));
        }
    })
}

fn binary_length(len: Option<&ast::BinaryLength>) -> Result<u32> {
    match len {
        None => Ok(64_000),
        Some(ast::BinaryLength::Max) => Ok(MAX_VARBYTE),
        Some(ast::BinaryLength::IntegerLength { length }) => {
            let n = u32::try_from(*length).unwrap_or(u32::MAX);
            if n == 0 || n > MAX_VARBYTE {
                return Err(EngineError::sql(
                    SqlState::InvalidParameterValue,
                    format!("length for type varbyte cannot exceed {MAX_VARBYTE}"),
                ));
            }
            Ok(n)
        }
    }
}

/// The column type for a query's output column (CREATE TABLE AS).
fn column_type_of_arrow(
    t: &DataType,
    metadata: &std::collections::HashMap<String, String>,
) -> ColumnType {
    if let Some(ty) = metadata
        .get(shale_storage::types::TYPE_METADATA_KEY)
        .and_then(|n| ColumnType::parse_sql_name(n))
        && ty.arrow_type() == *t
    {
        return ty;
    }
    match t {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => ColumnType::SmallInt,
        DataType::Int32 | DataType::UInt16 => ColumnType::Integer,
        DataType::Int64 | DataType::UInt32 => ColumnType::BigInt,
        DataType::UInt64 => ColumnType::Decimal {
            precision: 20,
            scale: 0,
        },
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => ColumnType::Decimal {
            precision: (*p).min(MAX_DECIMAL_PRECISION),
            scale: (*s).max(0),
        },
        DataType::Float16 | DataType::Float32 => ColumnType::Real,
        DataType::Float64 => ColumnType::Double,
        DataType::Boolean => ColumnType::Boolean,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Time32(_) | DataType::Time64(_) => ColumnType::Time,
        DataType::Timestamp(_, Some(_)) => ColumnType::TimestampTz,
        DataType::Timestamp(_, None) => ColumnType::Timestamp,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            ColumnType::Varbyte(MAX_VARBYTE)
        }
        _ => ColumnType::Varchar(MAX_VARCHAR),
    }
}

pub(crate) async fn create_schema(
    session: &mut Session,
    name: &SchemaName,
    if_not_exists: bool,
) -> Result<Output> {
    let (schema, owner) = match name {
        SchemaName::Simple(n) => (n, None),
        SchemaName::NamedAuthorization(n, auth) => (n, Some(folded(auth))),
        SchemaName::UnnamedAuthorization(_) => {
            return Err(EngineError::unsupported(
                "CREATE SCHEMA AUTHORIZATION without a name",
            ));
        }
    };
    let schema = schema_name(schema)?;
    let owner = owner.unwrap_or_else(|| session.info.user.clone());
    let database = session.info.database.clone();
    let mut state = lock(&session.shared);
    if state.tx().catalog().schema(&database, &schema).is_some() {
        std::mem::drop(state);
        if if_not_exists {
            session.notice(
                "NOTICE",
                SqlState::DuplicateSchema,
                &format!("schema \"{schema}\" already exists, skipping"),
            );
            return Ok(Output::Command("CREATE SCHEMA".into()));
        }
        return Err(EngineError::sql(
            SqlState::DuplicateSchema,
            format!("schema \"{schema}\" already exists"),
        ));
    }
    state.tx().create_schema(&database, &schema, &owner)?;
    Ok(Output::Command("CREATE SCHEMA".into()))
}

fn schema_name(name: &ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [one] => Ok(one
            .as_ident()
            .map(folded)
            .unwrap_or_else(|| one.to_string())),
        _ => Err(EngineError::sql(
            SqlState::SyntaxError,
            format!("improper qualified name (too many dotted names): {name}"),
        )),
    }
}

pub(crate) fn drop_objects(
    session: &mut Session,
    object_type: &ObjectType,
    names: &[ObjectName],
    if_exists: bool,
    cascade: bool,
) -> Result<Output> {
    match object_type {
        ObjectType::Table | ObjectType::View => {
            let is_view = matches!(object_type, ObjectType::View);
            let kind = if is_view { "view" } else { "table" };
            for name in names {
                let Some(entry) = session.find_table(name)? else {
                    let last = name.0.last().map(|p| p.to_string()).unwrap_or_default();
                    if if_exists {
                        session.notice(
                            "NOTICE",
                            SqlState::UndefinedTable,
                            &format!("{kind} \"{last}\" does not exist, skipping"),
                        );
                        continue;
                    }
                    return Err(EngineError::sql(
                        SqlState::UndefinedTable,
                        format!("{kind} \"{last}\" does not exist"),
                    ));
                };
                if entry.def.is_view() != is_view {
                    return Err(EngineError::sql(
                        SqlState::WrongObjectType,
                        format!("\"{}\" is not a {kind}", entry.name),
                    ));
                }
                lock(&session.shared).tx().drop_table(entry.id)?;
            }
            Ok(Output::Command(format!("DROP {}", kind.to_uppercase())))
        }
        ObjectType::Schema => {
            let database = session.info.database.clone();
            for name in names {
                let schema = schema_name(name)?;
                let mut state = lock(&session.shared);
                let Some(entry) = state.tx().catalog().schema(&database, &schema).cloned() else {
                    std::mem::drop(state);
                    if if_exists {
                        session.notice(
                            "NOTICE",
                            SqlState::InvalidSchemaName,
                            &format!("schema \"{schema}\" does not exist, skipping"),
                        );
                        continue;
                    }
                    return Err(EngineError::sql(
                        SqlState::InvalidSchemaName,
                        format!("schema \"{schema}\" does not exist"),
                    ));
                };
                let tables = state.tx().catalog().tables_in(entry.id);
                if !tables.is_empty() && !cascade {
                    return Err(EngineError::Sql {
                        state: SqlState::DependentObjectsStillExist,
                        message: format!(
                            "cannot drop schema {schema} because other objects depend on it"
                        ),
                        detail: None,
                        hint: Some(
                            "Use DROP ... CASCADE to drop the dependent objects too.".into(),
                        ),
                    });
                }
                for t in tables {
                    state.tx().drop_table(t.id)?;
                }
                state.tx().drop_schema(entry.id)?;
            }
            Ok(Output::Command("DROP SCHEMA".into()))
        }
        other => Err(EngineError::unsupported(format!(
            "DROP {other} is not supported"
        ))),
    }
}

/// TRUNCATE empties tables and commits the transaction it runs in.
pub(crate) async fn truncate(session: &mut Session, names: &[ObjectName]) -> Result<Output> {
    for name in names {
        let entry = session.table_entry(name)?;
        let mut state = lock(&session.shared);
        let tx = state.tx();
        tx.mark_read(entry.id);
        let current = tx.catalog().table_by_id(entry.id).cloned();
        if let Some(current) = current {
            for f in current.files.iter() {
                tx.remove_file(entry.id, f.id)?;
            }
        }
    }
    session.commit_now().await?;
    Ok(Output::Command("TRUNCATE TABLE".into()))
}

/// CREATE [OR REPLACE] VIEW. A view with schema binding is planned now, so
/// that its columns are known and a broken query fails here; a late-binding
/// view is checked only when used.
pub(crate) async fn create_view(session: &mut Session, cv: &ast::CreateView) -> Result<Output> {
    if cv.materialized {
        return Err(EngineError::unsupported(
            "CREATE MATERIALIZED VIEW is not supported",
        ));
    }
    let (schema_id, name) = session.creation_target(&cv.name, false)?;
    let existing = lock(&session.shared)
        .tx()
        .catalog()
        .table(schema_id, &name)
        .cloned();
    if let Some(e) = &existing {
        if cv.if_not_exists {
            return Ok(Output::Command("CREATE VIEW".into()));
        }
        if !(cv.or_replace && e.def.is_view()) {
            return Err(EngineError::sql(
                SqlState::DuplicateTable,
                format!("relation \"{name}\" already exists"),
            ));
        }
    }
    let aliases: Vec<String> = cv.columns.iter().map(|c| folded(&c.name)).collect();
    let mut columns = Vec::new();
    if !cv.with_no_schema_binding {
        let stmt = Statement::Query(cv.query.clone());
        let plan = crate::handler::query::plan_statement(session, &stmt).await?;
        let fields = plan.schema().fields();
        if aliases.len() > fields.len() {
            return Err(EngineError::sql(
                SqlState::SyntaxError,
                "CREATE VIEW specifies more column names than columns",
            ));
        }
        for (i, field) in fields.iter().enumerate() {
            let name = aliases
                .get(i)
                .cloned()
                .unwrap_or_else(|| field.name().to_lowercase());
            let ty = column_type_of_arrow(field.data_type(), field.metadata());
            columns.push(ColumnDef::new(name, ty));
        }
    } else {
        for a in &aliases {
            columns.push(ColumnDef::new(a.clone(), ColumnType::Varchar(MAX_VARCHAR)));
        }
    }
    let mut def = TableDef::new(columns, session.info.user.clone());
    def.view_sql = Some(cv.query.to_string());
    def.no_schema_binding = cv.with_no_schema_binding;
    let mut state = lock(&session.shared);
    match existing {
        Some(e) => state.tx().alter_table(e.id, schema_id, &name, def)?,
        None => {
            let owner = def.owner.clone();
            let id = state.tx().create_table(schema_id, &name, def)?;
            crate::handler::access::apply_defaults(state.tx(), id, schema_id, &owner)?;
        }
    }
    Ok(Output::Command("CREATE VIEW".into()))
}
