//! Redshift's statements about who may do what: users, groups, GRANT /
//! REVOKE, ALTER DEFAULT PRIVILEGES and SET SESSION AUTHORIZATION.
//!
//! sqlparser reads PostgreSQL's and Snowflake's forms of some of these, not
//! Redshift's (`GROUP g` grantees, `PASSWORD DISABLE`, `CREATEUSER`,
//! `IN GROUP`, `ALTER DEFAULT PRIVILEGES ... FOR USER`), so they are read
//! here with sqlparser's parser as a token reader. Names are folded as
//! everywhere else (unquoted ones to lower case; quoted ones were folded in
//! the token stream).

use datafusion::sql::sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create_table::folded;

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
    /// `CREATE DATABASE name [WITH] [OWNER [=] user] [CONNECTION LIMIT n |
    /// UNLIMITED] [COLLATE CASE_SENSITIVE | CASE_INSENSITIVE] [ISOLATION LEVEL
    /// SERIALIZABLE | SNAPSHOT]`.
    CreateDatabase {
        name: String,
        owner: Option<String>,
        /// `Some(None)` for UNLIMITED.
        connection_limit: Option<Option<i64>>,
        /// `COLLATE CASE_INSENSITIVE`.
        case_insensitive: bool,
    },
    DropDatabase {
        name: String,
    },
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

/// Words that cannot be a bare (unquoted) name here: Redshift reserves them,
/// and reading one as a name would hide a missing name (`CREATE USER WITH
/// ...`, `GRANT SELECT ON t TO GROUP`).
const RESERVED: &[&str] = &[
    "all", "default", "for", "from", "grant", "group", "in", "on", "table", "to", "user", "with",
];

/// Whether the statement ahead is one of this module's. Only peeks.
pub fn is_access(parser: &Parser) -> bool {
    let at = |n: usize, w: &str| is_word(&parser.peek_nth_token_ref(n).token, w);
    let user_or_group = at(1, "user") || at(1, "group") || at(1, "database");
    ((at(0, "create") || at(0, "alter") || at(0, "drop")) && user_or_group)
        || at(0, "grant")
        || at(0, "revoke")
        || (at(0, "alter") && at(1, "default") && at(2, "privileges"))
        || ((at(0, "set") || at(0, "reset")) && at(1, "session") && at(2, "authorization"))
}

/// Reads one statement of this module; the parser is left at its end.
pub fn parse(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    if eat(parser, "create") {
        if eat(parser, "user") {
            return create_user(parser);
        }
        if eat(parser, "database") {
            return create_database(parser);
        }
        expect(parser, "group")?;
        return create_group(parser);
    }
    if eat(parser, "alter") {
        if eat(parser, "user") {
            return alter_user(parser);
        }
        if eat(parser, "group") {
            return alter_group(parser);
        }
        expect(parser, "default")?;
        expect(parser, "privileges")?;
        return default_privileges(parser).map(AccessStmt::AlterDefaultPrivileges);
    }
    if eat(parser, "drop") {
        if eat(parser, "database") {
            let name = name(parser)?;
            return Ok(AccessStmt::DropDatabase { name });
        }
        if eat(parser, "user") {
            let if_exists = eat_all(parser, &["if", "exists"]);
            let names = name_list(parser)?;
            return Ok(AccessStmt::DropUser { if_exists, names });
        }
        expect(parser, "group")?;
        let name = name(parser)?;
        return Ok(AccessStmt::DropGroup { name });
    }
    if eat(parser, "grant") {
        return grant(parser).map(AccessStmt::Grant);
    }
    if eat(parser, "revoke") {
        return revoke(parser).map(AccessStmt::Revoke);
    }
    if eat(parser, "set") {
        expect(parser, "session")?;
        expect(parser, "authorization")?;
        if eat(parser, "default") {
            return Ok(AccessStmt::SetSessionAuthorization(None));
        }
        let user = match parser.peek_token().token {
            Token::SingleQuotedString(s) => {
                parser.next_token();
                s
            }
            _ => name(parser)?,
        };
        return Ok(AccessStmt::SetSessionAuthorization(Some(user)));
    }
    if eat(parser, "reset") {
        expect(parser, "session")?;
        expect(parser, "authorization")?;
        return Ok(AccessStmt::SetSessionAuthorization(None));
    }
    parser.expected("an access statement", parser.peek_token())
}

/// `CREATE USER name [WITH] option...`, after `CREATE USER`.
fn create_user(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    let name = name(parser)?;
    eat(parser, "with");
    let options = user_options(parser, true)?;
    Ok(AccessStmt::CreateUser { name, options })
}

/// The forms of ALTER USER, after `ALTER USER`.
fn alter_user(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    let name = name(parser)?;
    let change = if eat(parser, "rename") {
        expect(parser, "to")?;
        AlterUser::RenameTo(self::name(parser)?)
    } else if eat(parser, "set") {
        let param = self::name(parser)?;
        if !(parser.consume_token(&Token::Eq) || eat(parser, "to")) {
            return parser.expected("TO or =", parser.peek_token());
        }
        let value = if eat(parser, "default") {
            None
        } else {
            Some(comma_list(parser, setting_value)?.join(", "))
        };
        AlterUser::Set(param, value)
    } else if eat(parser, "reset") {
        if eat_all(parser, &["session", "timeout"]) {
            AlterUser::ResetSessionTimeout
        } else {
            AlterUser::Reset(self::name(parser)?)
        }
    } else {
        eat(parser, "with");
        let options = user_options(parser, false)?;
        if options.is_empty() {
            return parser.expected("a user option", parser.peek_token());
        }
        AlterUser::Options(options)
    };
    Ok(AccessStmt::AlterUser { name, change })
}

