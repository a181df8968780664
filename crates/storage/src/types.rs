//! Table definitions as the catalog records them: Redshift column types,
//! column options and table attributes.
//!
//! A [`TableDef`] is stored as JSON in the catalog. Every column type maps to
//! exactly one Arrow type ([`ColumnType::arrow_type`]), which is the type of
//! the column in the table's Parquet files and in every batch read from them.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Field metadata key carrying the Redshift type name of a column
/// (`character varying(10)`), so that the wire layer can report `bpchar`
/// for CHAR columns and `varchar` limits.
pub const TYPE_METADATA_KEY: &str = "shale.type";

/// Longest VARCHAR, in bytes.
pub const MAX_VARCHAR: u32 = 65535;
/// Longest CHAR, in bytes.
pub const MAX_CHAR: u32 = 4096;
/// Largest VARBYTE, in bytes.
pub const MAX_VARBYTE: u32 = 1_024_000;
/// Largest DECIMAL precision.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// A Redshift column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    SmallInt,
    Integer,
    BigInt,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Real,
    Double,
    Boolean,
    /// Blank-padded, `n` bytes.
    Char(u32),
    /// At most `n` bytes of UTF-8.
    Varchar(u32),
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    /// Semi-structured values, stored as their JSON text.
    Super,
    /// At most `n` bytes.
    Varbyte(u32),
}

impl ColumnType {
    /// The Arrow type of the column's values.
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnType::SmallInt => DataType::Int16,
            ColumnType::Integer => DataType::Int32,
            ColumnType::BigInt => DataType::Int64,
            ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnType::Real => DataType::Float32,
            ColumnType::Double => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Char(_) | ColumnType::Varchar(_) | ColumnType::Super => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Time | ColumnType::TimeTz => DataType::Time64(TimeUnit::Microsecond),
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            ColumnType::Varbyte(_) => DataType::Binary,
        }
    }

    /// The type as Redshift spells it in catalogs (`format_type`).
    pub fn sql_name(&self) -> String {
        match self {
            ColumnType::SmallInt => "smallint".into(),
            ColumnType::Integer => "integer".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
            ColumnType::Real => "real".into(),
            ColumnType::Double => "double precision".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Char(n) => format!("character({n})"),
            ColumnType::Varchar(n) => format!("character varying({n})"),
            ColumnType::Date => "date".into(),
            ColumnType::Time => "time without time zone".into(),
            ColumnType::TimeTz => "time with time zone".into(),
            ColumnType::Timestamp => "timestamp without time zone".into(),
            ColumnType::TimestampTz => "timestamp with time zone".into(),
            ColumnType::Super => "super".into(),
            ColumnType::Varbyte(n) => format!("varbyte({n})"),
        }
    }

    /// Reads back a name written by [`ColumnType::sql_name`].
    pub fn parse_sql_name(name: &str) -> Option<ColumnType> {
        let arg = |prefix: &str| -> Option<&str> {
            name.strip_prefix(prefix)?
                .strip_prefix('(')?
                .strip_suffix(')')
        };
        Some(match name {
            "smallint" => ColumnType::SmallInt,
            "integer" => ColumnType::Integer,
            "bigint" => ColumnType::BigInt,
            "real" => ColumnType::Real,
            "double precision" => ColumnType::Double,
            "boolean" => ColumnType::Boolean,
            "date" => ColumnType::Date,
            "time without time zone" => ColumnType::Time,
            "time with time zone" => ColumnType::TimeTz,
            "timestamp without time zone" => ColumnType::Timestamp,
            "timestamp with time zone" => ColumnType::TimestampTz,
            "super" => ColumnType::Super,
            _ => {
                if let Some(a) = arg("numeric") {
                    let (p, s) = a.split_once(',')?;
                    ColumnType::Decimal {
                        precision: p.parse().ok()?,
                        scale: s.parse().ok()?,
                    }
                } else if let Some(a) = arg("character varying") {
                    ColumnType::Varchar(a.parse().ok()?)
                } else if let Some(a) = arg("character") {
                    ColumnType::Char(a.parse().ok()?)
                } else if let Some(a) = arg("varbyte") {
                    ColumnType::Varbyte(a.parse().ok()?)
                } else {
                    return None;
                }
            }
        })
    }

    /// The byte limit of a character or binary column.
    pub fn byte_limit(&self) -> Option<u32> {
        match self {
            ColumnType::Char(n) | ColumnType::Varchar(n) | ColumnType::Varbyte(n) => Some(*n),
            _ => None,
        }
    }
}

