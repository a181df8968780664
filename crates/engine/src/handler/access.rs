//! Users, groups, GRANT / REVOKE, default privileges and session
//! authorization. Every change is an op of the session's transaction, so it
//! commits (or rolls back) with the statements around it.

use datafusion::sql::sqlparser::ast::ObjectName;
use shale_common::SqlState;
use shale_common::password;
use shale_storage::access::SYSTEM_ROLE_ID;
use shale_storage::{
    AclItem, AclObject, AclTarget, Catalog, DefaultAclKey, DefaultKind, Grantee, GroupEntry,
    ObjectId, PasswordHash, Privileges, RoleId, Transaction, UserEntry,
};

use crate::catalog::lock;
use crate::error::{EngineError, Result};
use crate::parse::access::{
    AccessStmt, AlterGroup, AlterUser, DefaultObjects, DefaultPrivileges, Grant, GrantObjects,
    GranteeSpec, PasswordSpec, Privilege, Privileges as PrivilegeSpec, Revoke, UserOption,
};
use crate::privilege::{Principal, denied};
use crate::session::{Output, Session};

/// `SESSION TIMEOUT` bounds, in seconds.
const SESSION_TIMEOUT: std::ops::RangeInclusive<i64> = 60..=1_728_000;

pub(crate) async fn execute(session: &mut Session, stmt: &AccessStmt) -> Result<Output> {
    match stmt {
        AccessStmt::SetSessionAuthorization(user) => set_session_authorization(session, user),
        AccessStmt::CreateDatabase {
            name,
            owner,
            connection_limit,
            case_insensitive,
        } => {
            create_database(
                session,
                name,
                owner.as_deref(),
                *connection_limit,
                *case_insensitive,
            )?;
            Ok(Output::Command("CREATE DATABASE".into()))
        }
        AccessStmt::DropDatabase { name } => {
            drop_database(session, name)?;
            Ok(Output::Command("DROP DATABASE".into()))
        }
        AccessStmt::CreateUser { name, options } => {
            superuser_only(session, "create users")?;
            create_user(session, name, options)?;
            Ok(Output::Command("CREATE USER".into()))
        }
        AccessStmt::AlterUser { name, change } => {
            alter_user(session, name, change)?;
            Ok(Output::Command("ALTER USER".into()))
        }
        AccessStmt::DropUser { if_exists, names } => {
            superuser_only(session, "drop users")?;
            drop_users(session, names, *if_exists)?;
            Ok(Output::Command("DROP USER".into()))
        }
        AccessStmt::CreateGroup { name, users } => {
            superuser_only(session, "create groups")?;
            create_group(session, name, users)?;
            Ok(Output::Command("CREATE GROUP".into()))
        }
        AccessStmt::AlterGroup { name, change } => {
            superuser_only(session, "alter groups")?;
            alter_group(session, name, change)?;
            Ok(Output::Command("ALTER GROUP".into()))
        }
        AccessStmt::DropGroup { name } => {
            superuser_only(session, "drop groups")?;
            drop_group(session, name)?;
            Ok(Output::Command("DROP GROUP".into()))
        }
        AccessStmt::Grant(g) => {
            grant(session, g)?;
            Ok(Output::Command("GRANT".into()))
        }
        AccessStmt::Revoke(r) => {
            revoke(session, r)?;
            Ok(Output::Command("REVOKE".into()))
        }
        AccessStmt::AlterDefaultPrivileges(d) => {
            default_privileges(session, d)?;
            Ok(Output::Command("ALTER DEFAULT PRIVILEGES".into()))
        }
    }
}

fn outside_block(session: &Session, what: &str) -> Result<()> {
    if session.tx != crate::session::TxStatus::Idle {
        return Err(EngineError::sql(
            SqlState::ActiveSqlTransaction,
            format!("{what} cannot run inside a transaction block"),
        ));
    }
    Ok(())
}

