//! Redshift's statements about who may do what: users, groups, GRANT /
//! REVOKE, ALTER DEFAULT PRIVILEGES and SET SESSION AUTHORIZATION.
//!
//! sqlparser reads PostgreSQL's and Snowflake's forms of some of these, not
//! Redshift's (`GROUP g` grantees, `PASSWORD DISABLE`, `CREATEUSER`,
//! `IN GROUP`, `ALTER DEFAULT PRIVILEGES ... FOR USER`), so they are read
//! here with sqlparser's parser as a token reader. Names are folded as
//! everywhere else (unquoted ones to lower case; quoted ones were folded in
//! the token stream).

use datafusion::sql::sqlparser::ast::ObjectName;

/// One statement of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessStmt {
    CreateUser {
        name: String,
        options: Vec<UserOption>,
    },
    AlterUser {
        name: String,
        change: AlterUser,
    },
    DropUser {
        if_exists: bool,
        names: Vec<String>,
    },
    CreateGroup {
        name: String,
        users: Vec<String>,
    },
    AlterGroup {
        name: String,
        change: AlterGroup,
    },
    DropGroup {
        name: String,
    },
    Grant(Grant),
    Revoke(Revoke),
    AlterDefaultPrivileges(DefaultPrivileges),
    /// `SET SESSION AUTHORIZATION user | DEFAULT` (`None` for DEFAULT), also
    /// `RESET SESSION AUTHORIZATION`.
    SetSessionAuthorization(Option<String>),
}

/// `PASSWORD ...` of CREATE / ALTER USER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSpec {
    /// The string as written: clear text, `md5<32 hex>` or `sha256|...`
    /// (told apart by the handler, which knows Redshift's rules).
    Text(String),
    /// `PASSWORD DISABLE`.
    Disable,
}

/// One option of CREATE / ALTER USER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserOption {
    Password(PasswordSpec),
    /// `CREATEDB` / `NOCREATEDB`.
    CreateDb(bool),
    /// `CREATEUSER` / `NOCREATEUSER` (superuser or not).
    CreateUser(bool),
    /// `SYSLOG ACCESS UNRESTRICTED` (true) / `RESTRICTED` (false).
    SyslogUnrestricted(bool),
    /// `IN GROUP g [, ...]` (CREATE USER only).
    InGroup(Vec<String>),
    /// `VALID UNTIL 'timestamp'`, the string as written (`'infinity'` too).
    ValidUntil(String),
    /// `CONNECTION LIMIT n` (`None` for UNLIMITED).
    ConnectionLimit(Option<i64>),
    /// `SESSION TIMEOUT n`.
    SessionTimeout(i64),
    /// `EXTERNALID id`.
    ExternalId(String),
}

/// What ALTER USER changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterUser {
    Options(Vec<UserOption>),
    RenameTo(String),
    /// `SET param {TO | =} value` (`None` for DEFAULT); the value as text.
    Set(String, Option<String>),
    /// `RESET param`.
    Reset(String),
    /// `RESET SESSION TIMEOUT`.
    ResetSessionTimeout,
}

/// What ALTER GROUP changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterGroup {
    AddUsers(Vec<String>),
    DropUsers(Vec<String>),
    RenameTo(String),
}

/// A privilege as GRANT names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
    Drop,
    References,
    Create,
    /// `TEMPORARY` or `TEMP`.
    Temp,
    Usage,
    Execute,
    Alter,
    Truncate,
}

/// The privileges of a GRANT / REVOKE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privileges {
    /// `ALL [PRIVILEGES]`.
    All,
    /// A list; a privilege may carry a column list (`SELECT (a, b)`), empty
    /// when it names none.
    List(Vec<(Privilege, Vec<String>)>),
}

/// What a GRANT / REVOKE is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantObjects {
    /// `[TABLE] t [, ...]` (tables and views).
    Tables(Vec<ObjectName>),
    /// `ALL TABLES IN SCHEMA s [, ...]`.
    AllTablesInSchema(Vec<String>),
    /// `SCHEMA s [, ...]`.
    Schemas(Vec<String>),
    /// `DATABASE d [, ...]`.
    Databases(Vec<String>),
    /// `FUNCTION f(argtypes) [, ...]`: the name, and the argument types as
    /// written (lower case, no spaces around commas).
    Functions(Vec<(ObjectName, String)>),
    /// `ALL FUNCTIONS IN SCHEMA s [, ...]`.
    AllFunctionsInSchema(Vec<String>),
    /// `PROCEDURE p(argtypes) [, ...]`.
    Procedures(Vec<(ObjectName, String)>),
    /// `ALL PROCEDURES IN SCHEMA s [, ...]`.
    AllProceduresInSchema(Vec<String>),
    /// `LANGUAGE l [, ...]`.
    Languages(Vec<String>),
}

/// Who receives (or loses) privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeSpec {
    /// A user name (written bare or as `USER u`).
    User(String),
    /// `GROUP g`.
    Group(String),
    /// `ROLE r`.
    Role(String),
    /// `PUBLIC`.
    Public,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Privileges,
    pub objects: GrantObjects,
    pub grantees: Vec<GranteeSpec>,
    pub with_grant_option: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoke {
    /// `REVOKE GRANT OPTION FOR ...`.
    pub grant_option_for: bool,
    pub privileges: Privileges,
    pub objects: GrantObjects,
    pub grantees: Vec<GranteeSpec>,
    /// `CASCADE` (true) or `RESTRICT` / nothing (false).
    pub cascade: bool,
}

/// The kind of object ALTER DEFAULT PRIVILEGES is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefaultObjects {
    Tables,
    Functions,
    Procedures,
}

/// `ALTER DEFAULT PRIVILEGES [FOR USER u, ...] [IN SCHEMA s, ...] GRANT ... |
/// REVOKE ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPrivileges {
    /// `FOR USER` targets; empty means the current user.
    pub for_users: Vec<String>,
    /// `IN SCHEMA` schemas; empty means every schema.
    pub schemas: Vec<String>,
    pub objects: DefaultObjects,
    /// True for GRANT, false for REVOKE.
    pub grant: bool,
    pub privileges: Privileges,
    pub grantees: Vec<GranteeSpec>,
    /// GRANT ... WITH GRANT OPTION, or REVOKE GRANT OPTION FOR.
    pub grant_option: bool,
}

use datafusion::sql::sqlparser::parser::{Parser, ParserError};

/// Whether the statement ahead is one of this module's.
pub fn is_access(parser: &Parser) -> bool {
    let _ = parser;
    false
}

/// Reads one statement of this module; the parser is left at its end.
pub fn parse(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    parser.expected("an access statement", parser.peek_token())
}