/// The options of CREATE USER (with `IN GROUP`) or ALTER USER, in the order
/// written, up to the first word that is not one.
fn user_options(parser: &mut Parser, in_group: bool) -> Result<Vec<UserOption>, ParserError> {
    let mut options = Vec::new();
    while let Some(option) = user_option(parser, in_group)? {
        options.push(option);
    }
    Ok(options)
}

/// One user option, or `None` (nothing consumed) when none comes next.
fn user_option(parser: &mut Parser, in_group: bool) -> Result<Option<UserOption>, ParserError> {
    let option = if eat(parser, "password") {
        if eat(parser, "disable") {
            UserOption::Password(PasswordSpec::Disable)
        } else {
            match parser.peek_token().token {
                Token::SingleQuotedString(s) => {
                    parser.next_token();
                    UserOption::Password(PasswordSpec::Text(s))
                }
                _ => return parser.expected("a password or DISABLE", parser.peek_token()),
            }
        }
    } else if eat(parser, "createdb") {
        UserOption::CreateDb(true)
    } else if eat(parser, "nocreatedb") {
        UserOption::CreateDb(false)
    } else if eat(parser, "createuser") {
        UserOption::CreateUser(true)
    } else if eat(parser, "nocreateuser") {
        UserOption::CreateUser(false)
    } else if eat(parser, "syslog") {
        expect(parser, "access")?;
        if eat(parser, "unrestricted") {
            UserOption::SyslogUnrestricted(true)
        } else if eat(parser, "restricted") {
            UserOption::SyslogUnrestricted(false)
        } else {
            return parser.expected("RESTRICTED or UNRESTRICTED", parser.peek_token());
        }
    } else if in_group && eat(parser, "in") {
        expect(parser, "group")?;
        UserOption::InGroup(name_list(parser)?)
    } else if eat(parser, "valid") {
        expect(parser, "until")?;
        UserOption::ValidUntil(string(parser)?)
    } else if eat(parser, "connection") {
        expect(parser, "limit")?;
        if eat(parser, "unlimited") {
            UserOption::ConnectionLimit(None)
        } else {
            UserOption::ConnectionLimit(Some(number(parser)?))
        }
    } else if eat(parser, "session") {
        expect(parser, "timeout")?;
        UserOption::SessionTimeout(number(parser)?)
    } else if eat(parser, "externalid") {
        let id = match parser.peek_token().token {
            Token::SingleQuotedString(s) => {
                parser.next_token();
                s
            }
            _ => name(parser)?,
        };
        UserOption::ExternalId(id)
    } else {
        return Ok(None);
    };
    Ok(Some(option))
}

/// One value of `ALTER USER ... SET param TO value, ...`, as text without
/// quotes (unquoted words folded).
fn setting_value(parser: &mut Parser) -> Result<String, ParserError> {
    let negative = parser.consume_token(&Token::Minus);
    let token = parser.next_token();
    match token.token {
        Token::Number(n, _) if negative => Ok(format!("-{n}")),
        Token::Number(n, _) => Ok(n),
        Token::SingleQuotedString(s) if !negative => Ok(s),
        Token::Word(w) if !negative => Ok(folded(&w.into_ident(token.span))),
        _ => parser.expected("a value", token),
    }
}

/// `CREATE DATABASE name [WITH] option...`, after `CREATE DATABASE`.
fn create_database(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    let name = name(parser)?;
    eat(parser, "with");
    let mut owner = None;
    let mut connection_limit = None;
    let mut case_insensitive = false;
    loop {
        if eat(parser, "owner") {
            let _ = parser.consume_token(&Token::Eq);
            owner = Some(self::name(parser)?);
        } else if eat_all(parser, &["connection", "limit"]) {
            connection_limit = Some(if eat(parser, "unlimited") {
                None
            } else {
                Some(number(parser)?)
            });
        } else if eat(parser, "collate") {
            if eat(parser, "case_insensitive") {
                case_insensitive = true;
            } else {
                expect(parser, "case_sensitive")?;
            }
        } else if eat_all(parser, &["isolation", "level"]) {
            if !eat(parser, "snapshot") {
                expect(parser, "serializable")?;
            }
        } else {
            break;
        }
    }
    Ok(AccessStmt::CreateDatabase {
        name,
        owner,
        connection_limit,
        case_insensitive,
    })
}

/// `CREATE GROUP g [[WITH] USER u, ...]`, after `CREATE GROUP`.
fn create_group(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    let name = name(parser)?;
    let users = if eat(parser, "with") {
        expect(parser, "user")?;
        name_list(parser)?
    } else if eat(parser, "user") {
        name_list(parser)?
    } else {
        Vec::new()
    };
    Ok(AccessStmt::CreateGroup { name, users })
}