fn create_database(
    session: &mut Session,
    name: &str,
    owner: Option<&str>,
    connection_limit: Option<Option<i64>>,
    case_insensitive: bool,
) -> Result<()> {
    outside_block(session, "CREATE DATABASE")?;
    let (me, catalog) = me(session);
    let may = me.superuser || catalog.user(&me.name).is_some_and(|u| u.createdb);
    if !may {
        return Err(EngineError::sql(
            SqlState::InsufficientPrivilege,
            "permission denied to create database",
        ));
    }
    if case_insensitive {
        return Err(EngineError::unsupported(
            "COLLATE CASE_INSENSITIVE databases are not supported",
        ));
    }
    let owner = owner.map(str::to_string).unwrap_or_else(|| me.name.clone());
    if catalog.user(&owner).is_none() {
        return Err(no_user(&owner));
    }
    let limit = match connection_limit.flatten() {
        None => None,
        Some(n) => {
            Some(u32::try_from(n).map_err(|_| invalid(format!("invalid connection limit: {n}")))?)
        }
    };
    lock(&session.shared)
        .tx()
        .create_database(name, &owner, limit)?;
    Ok(())
}

fn drop_database(session: &mut Session, name: &str) -> Result<()> {
    outside_block(session, "DROP DATABASE")?;
    let (me, catalog) = me(session);
    if !catalog.has_database(name) {
        return Err(EngineError::sql(
            SqlState::InvalidCatalogName,
            format!("database \"{name}\" does not exist"),
        ));
    }
    let owner = catalog
        .database(name)
        .map(|d| d.owner.clone())
        .unwrap_or_else(|| shale_storage::BOOTSTRAP_OWNER.to_string());
    if !me.superuser && owner != me.name {
        return Err(crate::privilege::not_owner("database", name));
    }
    if name == session.info.database {
        return Err(EngineError::sql(
            SqlState::ObjectInUse,
            "cannot drop the currently open database",
        ));
    }
    if session.counted.sessions_in(name) > 0 {
        return Err(EngineError::sql(
            SqlState::ObjectInUse,
            format!("database \"{name}\" is being accessed by other users"),
        ));
    }
    let mut state = lock(&session.shared);
    let tx = state.tx();
    for schema in catalog.schemas(name) {
        for t in catalog.tables_in(schema.id) {
            tx.drop_table(t.id)?;
        }
        tx.drop_schema(schema.id)?;
    }
    tx.drop_database(name)?;
    Ok(())
}

/// The stored forms of a clear-text password.
pub(crate) fn password_hash(user: &str, clear: &str) -> PasswordHash {
    PasswordHash {
        md5: password::md5_hash(user, clear),
        scram: Some(password::scram_verifier(clear)),
        sha256: None,
    }
}

/// The session user as the checks see it.
fn me(session: &mut Session) -> (Principal, std::sync::Arc<Catalog>) {
    let catalog = session.catalog_view();
    (session.principal(&catalog), catalog)
}

fn superuser_only(session: &mut Session, what: &str) -> Result<()> {
    let (me, _) = me(session);
    if me.superuser {
        Ok(())
    } else {
        Err(EngineError::sql(
            SqlState::InsufficientPrivilege,
            format!("must be superuser to {what}"),
        ))
    }
}

fn no_user(name: &str) -> EngineError {
    EngineError::sql(
        SqlState::UndefinedObject,
        format!("user \"{name}\" does not exist"),
    )
}

fn no_group(name: &str) -> EngineError {
    EngineError::sql(
        SqlState::UndefinedObject,
        format!("group \"{name}\" does not exist"),
    )
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::sql(SqlState::InvalidParameterValue, message)
}

/// The hash a PASSWORD clause stores (`None` for DISABLE).
fn password_of(user: &str, spec: &PasswordSpec, superuser: bool) -> Result<Option<PasswordHash>> {
    let text = match spec {
        PasswordSpec::Disable if superuser => {
            return Err(invalid("cannot disable the password of a superuser"));
        }
        PasswordSpec::Disable => return Ok(None),
        PasswordSpec::Text(t) => t,
    };
    if password::is_md5_form(text) {
        return Ok(Some(PasswordHash {
            md5: text.to_lowercase(),
            scram: None,
            sha256: None,
        }));
    }
    let clear = match text.strip_prefix("sha256|") {
        Some(rest) if rest.contains('|') => {
            return match password::sha256_form(rest) {
                Some(stored) => Ok(Some(PasswordHash {
                    md5: String::new(),
                    scram: None,
                    sha256: Some(stored),
                })),
                None => Err(invalid(
                    "invalid SHA-256 password: expected 'sha256|<64 hex digits of the digest>|<64 hex digits of the 256-bit salt>'",
                )),
            };
        }
        Some(rest) => rest,
        None => text.as_str(),
    };
    password::check_rules(clear).map_err(invalid)?;
    Ok(Some(password_hash(user, clear)))
}

