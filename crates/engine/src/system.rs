//! System tables and functions about users and privileges: `pg_user`,
//! `pg_user_info`, `pg_group`, `pg_shadow` (superusers only),
//! `pg_default_acl`, and `has_table_privilege` / `has_schema_privilege` /
//! `has_database_privilege`. All are read from the session's transaction,
//! so they show its own uncommitted changes.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, BooleanBuilder, Int32Array, Int32Builder, ListBuilder, RecordBatch,
    StringArray, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use shale_storage::access::AclDisplay;
use shale_storage::{AclObject, AclTarget, Catalog, Grantee, Privileges, UserEntry};

use crate::catalog::{SharedTx, TxState, lock};
use crate::privilege::Principal;

/// The names of the tables this module serves.
pub(crate) const TABLES: [&str; 6] = [
    "pg_database",
    "pg_user",
    "pg_user_info",
    "pg_group",
    "pg_shadow",
    "pg_default_acl",
];

/// The table called `name`, if it is one of this module's.
pub(crate) fn table(name: &str, state: &mut TxState) -> Option<Result<Arc<dyn TableProvider>>> {
    if !TABLES.contains(&name) {
        return None;
    }
    let superuser = state.viewer.is_none();
    let catalog = state.tx().view();
    let batch = match name {
        "pg_user" => users(&catalog, false, false),
        "pg_user_info" => users(&catalog, false, true),
        "pg_shadow" if superuser => users(&catalog, true, false),
        "pg_shadow" => {
            return Some(Err(DataFusionError::External(Box::new(
                crate::privilege::denied("relation", "pg_shadow"),
            ))));
        }
        "pg_group" => groups(&catalog),
        "pg_database" => databases(&catalog),
        _ => default_acls(&catalog),
    };
    Some(batch.and_then(|b| {
        Ok(Arc::new(MemTable::try_new(b.schema(), vec![vec![b]])?) as Arc<dyn TableProvider>)
    }))
}

fn config_text(u: &UserEntry) -> Option<String> {
    (!u.config.is_empty()).then(|| {
        let items: Vec<String> = u.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{{{}}}", items.join(","))
    })
}