/// `ALTER GROUP g ADD USER ... | DROP [USER] ... | RENAME TO ...`, after
/// `ALTER GROUP`.
fn alter_group(parser: &mut Parser) -> Result<AccessStmt, ParserError> {
    let name = name(parser)?;
    let change = if eat(parser, "add") {
        expect(parser, "user")?;
        AlterGroup::AddUsers(name_list(parser)?)
    } else if eat(parser, "drop") {
        eat(parser, "user");
        AlterGroup::DropUsers(name_list(parser)?)
    } else if eat(parser, "rename") {
        expect(parser, "to")?;
        AlterGroup::RenameTo(self::name(parser)?)
    } else {
        return parser.expected("ADD, DROP or RENAME", parser.peek_token());
    };
    Ok(AccessStmt::AlterGroup { name, change })
}

/// `GRANT privileges ON objects TO grantees [WITH GRANT OPTION]`, after
/// `GRANT`.
fn grant(parser: &mut Parser) -> Result<Grant, ParserError> {
    let privileges = privileges(parser)?;
    expect(parser, "on")?;
    let objects = objects(parser)?;
    expect(parser, "to")?;
    let grantees = grantees(parser)?;
    let with_grant_option = eat_all(parser, &["with", "grant", "option"]);
    Ok(Grant {
        privileges,
        objects,
        grantees,
        with_grant_option,
    })
}

/// `REVOKE [GRANT OPTION FOR] privileges ON objects FROM grantees
/// [RESTRICT | CASCADE]`, after `REVOKE`.
fn revoke(parser: &mut Parser) -> Result<Revoke, ParserError> {
    let grant_option_for = eat_all(parser, &["grant", "option", "for"]);
    let privileges = privileges(parser)?;
    expect(parser, "on")?;
    let objects = objects(parser)?;
    expect(parser, "from")?;
    let grantees = grantees(parser)?;
    let cascade = restrict_or_cascade(parser);
    Ok(Revoke {
        grant_option_for,
        privileges,
        objects,
        grantees,
        cascade,
    })
}

/// The rest of ALTER DEFAULT PRIVILEGES, after those words.
fn default_privileges(parser: &mut Parser) -> Result<DefaultPrivileges, ParserError> {
    let for_users = if eat_all(parser, &["for", "user"]) {
        name_list(parser)?
    } else {
        Vec::new()
    };
    let schemas = if eat_all(parser, &["in", "schema"]) {
        name_list(parser)?
    } else {
        Vec::new()
    };
    let grant = if eat(parser, "grant") {
        true
    } else if eat(parser, "revoke") {
        false
    } else {
        return parser.expected("GRANT or REVOKE", parser.peek_token());
    };
    let mut grant_option = !grant && eat_all(parser, &["grant", "option", "for"]);
    let privileges = privileges(parser)?;
    expect(parser, "on")?;
    let objects = if eat(parser, "tables") {
        DefaultObjects::Tables
    } else if eat(parser, "functions") {
        DefaultObjects::Functions
    } else if eat(parser, "procedures") {
        DefaultObjects::Procedures
    } else {
        return parser.expected("TABLES, FUNCTIONS or PROCEDURES", parser.peek_token());
    };
    expect(parser, if grant { "to" } else { "from" })?;
    let grantees = grantees(parser)?;
    if grant {
        grant_option = eat_all(parser, &["with", "grant", "option"]);
    } else {
        restrict_or_cascade(parser);
    }
    Ok(DefaultPrivileges {
        for_users,
        schemas,
        objects,
        grant,
        privileges,
        grantees,
        grant_option,
    })
}

/// An optional `RESTRICT | CASCADE`: true for CASCADE.
fn restrict_or_cascade(parser: &mut Parser) -> bool {
    eat(parser, "cascade") || {
        eat(parser, "restrict");
        false
    }
}

/// `ALL [PRIVILEGES]` or `priv [(col, ...)] [, ...]`.
fn privileges(parser: &mut Parser) -> Result<Privileges, ParserError> {
    if eat(parser, "all") {
        eat(parser, "privileges");
        return Ok(Privileges::All);
    }
    let list = comma_list(parser, |parser| {
        let privilege = privilege(parser)?;
        let columns = if parser.consume_token(&Token::LParen) {
            let columns = name_list(parser)?;
            parser.expect_token(&Token::RParen)?;
            columns
        } else {
            Vec::new()
        };
        Ok((privilege, columns))
    })?;
    Ok(Privileges::List(list))
}

/// One privilege word.
fn privilege(parser: &mut Parser) -> Result<Privilege, ParserError> {
    const PRIVILEGES: &[(&str, Privilege)] = &[
        ("select", Privilege::Select),
        ("insert", Privilege::Insert),
        ("update", Privilege::Update),
        ("delete", Privilege::Delete),
        ("drop", Privilege::Drop),
        ("references", Privilege::References),
        ("create", Privilege::Create),
        ("temporary", Privilege::Temp),
        ("temp", Privilege::Temp),
        ("usage", Privilege::Usage),
        ("execute", Privilege::Execute),
        ("alter", Privilege::Alter),
        ("truncate", Privilege::Truncate),
    ];
    for (w, privilege) in PRIVILEGES {
        if eat(parser, w) {
            return Ok(*privilege);
        }
    }
    parser.expected("a privilege", parser.peek_token())
}