/// `VALID UNTIL` as microseconds since the epoch (`None` for infinity).
fn valid_until(text: &str) -> Result<Option<i64>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("infinity") {
        return Ok(None);
    }
    let full = if t.len() == 10 {
        format!("{t} 00:00:00")
    } else {
        t.to_string()
    };
    datafusion::arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(&full)
        .map(|n| Some(n / 1000))
        .map_err(|_| {
            EngineError::sql(
                SqlState::InvalidDatetimeFormat,
                format!("invalid input syntax for type abstime: \"{text}\""),
            )
        })
}

/// Applies CREATE / ALTER USER options to an entry.
fn apply_options(user: &mut UserEntry, options: &[UserOption]) -> Result<()> {
    // Superuser status first: PASSWORD DISABLE depends on it.
    for o in options {
        if let UserOption::CreateUser(s) = o {
            user.superuser = *s;
        }
    }
    for o in options {
        match o {
            UserOption::Password(spec) => {
                user.password = password_of(&user.name, spec, user.superuser)?;
            }
            UserOption::CreateDb(b) => user.createdb = *b,
            UserOption::CreateUser(_) | UserOption::InGroup(_) | UserOption::ExternalId(_) => {}
            UserOption::SyslogUnrestricted(b) => user.syslog_unrestricted = *b,
            UserOption::ValidUntil(t) => user.valid_until = valid_until(t)?,
            UserOption::ConnectionLimit(n) => {
                user.connection_limit = match n {
                    None => None,
                    Some(n) if *n >= 0 => Some(u32::try_from(*n).unwrap_or(u32::MAX)),
                    Some(n) => return Err(invalid(format!("invalid connection limit: {n}"))),
                }
            }
            UserOption::SessionTimeout(n) => {
                if !SESSION_TIMEOUT.contains(n) {
                    return Err(invalid(format!(
                        "SESSION TIMEOUT must be between {} and {} seconds",
                        SESSION_TIMEOUT.start(),
                        SESSION_TIMEOUT.end()
                    )));
                }
                user.session_timeout = u32::try_from(*n).ok();
            }
        }
    }
    Ok(())
}

fn check_user_name(name: &str) -> Result<()> {
    if name.eq_ignore_ascii_case("public") {
        return Err(EngineError::sql(
            SqlState::ReservedName,
            format!("user name \"{name}\" is reserved"),
        ));
    }
    Ok(())
}

fn create_user(session: &mut Session, name: &str, options: &[UserOption]) -> Result<()> {
    check_user_name(name)?;
    if !options.iter().any(|o| matches!(o, UserOption::Password(_))) {
        return Err(EngineError::sql(
            SqlState::SyntaxError,
            "CREATE USER needs a PASSWORD clause (a password or DISABLE)",
        ));
    }
    let id = session.storage.new_role_id();
    let mut user = UserEntry::new(id, name);
    apply_options(&mut user, options)?;
    let mut state = lock(&session.shared);
    let tx = state.tx();
    let mut groups = Vec::new();
    for o in options {
        if let UserOption::InGroup(names) = o {
            for g in names {
                let group = tx.catalog().group(g).ok_or_else(|| no_group(g))?;
                groups.push(group.id);
            }
        }
    }
    tx.create_user(user)?;
    for g in groups {
        tx.set_membership(g, id, true)?;
    }
    Ok(())
}

fn alter_user(session: &mut Session, name: &str, change: &AlterUser) -> Result<()> {
    let (me, catalog) = me(session);
    let current = catalog.user(name).cloned().ok_or_else(|| no_user(name))?;
    // A user may change its own password; everything else is for superusers.
    let own_password = me.id == Some(current.id)
        && matches!(change, AlterUser::Options(o)
            if o.iter().all(|o| matches!(o, UserOption::Password(PasswordSpec::Text(_)))));
    if !me.superuser && !own_password {
        return Err(denied("user", name));
    }
    let mut user = current.as_ref().clone();
    match change {
        AlterUser::Options(options) => apply_options(&mut user, options)?,
        AlterUser::RenameTo(new) => {
            check_user_name(new)?;
            if *new == session.info.user {
                return Err(invalid("the current user cannot be renamed"));
            }
            if catalog.user(new).is_some() {
                return Err(EngineError::sql(
                    SqlState::DuplicateObject,
                    format!("user \"{new}\" already exists"),
                ));
            }
            user.name = new.clone();
            // The MD5 hash is salted with the name.
            if let Some(p) = user.password.as_mut().filter(|p| !p.md5.is_empty()) {
                p.md5.clear();
                session.notice(
                    "NOTICE",
                    SqlState::Warning,
                    "MD5 password cleared because of user rename",
                );
            }
            rename_owner(session, &catalog, name, new)?;
        }
        AlterUser::Set(param, value) => {
            user.config.retain(|(k, _)| k != param);
            if let Some(v) = value {
                user.config.push((param.clone(), v.clone()));
            }
        }
        AlterUser::Reset(param) => user.config.retain(|(k, _)| k != param),
        AlterUser::ResetSessionTimeout => user.session_timeout = None,
    }
    lock(&session.shared).tx().alter_user(user)?;
    Ok(())
}