fn users(catalog: &Catalog, shadow: bool, info: bool) -> Result<RecordBatch> {
    let users: Vec<&Arc<UserEntry>> = catalog.users().collect();
    let mut fields = vec![
        Field::new("usename", DataType::Utf8, false),
        Field::new("usesysid", DataType::Int32, false),
        Field::new("usecreatedb", DataType::Boolean, false),
        Field::new("usesuper", DataType::Boolean, false),
        Field::new("usecatupd", DataType::Boolean, false),
        Field::new("passwd", DataType::Utf8, true),
        Field::new(
            "valuntil",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("useconfig", DataType::Utf8, true),
    ];
    let passwd: StringArray = users
        .iter()
        .map(|u| {
            if shadow {
                u.password.as_ref().map(|p| match &p.sha256 {
                    Some(s) if p.md5.is_empty() => format!("sha256|{s}"),
                    _ => p.md5.clone(),
                })
            } else {
                Some("********".to_string())
            }
        })
        .collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            users.iter().map(|u| u.name.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(users.iter().map(|u| u.id))),
        Arc::new(BooleanArray::from_iter(
            users.iter().map(|u| Some(u.createdb || u.superuser)),
        )),
        Arc::new(BooleanArray::from_iter(
            users.iter().map(|u| Some(u.superuser)),
        )),
        Arc::new(BooleanArray::from_iter(
            users.iter().map(|u| Some(u.superuser)),
        )),
        Arc::new(passwd),
        Arc::new(TimestampMicrosecondArray::from_iter(
            users.iter().map(|u| u.valid_until),
        )),
        Arc::new(StringArray::from_iter(users.iter().map(|u| config_text(u)))),
    ];
    if info {
        fields.push(Field::new("useconnlimit", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter_values(users.iter().map(
            |u| match u.connection_limit {
                Some(n) => n.to_string(),
                None => "UNLIMITED".to_string(),
            },
        ))));
        fields.push(Field::new("usesessiontimeout", DataType::Int32, true));
        columns.push(Arc::new(Int32Array::from_iter(
            users
                .iter()
                .map(|u| u.session_timeout.and_then(|t| i32::try_from(t).ok())),
        )));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn databases(catalog: &Catalog) -> Result<RecordBatch> {
    let names = catalog.databases();
    let owner_id = |d: &str| {
        let owner = crate::privilege::database_owner(catalog, d);
        catalog.user(&owner).map(|u| u.id).unwrap_or(1)
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(names.iter())),
        Arc::new(Int32Array::from_iter_values(
            names.iter().map(|d| owner_id(d)),
        )),
        // 6 is UTF8.
        Arc::new(Int32Array::from_iter_values(names.iter().map(|_| 6))),
        Arc::new(BooleanArray::from_iter(names.iter().map(|_| Some(true)))),
        Arc::new(Int32Array::from_iter_values(names.iter().map(|d| {
            catalog
                .database(d)
                .and_then(|e| e.connection_limit)
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(-1)
        }))),
        Arc::new(StringArray::from_iter(names.iter().map(|d| {
            let acl = catalog.acl(&AclTarget::Object(AclObject::Database(d.clone())));
            (!acl.is_empty()).then(|| acl_text(catalog, acl))
        }))),
    ];
    let schema = Schema::new(vec![
        Field::new("datname", DataType::Utf8, false),
        Field::new("datdba", DataType::Int32, false),
        Field::new("encoding", DataType::Int32, false),
        Field::new("datallowconn", DataType::Boolean, false),
        Field::new("datconnlimit", DataType::Int32, false),
        Field::new("datacl", DataType::Utf8, true),
    ]);
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

fn groups(catalog: &Catalog) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut id = Int32Builder::new();
    let mut list = ListBuilder::new(Int32Builder::new());
    for g in catalog.groups() {
        name.append_value(&g.name);
        id.append_value(g.id);
        for m in &g.members {
            list.values().append_value(*m);
        }
        list.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(name.finish()),
        Arc::new(id.finish()),
        Arc::new(list.finish()),
    ];
    let schema = Schema::new(vec![
        Field::new("groname", DataType::Utf8, false),
        Field::new("grosysid", DataType::Int32, false),
        Field::new(
            "grolist",
            DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        ),
    ]);
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// An ACL list as PostgreSQL prints `aclitem[]`: items in braces, quoted
/// when they hold a space.
pub(crate) fn acl_text(catalog: &Catalog, items: &[shale_storage::AclItem]) -> String {
    let name_of = |g: Grantee| match g {
        Grantee::Public => String::new(),
        Grantee::User(id) => catalog
            .user_by_id(id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| shale_storage::BOOTSTRAP_OWNER.to_string()),
        Grantee::Group(id) => catalog
            .group_by_id(id)
            .map(|g| g.name.clone())
            .unwrap_or_default(),
    };
    let parts: Vec<String> = items
        .iter()
        .map(|item| {
            let text = AclDisplay { item, name_of }.to_string();
            if text.contains(' ') {
                format!("\"{text}\"")
            } else {
                text
            }
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

fn default_acls(catalog: &Catalog) -> Result<RecordBatch> {
    let mut user = Int32Builder::new();
    let mut namespace = Int32Builder::new();
    let mut kind = StringBuilder::new();
    let mut acl = StringBuilder::new();
    for (target, items) in catalog.acls() {
        let AclTarget::Default(key) = target else {
            continue;
        };
        user.append_value(key.owner);
        namespace.append_value(key.schema.and_then(|s| i32::try_from(s).ok()).unwrap_or(0));
        kind.append_value(key.kind.code().to_string());
        acl.append_value(acl_text(catalog, items));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(user.finish()),
        Arc::new(namespace.finish()),
        Arc::new(kind.finish()),
        Arc::new(acl.finish()),
    ];
    let schema = Schema::new(vec![
        Field::new("defacluser", DataType::Int32, false),
        Field::new("defaclnamespace", DataType::Int32, false),
        Field::new("defaclobjtype", DataType::Utf8, false),
        Field::new("defaclacl", DataType::Utf8, false),
    ]);
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// Which `has_*_privilege` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Table,
    Schema,
    Database,
}

/// `has_table_privilege([user,] table, privilege)` and its siblings.
struct HasPrivilege {
    kind: Kind,
    name: &'static str,
    shared: SharedTx,
    /// The session's current user, for the two-argument form.
    user: String,
    signature: Signature,
}

impl std::fmt::Debug for HasPrivilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasPrivilege")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for HasPrivilege {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && Arc::ptr_eq(&self.shared, &other.shared)
            && self.user == other.user
    }
}

impl Eq for HasPrivilege {}

impl std::hash::Hash for HasPrivilege {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.user.hash(state);
    }
}

impl ScalarUDFImpl for HasPrivilege {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts: Vec<Vec<Option<String>>> = arrays
            .iter()
            .map(|a| {
                let a = datafusion::arrow::compute::cast(a, &DataType::Utf8)?;
                let a = a
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|s| s.iter().map(|v| v.map(str::to_string)).collect())
                    .unwrap_or_default();
                Ok(a)
            })
            .collect::<Result<_>>()?;
        let (users, objects, privs) = match texts.as_slice() {
            [o, p] => (None, o, p),
            [u, o, p] => (Some(u), o, p),
            _ => return exec_err!("{} takes two or three arguments", self.name),
        };
        let mut state = lock(&self.shared);
        let catalog = state.tx().view();
        let mut out = BooleanBuilder::with_capacity(rows);
        for i in 0..objects.len() {
            let user = match users {
                Some(u) => u.get(i).cloned().flatten(),
                None => Some(self.user.clone()),
            };
            let (Some(user), Some(Some(object)), Some(Some(privs))) =
                (user, objects.get(i), privs.get(i))
            else {
                out.append_null();
                continue;
            };
            out.append_value(self.holds(&mut state, &catalog, &user, object, privs)?);
        }
        let result: ArrayRef = Arc::new(out.finish());
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

impl HasPrivilege {
    fn holds(
        &self,
        state: &mut TxState,
        catalog: &Catalog,
        user: &str,
        object: &str,
        privs: &str,
    ) -> Result<bool> {
        if catalog.user(user).is_none() {
            return exec_err!("user \"{user}\" does not exist");
        }
        let who = Principal::of(catalog, user);
        let database = state.database.clone();
        let (target, owner, all) = match self.kind {
            Kind::Table => {
                let object = object.to_lowercase();
                let entry = match object.split_once('.') {
                    Some((s, t)) => catalog
                        .schema(&database, s)
                        .and_then(|s| catalog.table(s.id, t).cloned()),
                    None => state.resolve(&object),
                };
                let Some(entry) = entry else {
                    return exec_err!("relation \"{object}\" does not exist");
                };
                (
                    AclObject::Table(entry.id),
                    entry.def.owner.clone(),
                    Privileges::ALL_TABLE,
                )
            }
            Kind::Schema => {
                let Some(s) = catalog.schema(&database, &object.to_lowercase()) else {
                    return exec_err!("schema \"{object}\" does not exist");
                };
                (
                    AclObject::Schema(s.id),
                    s.owner.clone(),
                    Privileges::ALL_SCHEMA,
                )
            }
            Kind::Database => {
                if !catalog.has_database(object) {
                    return exec_err!("database \"{object}\" does not exist");
                }
                (
                    AclObject::Database(object.to_string()),
                    crate::privilege::database_owner(catalog, object),
                    Privileges::ALL_DATABASE,
                )
            }
        };
        let (held, grantable) = who.privileges(catalog, &target, &owner, all);
        // Any of a comma-separated list, as PostgreSQL reads it.
        for p in privs.split(',') {
            let p = p.trim().to_lowercase();
            let (name, with_grant) = match p.strip_suffix("with grant option") {
                Some(n) => (n.trim().to_string(), true),
                None => (p.clone(), false),
            };
            let Some(bit) = privilege_by_name(&name) else {
                return exec_err!("unrecognized privilege type: \"{name}\"");
            };
            let set = if with_grant { grantable } else { held };
            if set.contains(bit) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn privilege_by_name(name: &str) -> Option<Privileges> {
    Some(match name {
        "select" => Privileges::SELECT,
        "insert" => Privileges::INSERT,
        "update" => Privileges::UPDATE,
        "delete" => Privileges::DELETE,
        "references" => Privileges::REFERENCES,
        "drop" => Privileges::DROP,
        "alter" => Privileges::ALTER,
        "truncate" => Privileges::TRUNCATE,
        "create" => Privileges::CREATE,
        "temp" | "temporary" => Privileges::TEMP,
        "usage" => Privileges::USAGE,
        "execute" => Privileges::EXECUTE,
        _ => return None,
    })
}

/// Registers the privilege functions for the session's current user.
pub(crate) fn register(state: &mut SessionState, shared: &SharedTx, user: &str) -> Result<()> {
    for (name, kind) in [
        ("has_table_privilege", Kind::Table),
        ("has_schema_privilege", Kind::Schema),
        ("has_database_privilege", Kind::Database),
    ] {
        state.register_udf(Arc::new(ScalarUDF::from(HasPrivilege {
            kind,
            name,
            shared: Arc::clone(shared),
            user: user.to_string(),
            signature: Signature::variadic_any(Volatility::Stable),
        })))?;
    }
    Ok(())
}
