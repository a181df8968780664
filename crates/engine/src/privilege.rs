//! Who may do what: every statement is checked against the privileges in
//! the session's catalog before it runs.
//!
//! A user's privileges on an object are the union of what was granted to
//! PUBLIC, to the user's groups and to the user; an object's owner holds
//! every privilege on it, and superusers skip the checks altogether. To use
//! a table or view, a user also needs USAGE on its schema. A view is read
//! with its owner's rights: the invoker needs SELECT on the view, and the
//! tables inside it are checked against the view's owner.
//!
//! The checks run on the statement's syntax tree, before views are expanded
//! and before planning, so that a refused statement touches nothing. Names
//! that resolve to nothing are left alone here: planning reports them
//! (42P01), as PostgreSQL does.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    FromTable, MergeAction, ObjectName, Query, Statement, TableFactor, TableObject, Visit, Visitor,
};
use shale_common::SqlState;
use shale_storage::{
    AclObject, AclTarget, BOOTSTRAP_OWNER, Catalog, Grantee, Privileges, RoleId, TableEntry,
};

use crate::error::{EngineError, Result};
use crate::parse::{ParsedStatement, Stmt, parse_statements};
use crate::session::Session;

/// How deeply views inside views are followed.
const MAX_VIEW_DEPTH: usize = 16;

/// A user as the checks see it.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub name: String,
    /// `None` for a name with no user behind it.
    pub id: Option<RoleId>,
    pub superuser: bool,
    pub groups: Vec<RoleId>,
}

impl Principal {
    /// The user called `name` in `catalog`. The system owner (`rdsdb`) is a
    /// superuser; a name without a user holds nothing beyond PUBLIC.
    pub fn of(catalog: &Catalog, name: &str) -> Principal {
        match catalog.user(name) {
            Some(u) => Principal {
                name: u.name.clone(),
                id: Some(u.id),
                superuser: u.superuser,
                groups: catalog.groups_of(u.id).map(|g| g.id).collect(),
            },
            None => Principal {
                name: name.to_string(),
                id: None,
                superuser: name == BOOTSTRAP_OWNER,
                groups: Vec::new(),
            },
        }
    }

    /// Whether an ACL item applies to this user.
    fn holds(&self, grantee: Grantee) -> bool {
        match grantee {
            Grantee::Public => true,
            Grantee::User(id) => Some(id) == self.id,
            Grantee::Group(g) => self.groups.contains(&g),
        }
    }

    /// The privileges (and the grantable ones) this user has on an object
    /// owned by `owner`; `all` is what ALL means for the object's kind.
    pub fn privileges(
        &self,
        catalog: &Catalog,
        object: &AclObject,
        owner: &str,
        all: Privileges,
    ) -> (Privileges, Privileges) {
        if self.superuser || owner == self.name {
            return (all, all);
        }
        catalog
            .acl(&AclTarget::Object(object.clone()))
            .iter()
            .filter(|i| self.holds(i.grantee))
            .fold((Privileges::NONE, Privileges::NONE), |(p, g), i| {
                (p.union(i.privileges), g.union(i.grantable))
            })
    }
}

/// What a statement needs of one table or view.
#[derive(Debug, Clone, Copy)]
enum Need {
    Read,
    Privilege(Privileges),
    Owner,
}

/// Checks a statement for the session's user; a superuser passes at once.
pub(crate) fn check(session: &mut Session, statement: &ParsedStatement) -> Result<()> {
    // Decided on the borrowed catalog: a shared view may copy the
    // transaction's catalog, which superusers never need.
    if session.is_superuser_now() {
        return Ok(());
    }
    let catalog = session.catalog_view();
    let me = session.principal(&catalog);
    let mut checker = Checker {
        session,
        catalog,
        me,
    };
    checker.statement(&statement.stmt)
}

struct Checker<'a> {
    session: &'a mut Session,
    catalog: Arc<Catalog>,
    me: Principal,
}