/// Moves ownership of schemas and tables to a user's new name.
fn rename_owner(session: &mut Session, catalog: &Catalog, old: &str, new: &str) -> Result<()> {
    let mut state = lock(&session.shared);
    let tx = state.tx();
    for database in catalog.databases() {
        for schema in catalog.schemas(&database) {
            if schema.owner == old {
                tx.alter_schema(schema.id, &schema.name, new)?;
            }
            for t in catalog.tables_in(schema.id) {
                if t.def.owner == old {
                    let mut def = t.def.as_ref().clone();
                    def.owner = new.to_string();
                    tx.alter_table(t.id, t.schema_id, &t.name, def)?;
                }
            }
        }
    }
    Ok(())
}

/// Whether any privilege list names a grantee.
fn holds_privileges(catalog: &Catalog, grantee: Grantee) -> bool {
    catalog.acls().any(|(target, items)| {
        items.iter().any(|i| i.grantee == grantee)
            || matches!(target, AclTarget::Default(k) if Grantee::User(k.owner) == grantee)
    })
}

fn owns_objects(catalog: &Catalog, name: &str) -> bool {
    catalog.databases().iter().any(|d| {
        catalog.schemas(d).iter().any(|s| {
            (s.owner == name && !s.name.starts_with("pg_temp_"))
                || catalog.tables_in(s.id).iter().any(|t| t.def.owner == name)
        })
    })
}

fn drop_users(session: &mut Session, names: &[String], if_exists: bool) -> Result<()> {
    let (_, catalog) = me(session);
    for name in names {
        let Some(user) = catalog.user(name).cloned() else {
            if if_exists {
                session.notice(
                    "NOTICE",
                    SqlState::UndefinedObject,
                    &format!("user \"{name}\" does not exist, skipping"),
                );
                continue;
            }
            return Err(no_user(name));
        };
        if *name == session.info.user || *name == session.login_user() {
            return Err(EngineError::sql(
                SqlState::ObjectInUse,
                "current user cannot be dropped",
            ));
        }
        if owns_objects(&catalog, name) {
            return Err(EngineError::sql(
                SqlState::ObjectInUse,
                format!("user \"{name}\" can't be dropped because the user owns some object"),
            ));
        }
        if holds_privileges(&catalog, Grantee::User(user.id)) {
            return Err(EngineError::sql(
                SqlState::ObjectInUse,
                format!(
                    "user \"{name}\" can't be dropped because the user has a privilege on some object"
                ),
            ));
        }
        lock(&session.shared).tx().drop_user(user.id)?;
    }
    Ok(())
}

fn user_ids(catalog: &Catalog, names: &[String]) -> Result<Vec<RoleId>> {
    names
        .iter()
        .map(|n| catalog.user(n).map(|u| u.id).ok_or_else(|| no_user(n)))
        .collect()
}

fn create_group(session: &mut Session, name: &str, users: &[String]) -> Result<()> {
    if name.starts_with("__") {
        return Err(EngineError::sql(
            SqlState::ReservedName,
            format!("group name \"{name}\" is reserved: names starting with \"__\" are"),
        ));
    }
    check_user_name(name)?;
    let (_, catalog) = me(session);
    let members = user_ids(&catalog, users)?.into_iter().collect();
    let id = session.storage.new_role_id();
    lock(&session.shared).tx().create_group(GroupEntry {
        id,
        name: name.to_string(),
        members,
    })?;
    Ok(())
}