/// What a GRANT / REVOKE is on.
fn objects(parser: &mut Parser) -> Result<GrantObjects, ParserError> {
    if eat(parser, "all") {
        let kind: fn(Vec<String>) -> GrantObjects = if eat(parser, "tables") {
            GrantObjects::AllTablesInSchema
        } else if eat(parser, "functions") {
            GrantObjects::AllFunctionsInSchema
        } else if eat(parser, "procedures") {
            GrantObjects::AllProceduresInSchema
        } else {
            return parser.expected("TABLES, FUNCTIONS or PROCEDURES", parser.peek_token());
        };
        expect(parser, "in")?;
        expect(parser, "schema")?;
        return Ok(kind(name_list(parser)?));
    }
    let objects = if eat(parser, "schema") {
        GrantObjects::Schemas(name_list(parser)?)
    } else if eat(parser, "database") {
        GrantObjects::Databases(name_list(parser)?)
    } else if eat(parser, "function") {
        GrantObjects::Functions(comma_list(parser, routine)?)
    } else if eat(parser, "procedure") {
        GrantObjects::Procedures(comma_list(parser, routine)?)
    } else if eat(parser, "language") {
        GrantObjects::Languages(name_list(parser)?)
    } else {
        eat(parser, "table");
        GrantObjects::Tables(comma_list(parser, object_name)?)
    };
    Ok(objects)
}