impl Checker<'_> {
    fn statement(&mut self, stmt: &Stmt) -> Result<()> {
        let me = self.me.clone();
        match stmt {
            Stmt::Sql(s) => self.sql(s),
            Stmt::Abort | Stmt::Access(_) => Ok(()),
            Stmt::CreateTable(ct) => {
                let temporary = ct.temporary;
                let (schema, _) = self.session.creation_target(&ct.name, temporary)?;
                self.create_in(schema, temporary)?;
                if let Some((parent, _)) = &ct.like {
                    self.table(&me, parent, Need::Read, 0)?;
                }
                match &ct.query {
                    Some(q) => self.reads(&me, q.as_ref(), 0),
                    None => Ok(()),
                }
            }
            Stmt::Copy(c) => match &c.table {
                Some(t) => self.table(&me, t, Need::Privilege(Privileges::INSERT), 0),
                None => Ok(()),
            },
            Stmt::Unload(u) => {
                let parsed = parse_statements(&u.query)?;
                for p in &parsed {
                    if let Stmt::Sql(s) = &p.stmt {
                        self.reads(&me, s.as_ref(), 0)?;
                    }
                }
                Ok(())
            }
            Stmt::AppendFrom { target, source, .. } => {
                self.table(&me, target, Need::Privilege(Privileges::INSERT), 0)?;
                self.table(
                    &me,
                    source,
                    Need::Privilege(Privileges::DELETE.union(Privileges::SELECT)),
                    0,
                )
            }
            Stmt::OwnerTo { table, .. } => self.table(&me, table, Need::Owner, 0),
        }
    }

    fn sql(&mut self, stmt: &Statement) -> Result<()> {
        let me = self.me.clone();
        match stmt {
            Statement::Query(q) => self.reads(&me, q.as_ref(), 0),
            Statement::Explain { statement, .. } => self.sql(statement),
            Statement::Insert(insert) => {
                if let TableObject::TableName(name) = &insert.table {
                    self.table(&me, name, Need::Privilege(Privileges::INSERT), 0)?;
                }
                match &insert.source {
                    Some(q) => self.reads(&me, q.as_ref(), 0),
                    None => Ok(()),
                }
            }
            Statement::Update(update) => {
                let mut wanted = Privileges::UPDATE;
                if update.selection.is_some() {
                    wanted = wanted.union(Privileges::SELECT);
                }
                let target = factor_name(&update.table.relation);
                if let Some(name) = &target {
                    self.table(&me, name, Need::Privilege(wanted), 0)?;
                }
                self.reads_except(&me, stmt, target.as_ref())
            }
            Statement::Delete(delete) => {
                let mut wanted = Privileges::DELETE;
                if delete.selection.is_some() {
                    wanted = wanted.union(Privileges::SELECT);
                }
                let tables = match &delete.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                let target = tables.first().and_then(|t| factor_name(&t.relation));
                if let Some(name) = &target {
                    self.table(&me, name, Need::Privilege(wanted), 0)?;
                }
                self.reads_except(&me, stmt, target.as_ref())
            }
            Statement::Merge(merge) => {
                let mut wanted = Privileges::SELECT;
                if merge.clauses.is_empty() {
                    // REMOVE DUPLICATES: updates, deletes and inserts.
                    wanted = wanted
                        .union(Privileges::INSERT)
                        .union(Privileges::UPDATE)
                        .union(Privileges::DELETE);
                }
                for clause in &merge.clauses {
                    wanted = wanted.union(match &clause.action {
                        MergeAction::Insert(_) => Privileges::INSERT,
                        MergeAction::Update { .. } => Privileges::UPDATE,
                        MergeAction::Delete { .. } => Privileges::DELETE,
                    });
                }
                let target = factor_name(&merge.table);
                if let Some(name) = &target {
                    self.table(&me, name, Need::Privilege(wanted), 0)?;
                }
                self.reads_except(&me, stmt, target.as_ref())
            }
            Statement::CreateView(view) => {
                let (schema, _) = self.session.creation_target(&view.name, false)?;
                self.create_in(schema, false)
            }
            Statement::CreateSchema { .. } => self.on_database(Privileges::CREATE),
            Statement::Drop {
                object_type, names, ..
            } => {
                use datafusion::sql::sqlparser::ast::ObjectType;
                match object_type {
                    ObjectType::Table | ObjectType::View => {
                        for name in names {
                            self.table(&me, name, Need::Owner, 0)?;
                        }
                        Ok(())
                    }
                    ObjectType::Schema => {
                        for name in names {
                            self.schema_owner(name)?;
                        }
                        Ok(())
                    }
                    _ => Ok(()),
                }
            }
            Statement::AlterTable(alter) => self.table(&me, &alter.name, Need::Owner, 0),
            Statement::Truncate(t) => {
                for target in &t.table_names {
                    self.table(&me, &target.name, Need::Owner, 0)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A privilege on the session's database.
    fn on_database(&self, wanted: Privileges) -> Result<()> {
        let database = &self.session.info.database;
        let (held, _) = self.me.privileges(
            &self.catalog,
            &AclObject::Database(database.clone()),
            &database_owner(&self.catalog, database),
            Privileges::ALL_DATABASE,
        );
        if held.contains(wanted) {
            Ok(())
        } else {
            Err(denied("database", database))
        }
    }

    /// CREATE on a schema (TEMP on the database for temporary tables).
    fn create_in(&mut self, schema: shale_storage::ObjectId, temporary: bool) -> Result<()> {
        if temporary {
            return self.on_database(Privileges::TEMP);
        }
        let Some(entry) = self.catalog.schema_by_id(schema).cloned() else {
            return Ok(());
        };
        let (held, _) = self.me.privileges(
            &self.catalog,
            &AclObject::Schema(entry.id),
            &entry.owner,
            Privileges::ALL_SCHEMA,
        );
        if held.contains(Privileges::CREATE) {
            Ok(())
        } else {
            Err(denied("schema", &entry.name))
        }
    }

    fn schema_owner(&mut self, name: &ObjectName) -> Result<()> {
        let schema = crate::parse::create_table::last_folded(name);
        let database = self.session.info.database.clone();
        let Some(entry) = self.catalog.schema(&database, &schema).cloned() else {
            return Ok(());
        };
        if self.me.superuser || entry.owner == self.me.name {
            Ok(())
        } else {
            Err(not_owner("schema", &entry.name))
        }
    }

    /// What `who` needs of one named table or view.
    fn table(
        &mut self,
        who: &Principal,
        name: &ObjectName,
        need: Need,
        depth: usize,
    ) -> Result<()> {
        let Some(entry) = self.session.find_table(name)? else {
            return Ok(());
        };
        self.entry(who, &entry, need, depth)
    }

    fn entry(
        &mut self,
        who: &Principal,
        entry: &Arc<TableEntry>,
        need: Need,
        depth: usize,
    ) -> Result<()> {
        if who.superuser {
            return Ok(());
        }
        if let Some(schema) = self.catalog.schema_by_id(entry.schema_id).cloned() {
            let (held, _) = who.privileges(
                &self.catalog,
                &AclObject::Schema(schema.id),
                &schema.owner,
                Privileges::ALL_SCHEMA,
            );
            if !held.contains(Privileges::USAGE) {
                return Err(denied("schema", &schema.name));
            }
        }
        let (held, _) = who.privileges(
            &self.catalog,
            &AclObject::Table(entry.id),
            &entry.def.owner,
            Privileges::ALL_TABLE,
        );
        match need {
            Need::Owner => {
                if entry.def.owner != who.name {
                    return Err(not_owner("relation", &entry.name));
                }
            }
            Need::Privilege(p) => {
                if !held.contains(p) {
                    return Err(denied("relation", &entry.name));
                }
            }
            Need::Read => {
                if !held.contains(Privileges::SELECT) {
                    return Err(denied("relation", &entry.name));
                }
            }
        }
        if entry.def.is_view() && matches!(need, Need::Read) {
            self.view_body(entry, depth)?;
        }
        Ok(())
    }

    /// The tables inside a view, checked against the view's owner.
    fn view_body(&mut self, view: &Arc<TableEntry>, depth: usize) -> Result<()> {
        if depth >= MAX_VIEW_DEPTH {
            return Ok(()); // expansion reports views nested too deeply
        }
        let owner = Principal::of(&self.catalog, &view.def.owner);
        let sql = view.def.view_sql.clone().unwrap_or_default();
        let Ok(parsed) = parse_statements(&sql) else {
            return Ok(()); // expansion reports an unreadable definition
        };
        for p in &parsed {
            if let Stmt::Sql(s) = &p.stmt {
                self.reads(&owner, s.as_ref(), depth + 1)?;
            }
        }
        Ok(())
    }

    /// SELECT on every table a query (or any statement part) reads.
    fn reads<V: Visit>(&mut self, who: &Principal, node: &V, depth: usize) -> Result<()> {
        for name in relations(node) {
            self.table(who, &name, Need::Read, depth)?;
        }
        Ok(())
    }

    /// SELECT on the tables a DML statement reads besides its target.
    fn reads_except(
        &mut self,
        who: &Principal,
        stmt: &Statement,
        target: Option<&ObjectName>,
    ) -> Result<()> {
        let mut names = relations(stmt);
        if let Some(target) = target
            && let Some(at) = names.iter().position(|n| n == target)
        {
            names.remove(at);
        }
        for name in names {
            self.table(who, &name, Need::Read, 0)?;
        }
        Ok(())
    }
}

/// A database's owner (the system for one made before owners were kept).
pub(crate) fn database_owner(catalog: &Catalog, database: &str) -> String {
    catalog
        .database(database)
        .map(|d| d.owner.clone())
        .unwrap_or_else(|| BOOTSTRAP_OWNER.to_string())
}

fn factor_name(factor: &TableFactor) -> Option<ObjectName> {
    match factor {
        TableFactor::Table { name, .. } => Some(name.clone()),
        _ => None,
    }
}

/// The table names a syntax tree reads, in order, without the names of its
/// common table expressions.
fn relations<V: Visit>(node: &V) -> Vec<ObjectName> {
    struct Collect {
        ctes: HashSet<String>,
        names: Vec<ObjectName>,
    }
    impl Visitor for Collect {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.ctes
                        .insert(crate::parse::create_table::folded(&cte.alias.name));
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, args, .. } = factor
                && args.is_none()
            {
                let is_cte = name.0.len() == 1
                    && self
                        .ctes
                        .contains(&crate::parse::create_table::last_folded(name));
                if !is_cte {
                    self.names.push(name.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect {
        ctes: HashSet::new(),
        names: Vec::new(),
    };
    let _ = node.visit(&mut c);
    c.names
}

/// `permission denied for <kind> <name>` (42501).
pub(crate) fn denied(kind: &str, name: &str) -> EngineError {
    EngineError::sql(
        SqlState::InsufficientPrivilege,
        format!("permission denied for {kind} {name}"),
    )
}

/// `must be owner of <kind> <name>` (42501).
pub(crate) fn not_owner(kind: &str, name: &str) -> EngineError {
    EngineError::sql(
        SqlState::InsufficientPrivilege,
        format!("must be owner of {kind} {name}"),
    )
}