fn alter_group(session: &mut Session, name: &str, change: &AlterGroup) -> Result<()> {
    let (_, catalog) = me(session);
    let group = catalog.group(name).cloned().ok_or_else(|| no_group(name))?;
    let mut state = lock(&session.shared);
    let tx = state.tx();
    match change {
        AlterGroup::AddUsers(users) | AlterGroup::DropUsers(users) => {
            let add = matches!(change, AlterGroup::AddUsers(_));
            for id in user_ids(&catalog, users)? {
                tx.set_membership(group.id, id, add)?;
            }
        }
        AlterGroup::RenameTo(new) => tx.rename_group(group.id, new)?,
    }
    Ok(())
}

fn drop_group(session: &mut Session, name: &str) -> Result<()> {
    let (_, catalog) = me(session);
    let group = catalog.group(name).cloned().ok_or_else(|| no_group(name))?;
    if holds_privileges(&catalog, Grantee::Group(group.id)) {
        return Err(EngineError::sql(
            SqlState::ObjectInUse,
            format!(
                "group \"{name}\" can't be dropped because the group has a privilege on some object"
            ),
        ));
    }
    lock(&session.shared).tx().drop_group(group.id)?;
    Ok(())
}

fn set_session_authorization(session: &mut Session, user: &Option<String>) -> Result<Output> {
    let catalog = session.catalog_view();
    let login = Principal::of(&catalog, &session.login_user());
    if !(login.superuser || session.login_superuser()) {
        return Err(EngineError::sql(
            SqlState::InsufficientPrivilege,
            "permission denied to set session authorization",
        ));
    }
    let target = user.clone().unwrap_or_else(|| session.login_user());
    let entry = catalog
        .user(&target)
        .cloned()
        .ok_or_else(|| no_user(&target))?;
    session.become_user(&entry.name, entry.id, entry.superuser)
}

/// One object of a GRANT: its ACL key, its owner, what ALL means for it,
/// and how messages name it.
struct Target {
    object: AclObject,
    owner: String,
    all: Privileges,
    kind: &'static str,
    name: String,
}

fn targets(session: &mut Session, objects: &GrantObjects) -> Result<Vec<Target>> {
    let database = session.info.database.clone();
    let catalog = session.catalog_view();
    let schema = |name: &str| {
        catalog.schema(&database, name).cloned().ok_or_else(|| {
            EngineError::sql(
                SqlState::InvalidSchemaName,
                format!("schema \"{name}\" does not exist"),
            )
        })
    };
    let mut out = Vec::new();
    match objects {
        GrantObjects::Tables(names) => {
            for n in names {
                let t = session.table_entry(n)?;
                out.push(table_target(&t));
            }
        }
        GrantObjects::AllTablesInSchema(schemas) => {
            for s in schemas {
                let s = schema(s)?;
                out.extend(catalog.tables_in(s.id).iter().map(table_target));
            }
        }
        GrantObjects::Schemas(schemas) => {
            for s in schemas {
                let s = schema(s)?;
                out.push(Target {
                    object: AclObject::Schema(s.id),
                    owner: s.owner.clone(),
                    all: Privileges::ALL_SCHEMA,
                    kind: "schema",
                    name: s.name.clone(),
                });
            }
        }
        GrantObjects::Databases(names) => {
            for d in names {
                if !catalog.has_database(d) {
                    return Err(EngineError::sql(
                        SqlState::InvalidCatalogName,
                        format!("database \"{d}\" does not exist"),
                    ));
                }
                out.push(Target {
                    object: AclObject::Database(d.clone()),
                    owner: String::new(),
                    all: Privileges::ALL_DATABASE,
                    kind: "database",
                    name: d.clone(),
                });
            }
        }
        GrantObjects::Functions(fs) | GrantObjects::Procedures(fs) => {
            if let Some((name, args)) = fs.first() {
                return Err(EngineError::sql(
                    SqlState::UndefinedFunction,
                    format!("function {}({args}) does not exist", last_part(name)),
                ));
            }
        }
        GrantObjects::AllFunctionsInSchema(schemas)
        | GrantObjects::AllProceduresInSchema(schemas) => {
            // Shale has no user-defined functions yet: there is nothing to grant on.
            for s in schemas {
                schema(s)?;
            }
        }
        GrantObjects::Languages(_) => {
            return Err(EngineError::unsupported(
                "GRANT ... ON LANGUAGE is not supported: Shale has no user-defined functions",
            ));
        }
    }
    Ok(out)
}

fn last_part(name: &ObjectName) -> String {
    crate::parse::create_table::last_folded(name)
}