/// How an IDENTITY column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub seed: i64,
    pub step: i64,
    /// `GENERATED BY DEFAULT AS IDENTITY`: explicit values are accepted.
    pub by_default: bool,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
    /// The DEFAULT expression as SQL text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// The ENCODE option, recorded (lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode: Option<String>,
}

impl ColumnDef {
    /// A nullable column with no default, identity or encoding.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        ColumnDef {
            name: name.into(),
            ty,
            not_null: false,
            default: None,
            identity: None,
            encode: None,
        }
    }
}

/// Sort key styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortStyle {
    #[default]
    Compound,
    Interleaved,
}

/// Constraints recorded but not enforced, as in Redshift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Constraint {
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
    },
    ForeignKey {
        columns: Vec<String>,
        references: String,
        referred_columns: Vec<String>,
    },
}

/// The definition of a table: its columns and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    pub columns: Vec<ColumnDef>,
    /// `EVEN`, `ALL`, `KEY` or `AUTO`; `None` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diststyle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distkey: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sortkey: Vec<String>,
    #[serde(default)]
    pub sort_style: SortStyle,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// The owner's user name.
    pub owner: String,
    /// A temporary table belongs to one session and never outlives it.
    #[serde(default)]
    pub temporary: bool,
    /// A view: its query text. Views have no data files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_sql: Option<String>,
    /// A late-binding view (`WITH NO SCHEMA BINDING`).
    #[serde(default)]
    pub no_schema_binding: bool,
}

impl TableDef {
    /// A table with these columns and no attributes.
    pub fn new(columns: Vec<ColumnDef>, owner: impl Into<String>) -> Self {
        TableDef {
            columns,
            diststyle: None,
            distkey: None,
            sortkey: Vec::new(),
            sort_style: SortStyle::Compound,
            constraints: Vec::new(),
            owner: owner.into(),
            temporary: false,
            view_sql: None,
            no_schema_binding: false,
        }
    }

    /// The Arrow schema of the table's data. Every field carries its Redshift
    /// type name under [`TYPE_METADATA_KEY`]. Fields are nullable in Arrow
    /// even for NOT NULL columns; NOT NULL is checked when rows are written.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                Field::new(&c.name, c.ty.arrow_type(), true).with_metadata(HashMap::from([(
                    TYPE_METADATA_KEY.to_string(),
                    c.ty.sql_name(),
                )]))
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The position of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether this is a view rather than a table.
    pub fn is_view(&self) -> bool {
        self.view_sql.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_round_trip_through_json() {
        let mut def = TableDef::new(
            vec![
                ColumnDef {
                    name: "id".into(),
                    ty: ColumnType::BigInt,
                    not_null: true,
                    default: None,
                    identity: Some(Identity {
                        seed: 1,
                        step: 1,
                        by_default: false,
                    }),
                    encode: Some("az64".into()),
                },
                ColumnDef {
                    name: "price".into(),
                    ty: ColumnType::Decimal {
                        precision: 12,
                        scale: 2,
                    },
                    not_null: false,
                    default: Some("0".into()),
                    identity: None,
                    encode: None,
                },
            ],
            "awsuser",
        );
        def.sortkey = vec!["id".into()];
        def.constraints = vec![Constraint::PrimaryKey {
            columns: vec!["id".into()],
        }];
        let json = serde_json::to_string(&def).expect("serializes");
        let back: TableDef = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, def);
    }

    #[test]
    fn type_names_read_back() {
        for ty in [
            ColumnType::SmallInt,
            ColumnType::Decimal {
                precision: 38,
                scale: 37,
            },
            ColumnType::Char(4096),
            ColumnType::Varchar(65535),
            ColumnType::TimestampTz,
            ColumnType::Varbyte(10),
            ColumnType::Super,
        ] {
            assert_eq!(ColumnType::parse_sql_name(&ty.sql_name()), Some(ty));
        }
    }

    #[test]
    fn arrow_schema_carries_type_names() {
        let def = TableDef::new(vec![ColumnDef::new("c", ColumnType::Char(3))], "u");
        let schema = def.arrow_schema();
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(
            schema
                .field(0)
                .metadata()
                .get(TYPE_METADATA_KEY)
                .map(String::as_str),
            Some("character(3)")
        );
    }
}