/// `f(argtype, ...)`: the name, and the argument types rendered in lower
/// case, joined by "," (words of one type kept apart by single spaces).
fn routine(parser: &mut Parser) -> Result<(ObjectName, String), ParserError> {
    let name = object_name(parser)?;
    parser.expect_token(&Token::LParen)?;
    let mut args: Vec<String> = Vec::new();
    let mut arg = String::new();
    let mut depth = 0usize;
    let mut after_word = false;
    loop {
        let token = parser.next_token();
        match &token.token {
            Token::EOF => return parser.expected(")", token),
            Token::Comma | Token::RParen if depth == 0 => {
                let done = token.token == Token::RParen;
                if arg.is_empty() && !(done && args.is_empty()) {
                    return parser.expected("an argument type", token);
                }
                if !arg.is_empty() {
                    args.push(std::mem::take(&mut arg));
                }
                if done {
                    break;
                }
                after_word = false;
                continue;
            }
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        let (text, word) = match &token.token {
            Token::Word(w) => (w.value.to_lowercase(), true),
            Token::Number(n, _) => (n.clone(), true),
            other => (other.to_string().to_lowercase(), false),
        };
        if word && after_word {
            arg.push(' ');
        }
        arg.push_str(&text);
        after_word = word;
    }
    Ok((name, args.join(",")))
}

/// `grantee [, ...]`.
fn grantees(parser: &mut Parser) -> Result<Vec<GranteeSpec>, ParserError> {
    comma_list(parser, grantee)
}

/// `name | USER name | GROUP g | ROLE r | PUBLIC` (quoted "public" too).
fn grantee(parser: &mut Parser) -> Result<GranteeSpec, ParserError> {
    if eat(parser, "group") {
        return Ok(GranteeSpec::Group(name(parser)?));
    }
    if eat(parser, "role") {
        return Ok(GranteeSpec::Role(name(parser)?));
    }
    if eat(parser, "user") {
        return Ok(GranteeSpec::User(name(parser)?));
    }
    if matches!(&parser.peek_token_ref().token, Token::Word(w) if w.value.eq_ignore_ascii_case("public"))
    {
        parser.next_token();
        return Ok(GranteeSpec::Public);
    }
    Ok(GranteeSpec::User(name(parser)?))
}

/// `item [, ...]`, with no trailing comma.
fn comma_list<T>(
    parser: &mut Parser,
    mut item: impl FnMut(&mut Parser) -> Result<T, ParserError>,
) -> Result<Vec<T>, ParserError> {
    let mut items = vec![item(parser)?];
    while parser.consume_token(&Token::Comma) {
        items.push(item(parser)?);
    }
    Ok(items)
}

/// `name [, ...]`.
fn name_list(parser: &mut Parser) -> Result<Vec<String>, ParserError> {
    comma_list(parser, name)
}

/// A one-part name (quoted, or unquoted and not reserved), folded.
fn name(parser: &mut Parser) -> Result<String, ParserError> {
    let token = parser.next_token();
    match token.token {
        Token::Word(w) if !is_reserved(&w) => Ok(folded(&w.into_ident(token.span))),
        _ => parser.expected("a name", token),
    }
}

/// A name of one to three parts, each folded.
fn object_name(parser: &mut Parser) -> Result<ObjectName, ParserError> {
    let start = parser.peek_token();
    if matches!(&start.token, Token::Word(w) if is_reserved(w)) {
        return parser.expected("a name", start);
    }
    let mut name = parser.parse_object_name(false)?;
    if name.0.len() > 3 {
        return parser.expected("a name of at most three parts", start);
    }
    for part in &mut name.0 {
        if let ObjectNamePart::Identifier(ident) = part {
            *part = ObjectNamePart::Identifier(Ident {
                value: folded(ident),
                quote_style: ident.quote_style,
                span: ident.span,
            });
        }
    }
    Ok(name)
}

/// A string literal's text.
fn string(parser: &mut Parser) -> Result<String, ParserError> {
    let token = parser.next_token();
    match token.token {
        Token::SingleQuotedString(s) => Ok(s),
        _ => parser.expected("a string", token),
    }
}

/// A non-negative integer.
fn number(parser: &mut Parser) -> Result<i64, ParserError> {
    let at = parser.peek_token();
    let n = parser.parse_literal_uint()?;
    i64::try_from(n).or_else(|_| parser.expected("a smaller number", at))
}

fn is_reserved(w: &datafusion::sql::sqlparser::tokenizer::Word) -> bool {
    w.quote_style.is_none() && RESERVED.iter().any(|r| w.value.eq_ignore_ascii_case(r))
}

/// Whether `t` is the unquoted word `w` (any case).
fn is_word(t: &Token, w: &str) -> bool {
    matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// Whether the unquoted word `w` comes next.
fn word(parser: &Parser, w: &str) -> bool {
    is_word(&parser.peek_token_ref().token, w)
}

/// Consumes the unquoted word `w` if it comes next.
fn eat(parser: &mut Parser, w: &str) -> bool {
    let found = word(parser, w);
    if found {
        parser.next_token();
    }
    found
}

/// Consumes the words `ws` if they all come next, else nothing.
fn eat_all(parser: &mut Parser, ws: &[&str]) -> bool {
    let found = ws
        .iter()
        .enumerate()
        .all(|(n, w)| is_word(&parser.peek_nth_token_ref(n).token, w));
    if found {
        for _ in ws {
            parser.next_token();
        }
    }
    found
}

/// Consumes the unquoted word `w`, or fails.
fn expect(parser: &mut Parser, w: &str) -> Result<(), ParserError> {
    if eat(parser, w) {
        Ok(())
    } else {
        parser.expected(&w.to_uppercase(), parser.peek_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Stmt, parse_statements};

    fn access(sql: &str) -> AccessStmt {
        let mut stmts = parse_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(stmts.len(), 1, "{sql}");
        match stmts.remove(0).stmt {
            Stmt::Access(a) => *a,
            other => panic!("{sql}: not an access statement: {other:?}"),
        }
    }

    fn fails(sql: &str) {
        assert!(parse_statements(sql).is_err(), "{sql} should not parse");
    }

    fn names(ns: &[&str]) -> Vec<String> {
        ns.iter().map(|n| n.to_string()).collect()
    }

    fn object(parts: &[&str]) -> ObjectName {
        ObjectName::from(parts.iter().map(|p| Ident::new(*p)).collect::<Vec<_>>())
    }

    fn user(n: &str) -> GranteeSpec {
        GranteeSpec::User(n.to_string())
    }

    fn group(n: &str) -> GranteeSpec {
        GranteeSpec::Group(n.to_string())
    }

    fn list(ps: &[Privilege]) -> Privileges {
        Privileges::List(ps.iter().map(|p| (*p, Vec::new())).collect())
    }

    #[test]
    fn databases() {
        assert_eq!(
            access("create database sjordandb owner sjordan"),
            AccessStmt::CreateDatabase {
                name: "sjordandb".into(),
                owner: Some("sjordan".into()),
                connection_limit: None,
                case_insensitive: false,
            }
        );
        assert_eq!(
            access(
                "CREATE DATABASE d WITH OWNER = u CONNECTION LIMIT UNLIMITED COLLATE CASE_INSENSITIVE ISOLATION LEVEL SNAPSHOT"
            ),
            AccessStmt::CreateDatabase {
                name: "d".into(),
                owner: Some("u".into()),
                connection_limit: Some(None),
                case_insensitive: true,
            }
        );
        assert_eq!(
            access("drop database d"),
            AccessStmt::DropDatabase { name: "d".into() }
        );
    }

    #[test]
    fn create_user_with_options() {
        assert_eq!(
            access("create user dbuser with password 'abcD1234' createdb connection limit 30;"),
            AccessStmt::CreateUser {
                name: "dbuser".into(),
                options: vec![
                    UserOption::Password(PasswordSpec::Text("abcD1234".into())),
                    UserOption::CreateDb(true),
                    UserOption::ConnectionLimit(Some(30)),
                ],
            }
        );
        assert_eq!(
            access("create user user1 password 'md5153c434b4b77c89e6b94f12c5393af5b';"),
            AccessStmt::CreateUser {
                name: "user1".into(),
                options: vec![UserOption::Password(PasswordSpec::Text(
                    "md5153c434b4b77c89e6b94f12c5393af5b".into()
                ))],
            }
        );
        assert_eq!(
            access("create user iam_only password disable;"),
            AccessStmt::CreateUser {
                name: "iam_only".into(),
                options: vec![UserOption::Password(PasswordSpec::Disable)],
            }
        );
    }

    #[test]
    fn create_user_every_option_in_any_order() {
        assert_eq!(
            access(
                "CREATE USER \"Bob\" NOCREATEDB CREATEUSER NOCREATEUSER SYSLOG ACCESS UNRESTRICTED \
                 syslog access restricted IN GROUP g1, \"G2\" VALID UNTIL 'infinity' \
                 CONNECTION LIMIT UNLIMITED PASSWORD 'x' SESSION TIMEOUT 600 EXTERNALID 'ABC'"
            ),
            AccessStmt::CreateUser {
                name: "bob".into(),
                options: vec![
                    UserOption::CreateDb(false),
                    UserOption::CreateUser(true),
                    UserOption::CreateUser(false),
                    UserOption::SyslogUnrestricted(true),
                    UserOption::SyslogUnrestricted(false),
                    UserOption::InGroup(names(&["g1", "g2"])),
                    UserOption::ValidUntil("infinity".into()),
                    UserOption::ConnectionLimit(None),
                    UserOption::Password(PasswordSpec::Text("x".into())),
                    UserOption::SessionTimeout(600),
                    UserOption::ExternalId("ABC".into()),
                ],
            }
        );
        assert_eq!(
            access("create user Alice externalid Ext1"),
            AccessStmt::CreateUser {
                name: "alice".into(),
                options: vec![UserOption::ExternalId("ext1".into())],
            }
        );
    }

    #[test]
    fn alter_user_options() {
        let options = |name: &str, options: Vec<UserOption>| AccessStmt::AlterUser {
            name: name.into(),
            change: AlterUser::Options(options),
        };
        assert_eq!(
            access("alter user admin createuser;"),
            options("admin", vec![UserOption::CreateUser(true)])
        );
        assert_eq!(
            access("alter user iuser valid until '2017-12-31';"),
            options("iuser", vec![UserOption::ValidUntil("2017-12-31".into())])
        );
        assert_eq!(
            access("alter user u with password disable session timeout 300 connection limit 5"),
            options(
                "u",
                vec![
                    UserOption::Password(PasswordSpec::Disable),
                    UserOption::SessionTimeout(300),
                    UserOption::ConnectionLimit(Some(5)),
                ]
            )
        );
    }

    #[test]
    fn alter_user_rename_set_reset() {
        assert_eq!(
            access("alter user dbuser rename to dbuser2;"),
            AccessStmt::AlterUser {
                name: "dbuser".into(),
                change: AlterUser::RenameTo("dbuser2".into()),
            }
        );
        assert_eq!(
            access("alter user dbuser set search_path to public, sales;"),
            AccessStmt::AlterUser {
                name: "dbuser".into(),
                change: AlterUser::Set("search_path".into(), Some("public, sales".into())),
            }
        );
        assert_eq!(
            access("alter user u set statement_timeout = 1000"),
            AccessStmt::AlterUser {
                name: "u".into(),
                change: AlterUser::Set("statement_timeout".into(), Some("1000".into())),
            }
        );
        assert_eq!(
            access("alter user u set search_path to '$user', Public"),
            AccessStmt::AlterUser {
                name: "u".into(),
                change: AlterUser::Set("search_path".into(), Some("$user, public".into())),
            }
        );
        assert_eq!(
            access("alter user u set query_group to default"),
            AccessStmt::AlterUser {
                name: "u".into(),
                change: AlterUser::Set("query_group".into(), None),
            }
        );
        assert_eq!(
            access("alter user u reset search_path"),
            AccessStmt::AlterUser {
                name: "u".into(),
                change: AlterUser::Reset("search_path".into()),
            }
        );
        assert_eq!(
            access("ALTER USER u RESET SESSION TIMEOUT"),
            AccessStmt::AlterUser {
                name: "u".into(),
                change: AlterUser::ResetSessionTimeout,
            }
        );
    }

    #[test]
    fn drop_user() {
        assert_eq!(
            access("drop user if exists a, b;"),
            AccessStmt::DropUser {
                if_exists: true,
                names: names(&["a", "b"]),
            }
        );
        assert_eq!(
            access("DROP USER \"A\""),
            AccessStmt::DropUser {
                if_exists: false,
                names: names(&["a"]),
            }
        );
    }

    #[test]
    fn groups() {
        assert_eq!(
            access("create group guests with user guest;"),
            AccessStmt::CreateGroup {
                name: "guests".into(),
                users: names(&["guest"]),
            }
        );
        assert_eq!(
            access("create group g user a, b"),
            AccessStmt::CreateGroup {
                name: "g".into(),
                users: names(&["a", "b"]),
            }
        );
        assert_eq!(
            access("create group g"),
            AccessStmt::CreateGroup {
                name: "g".into(),
                users: Vec::new(),
            }
        );
        assert_eq!(
            access("alter group admin_group add user dwuser1, dwuser2;"),
            AccessStmt::AlterGroup {
                name: "admin_group".into(),
                change: AlterGroup::AddUsers(names(&["dwuser1", "dwuser2"])),
            }
        );
        for sql in ["alter group g drop user a", "alter group g drop a"] {
            assert_eq!(
                access(sql),
                AccessStmt::AlterGroup {
                    name: "g".into(),
                    change: AlterGroup::DropUsers(names(&["a"])),
                },
                "{sql}"
            );
        }
        assert_eq!(
            access("alter group g rename to h"),
            AccessStmt::AlterGroup {
                name: "g".into(),
                change: AlterGroup::RenameTo("h".into()),
            }
        );
        assert_eq!(
            access("drop group g"),
            AccessStmt::DropGroup { name: "g".into() }
        );
    }

    #[test]
    fn grant_on_schemas_tables_and_databases() {
        assert_eq!(
            access("grant select on all tables in schema qa_tickit to group qa_users;"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Select]),
                objects: GrantObjects::AllTablesInSchema(names(&["qa_tickit"])),
                grantees: vec![group("qa_users")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant usage on schema sales to group report_readers;"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Usage]),
                objects: GrantObjects::Schemas(names(&["sales"])),
                grantees: vec![group("report_readers")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant all on table t1, s.t2 to fred with grant option;"),
            AccessStmt::Grant(Grant {
                privileges: Privileges::All,
                objects: GrantObjects::Tables(vec![object(&["t1"]), object(&["s", "t2"])]),
                grantees: vec![user("fred")],
                with_grant_option: true,
            })
        );
        assert_eq!(
            access("grant select(cust_name, cust_phone) on cust_profile to user1;"),
            AccessStmt::Grant(Grant {
                privileges: Privileges::List(vec![(
                    Privilege::Select,
                    names(&["cust_name", "cust_phone"])
                )]),
                objects: GrantObjects::Tables(vec![object(&["cust_profile"])]),
                grantees: vec![user("user1")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant create, temp on database dev to public;"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Create, Privilege::Temp]),
                objects: GrantObjects::Databases(names(&["dev"])),
                grantees: vec![GranteeSpec::Public],
                with_grant_option: false,
            })
        );
    }

    #[test]
    fn every_privilege_and_grantee() {
        assert_eq!(
            access(
                "GRANT ALL PRIVILEGES ON Db.S.T TO USER u, \"Bob\", GROUP g, ROLE r, PUBLIC, \"public\""
            ),
            AccessStmt::Grant(Grant {
                privileges: Privileges::All,
                objects: GrantObjects::Tables(vec![object(&["db", "s", "t"])]),
                grantees: vec![
                    user("u"),
                    user("bob"),
                    group("g"),
                    GranteeSpec::Role("r".into()),
                    GranteeSpec::Public,
                    GranteeSpec::Public,
                ],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access(
                "grant select, insert, update (a), delete, drop, references, create, temporary, \
                 temp, usage, execute, alter, truncate on t to u"
            ),
            AccessStmt::Grant(Grant {
                privileges: Privileges::List(vec![
                    (Privilege::Select, Vec::new()),
                    (Privilege::Insert, Vec::new()),
                    (Privilege::Update, names(&["a"])),
                    (Privilege::Delete, Vec::new()),
                    (Privilege::Drop, Vec::new()),
                    (Privilege::References, Vec::new()),
                    (Privilege::Create, Vec::new()),
                    (Privilege::Temp, Vec::new()),
                    (Privilege::Temp, Vec::new()),
                    (Privilege::Usage, Vec::new()),
                    (Privilege::Execute, Vec::new()),
                    (Privilege::Alter, Vec::new()),
                    (Privilege::Truncate, Vec::new()),
                ]),
                objects: GrantObjects::Tables(vec![object(&["t"])]),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
    }

    #[test]
    fn quoted_table_names_keep_their_quotes() {
        let AccessStmt::Grant(g) = access("grant select on \"My\".t to u") else {
            panic!("expected a grant")
        };
        assert_eq!(
            g.objects,
            GrantObjects::Tables(vec![ObjectName::from(vec![
                Ident::with_quote('"', "my"),
                Ident::new("t"),
            ])])
        );
    }

    #[test]
    fn grant_on_functions_procedures_and_languages() {
        assert_eq!(
            access("grant execute on function f_py_greater(a float, b float) to group g"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Execute]),
                objects: GrantObjects::Functions(vec![(
                    object(&["f_py_greater"]),
                    "a float,b float".into()
                )]),
                grantees: vec![group("g")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access(
                "grant execute on function f_add(INT, character varying), s.f(), \
                 g(numeric(10, 2), VARCHAR(MAX)) to u"
            ),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Execute]),
                objects: GrantObjects::Functions(vec![
                    (object(&["f_add"]), "int,character varying".into()),
                    (object(&["s", "f"]), String::new()),
                    (object(&["g"]), "numeric(10,2),varchar(max)".into()),
                ]),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant execute on procedure p(int) to u"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Execute]),
                objects: GrantObjects::Procedures(vec![(object(&["p"]), "int".into())]),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant execute on all functions in schema a, b to u"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Execute]),
                objects: GrantObjects::AllFunctionsInSchema(names(&["a", "b"])),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant execute on all procedures in schema s to u"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Execute]),
                objects: GrantObjects::AllProceduresInSchema(names(&["s"])),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
        assert_eq!(
            access("grant usage on language plpythonu, sql to u"),
            AccessStmt::Grant(Grant {
                privileges: list(&[Privilege::Usage]),
                objects: GrantObjects::Languages(names(&["plpythonu", "sql"])),
                grantees: vec![user("u")],
                with_grant_option: false,
            })
        );
    }

    #[test]
    fn revoke() {
        assert_eq!(
            access("revoke grant option for select on t from fred cascade;"),
            AccessStmt::Revoke(Revoke {
                grant_option_for: true,
                privileges: list(&[Privilege::Select]),
                objects: GrantObjects::Tables(vec![object(&["t"])]),
                grantees: vec![user("fred")],
                cascade: true,
            })
        );
        assert_eq!(
            access("revoke all on schema s from group g, public restrict"),
            AccessStmt::Revoke(Revoke {
                grant_option_for: false,
                privileges: Privileges::All,
                objects: GrantObjects::Schemas(names(&["s"])),
                grantees: vec![group("g"), GranteeSpec::Public],
                cascade: false,
            })
        );
    }

    #[test]
    fn alter_default_privileges() {
        assert_eq!(
            access(
                "alter default privileges for user report_admin grant select on tables to group report_readers;"
            ),
            AccessStmt::AlterDefaultPrivileges(DefaultPrivileges {
                for_users: names(&["report_admin"]),
                schemas: Vec::new(),
                objects: DefaultObjects::Tables,
                grant: true,
                privileges: list(&[Privilege::Select]),
                grantees: vec![group("report_readers")],
                grant_option: false,
            })
        );
        assert_eq!(
            access(
                "alter default privileges in schema sales grant insert on tables to group sales_admin;"
            ),
            AccessStmt::AlterDefaultPrivileges(DefaultPrivileges {
                for_users: Vec::new(),
                schemas: names(&["sales"]),
                objects: DefaultObjects::Tables,
                grant: true,
                privileges: list(&[Privilege::Insert]),
                grantees: vec![group("sales_admin")],
                grant_option: false,
            })
        );
        assert_eq!(
            access("alter default privileges revoke execute on functions from public;"),
            AccessStmt::AlterDefaultPrivileges(DefaultPrivileges {
                for_users: Vec::new(),
                schemas: Vec::new(),
                objects: DefaultObjects::Functions,
                grant: false,
                privileges: list(&[Privilege::Execute]),
                grantees: vec![GranteeSpec::Public],
                grant_option: false,
            })
        );
        assert_eq!(
            access(
                "ALTER DEFAULT PRIVILEGES FOR USER a, b IN SCHEMA s, t \
                 GRANT ALL ON PROCEDURES TO u WITH GRANT OPTION"
            ),
            AccessStmt::AlterDefaultPrivileges(DefaultPrivileges {
                for_users: names(&["a", "b"]),
                schemas: names(&["s", "t"]),
                objects: DefaultObjects::Procedures,
                grant: true,
                privileges: Privileges::All,
                grantees: vec![user("u")],
                grant_option: true,
            })
        );
        assert_eq!(
            access(
                "alter default privileges revoke grant option for select on tables from u cascade"
            ),
            AccessStmt::AlterDefaultPrivileges(DefaultPrivileges {
                for_users: Vec::new(),
                schemas: Vec::new(),
                objects: DefaultObjects::Tables,
                grant: false,
                privileges: list(&[Privilege::Select]),
                grantees: vec![user("u")],
                grant_option: true,
            })
        );
    }

    #[test]
    fn session_authorization() {
        assert_eq!(
            access("set session authorization 'dwuser';"),
            AccessStmt::SetSessionAuthorization(Some("dwuser".into()))
        );
        assert_eq!(
            access("SET SESSION AUTHORIZATION DwUser"),
            AccessStmt::SetSessionAuthorization(Some("dwuser".into()))
        );
        assert_eq!(
            access("set session authorization default;"),
            AccessStmt::SetSessionAuthorization(None)
        );
        assert_eq!(
            access("reset session authorization"),
            AccessStmt::SetSessionAuthorization(None)
        );
    }

    #[test]
    fn other_statements_are_not_access_statements() {
        for sql in [
            "create table t (a int)",
            "set search_path to x",
            "alter table t rename to u",
            "select 1",
        ] {
            let stmts = parse_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            assert!(
                !matches!(stmts[0].stmt, Stmt::Access(_)),
                "{sql} parsed as an access statement"
            );
        }
    }

    #[test]
    fn syntax_errors() {
        for sql in [
            "grant select on t to",
            "grant select on t",
            "grant select on",
            "grant select",
            "grant",
            "grant frobnicate on t to u",
            "grant select on t to u with grant",
            "grant select on t to group",
            "grant select on a.b.c.d to u",
            "grant execute on function f(int to u",
            "grant execute on function f(int,) to u",
            "grant select on all things in schema s to u",
            "revoke select on t to u",
            "create user u password",
            "create user u password 42",
            "create user with password 'x'",
            "create user u in group",
            "create user u connection limit",
            "create user u syslog access",
            "create user u bogus",
            "create",
            "alter user u",
            "alter user u in group g",
            "alter user u rename",
            "alter user u set search_path",
            "alter user u set search_path to",
            "drop user",
            "drop user a,",
            "create group",
            "alter group g",
            "alter group g add a",
            "drop group",
            "alter default privileges grant select on t to u",
            "alter default privileges select on tables to u",
            "set session authorization",
            "reset session authorization u",
            "set session authorization 42",
        ] {
            fails(sql);
        }
    }

    #[test]
    fn errors_name_the_token() {
        let e = parse_statements("create user u bogus").expect_err("bad");
        assert_eq!(e.message(), "syntax error at or near \"bogus\"");
        let e = parse_statements("grant select on t to").expect_err("bad");
        assert_eq!(e.message(), "syntax error at end of input");
        let e = parse_statements("grant frob on t to u").expect_err("bad");
        assert_eq!(e.message(), "syntax error at or near \"frob\"");
    }
}