fn table_target(t: &std::sync::Arc<shale_storage::TableEntry>) -> Target {
    Target {
        object: AclObject::Table(t.id),
        owner: t.def.owner.clone(),
        all: Privileges::ALL_TABLE,
        kind: "relation",
        name: t.name.clone(),
    }
}

fn privilege_bit(p: Privilege) -> Privileges {
    match p {
        Privilege::Select => Privileges::SELECT,
        Privilege::Insert => Privileges::INSERT,
        Privilege::Update => Privileges::UPDATE,
        Privilege::Delete => Privileges::DELETE,
        Privilege::Drop => Privileges::DROP,
        Privilege::References => Privileges::REFERENCES,
        Privilege::Create => Privileges::CREATE,
        Privilege::Temp => Privileges::TEMP,
        Privilege::Usage => Privileges::USAGE,
        Privilege::Execute => Privileges::EXECUTE,
        Privilege::Alter => Privileges::ALTER,
        Privilege::Truncate => Privileges::TRUNCATE,
    }
}

fn privilege_name(p: Privilege) -> &'static str {
    match p {
        Privilege::Select => "SELECT",
        Privilege::Insert => "INSERT",
        Privilege::Update => "UPDATE",
        Privilege::Delete => "DELETE",
        Privilege::Drop => "DROP",
        Privilege::References => "REFERENCES",
        Privilege::Create => "CREATE",
        Privilege::Temp => "TEMP",
        Privilege::Usage => "USAGE",
        Privilege::Execute => "EXECUTE",
        Privilege::Alter => "ALTER",
        Privilege::Truncate => "TRUNCATE",
    }
}

/// The privilege bits a GRANT names, checked against what the object has.
fn bits(spec: &PrivilegeSpec, all: Privileges, kind: &str) -> Result<Privileges> {
    match spec {
        PrivilegeSpec::All => Ok(all),
        PrivilegeSpec::List(list) => {
            let mut out = Privileges::NONE;
            for (p, columns) in list {
                if !columns.is_empty() {
                    return Err(EngineError::unsupported(
                        "column-level privileges are not supported",
                    ));
                }
                let bit = privilege_bit(*p);
                if !all.contains(bit) {
                    return Err(EngineError::sql(
                        SqlState::InvalidGrantOperation,
                        format!("invalid privilege type {} for {kind}", privilege_name(*p)),
                    ));
                }
                out = out.union(bit);
            }
            Ok(out)
        }
    }
}

fn grantees(catalog: &Catalog, specs: &[GranteeSpec]) -> Result<Vec<Grantee>> {
    specs
        .iter()
        .map(|g| match g {
            GranteeSpec::Public => Ok(Grantee::Public),
            GranteeSpec::User(n) => catalog
                .user(n)
                .map(|u| Grantee::User(u.id))
                .ok_or_else(|| no_user(n)),
            GranteeSpec::Group(n) => catalog
                .group(n)
                .map(|g| Grantee::Group(g.id))
                .ok_or_else(|| no_group(n)),
            GranteeSpec::Role(_) => Err(EngineError::unsupported(
                "roles are not supported; grant to a user or a group",
            )),
        })
        .collect()
}

/// Who records a grant: the grantor's id (the system for a user that is
/// not in the catalog).
fn grantor(me: &Principal) -> RoleId {
    me.id.unwrap_or(SYSTEM_ROLE_ID)
}

fn grant(session: &mut Session, g: &Grant) -> Result<()> {
    let (me, catalog) = me(session);
    let to = grantees(&catalog, &g.grantees)?;
    if g.with_grant_option && to.iter().any(|t| !matches!(t, Grantee::User(_))) {
        return Err(EngineError::sql(
            SqlState::InvalidGrantOperation,
            "grant options can only be granted to users, not to groups or PUBLIC",
        ));
    }
    let targets = targets(session, &g.objects)?;
    let mut state = lock(&session.shared);
    let tx = state.tx();
    for t in &targets {
        let wanted = bits(&g.privileges, t.all, t.kind)?;
        may_grant(&me, &catalog, t, wanted)?;
        for grantee in &to {
            tx.grant(
                AclTarget::Object(t.object.clone()),
                AclItem {
                    grantee: *grantee,
                    privileges: wanted,
                    grantable: if g.with_grant_option {
                        wanted
                    } else {
                        Privileges::NONE
                    },
                    grantor: grantor(&me),
                },
            )?;
        }
    }
    Ok(())
}

/// The grantor must own the object, be a superuser, or hold the grant
/// option for every privilege given.
fn may_grant(me: &Principal, catalog: &Catalog, t: &Target, wanted: Privileges) -> Result<()> {
    let (_, grantable) = me.privileges(catalog, &t.object, &t.owner, t.all);
    if grantable.contains(wanted) {
        Ok(())
    } else {
        Err(denied(t.kind, &t.name))
    }
}

fn revoke(session: &mut Session, r: &Revoke) -> Result<()> {
    let (me, catalog) = me(session);
    let from = grantees(&catalog, &r.grantees)?;
    let targets = targets(session, &r.objects)?;
    let mut state = lock(&session.shared);
    let tx = state.tx();
    for t in &targets {
        let wanted = bits(&r.privileges, t.all, t.kind)?;
        may_grant(&me, &catalog, t, wanted)?;
        for grantee in &from {
            tx.revoke(
                AclTarget::Object(t.object.clone()),
                *grantee,
                wanted,
                r.grant_option_for,
            )?;
        }
    }
    Ok(())
}

fn default_privileges(session: &mut Session, d: &DefaultPrivileges) -> Result<()> {
    let (me, catalog) = me(session);
    let owners: Vec<RoleId> = if d.for_users.is_empty() {
        vec![me.id.ok_or_else(|| no_user(&me.name))?]
    } else {
        let ids = user_ids(&catalog, &d.for_users)?;
        if !me.superuser && ids.iter().any(|id| Some(*id) != me.id) {
            return Err(EngineError::sql(
                SqlState::InsufficientPrivilege,
                "must be superuser to change default privileges for other users",
            ));
        }
        ids
    };
    let database = session.info.database.clone();
    let mut schemas: Vec<Option<ObjectId>> = Vec::new();
    for s in &d.schemas {
        let entry = catalog.schema(&database, s).ok_or_else(|| {
            EngineError::sql(
                SqlState::InvalidSchemaName,
                format!("schema \"{s}\" does not exist"),
            )
        })?;
        schemas.push(Some(entry.id));
    }
    if schemas.is_empty() {
        schemas.push(None);
    }
    let (kind, all, kind_name) = match d.objects {
        DefaultObjects::Tables => (DefaultKind::Tables, Privileges::ALL_TABLE, "relation"),
        DefaultObjects::Functions => (DefaultKind::Functions, Privileges::EXECUTE, "function"),
        DefaultObjects::Procedures => (DefaultKind::Procedures, Privileges::EXECUTE, "procedure"),
    };
    let wanted = bits(&d.privileges, all, kind_name)?;
    let to = grantees(&catalog, &d.grantees)?;
    if d.grant && d.grant_option && to.iter().any(|t| !matches!(t, Grantee::User(_))) {
        return Err(EngineError::sql(
            SqlState::InvalidGrantOperation,
            "grant options can only be granted to users, not to groups or PUBLIC",
        ));
    }
    let mut state = lock(&session.shared);
    let tx = state.tx();
    for owner in &owners {
        for schema in &schemas {
            let target = AclTarget::Default(DefaultAclKey {
                owner: *owner,
                schema: *schema,
                kind,
            });
            for grantee in &to {
                if d.grant {
                    tx.grant(
                        target.clone(),
                        AclItem {
                            grantee: *grantee,
                            privileges: wanted,
                            grantable: if d.grant_option {
                                wanted
                            } else {
                                Privileges::NONE
                            },
                            grantor: *owner,
                        },
                    )?;
                } else {
                    tx.revoke(target.clone(), *grantee, wanted, d.grant_option)?;
                }
            }
        }
    }
    Ok(())
}

/// Gives a new table or view the default privileges of its owner: those
/// for every schema and those for its schema.
pub(crate) fn apply_defaults(
    tx: &mut Transaction,
    table: ObjectId,
    schema: ObjectId,
    owner: &str,
) -> Result<()> {
    let catalog = tx.catalog();
    let Some(user) = catalog.user(owner) else {
        return Ok(());
    };
    let mut items = Vec::new();
    for schema in [None, Some(schema)] {
        let key = AclTarget::Default(DefaultAclKey {
            owner: user.id,
            schema,
            kind: DefaultKind::Tables,
        });
        items.extend_from_slice(catalog.acl(&key));
    }
    for item in items {
        tx.grant(AclTarget::Object(AclObject::Table(table)), item)?;
    }
    Ok(())
}
