//! Who may do what: users, groups and access control lists, kept in the
//! catalog so that they commit, roll back and survive crashes exactly as
//! tables do.
//!
//! Users and groups have ids of their own (`usesysid`, `grosysid`), counted
//! from [`FIRST_ROLE_ID`] as on a new Redshift cluster. Owners of schemas and
//! tables are recorded by user name (renaming a user renames them); grants
//! record ids, so they follow a rename by themselves.
//!
//! An [`AclItem`] is one grantee's privileges on one object, with the subset
//! it may grant on. Grants and revokes are applied as changes to the lists
//! (not as whole new lists), so that concurrent grants on one object both
//! survive.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::ObjectId;

/// A user's or group's id.
pub type RoleId = i32;

/// The id of the first user (the cluster's admin) and group.
pub const FIRST_ROLE_ID: RoleId = 100;

/// A user as the catalog stores it. Only password hashes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    pub id: RoleId,
    pub name: String,
    #[serde(default)]
    pub superuser: bool,
    #[serde(default)]
    pub createdb: bool,
    /// `None` for `PASSWORD DISABLE` (only temporary credentials log in).
    pub password: Option<PasswordHash>,
    /// When the password stops working, in microseconds since the Unix epoch.
    #[serde(default)]
    pub valid_until: Option<i64>,
    /// Concurrent sessions allowed; `None` is UNLIMITED.
    #[serde(default)]
    pub connection_limit: Option<u32>,
    /// `SYSLOG ACCESS UNRESTRICTED`.
    #[serde(default)]
    pub syslog_unrestricted: bool,
    /// `SESSION TIMEOUT`, in seconds.
    #[serde(default)]
    pub session_timeout: Option<u32>,
    /// Session defaults set with `ALTER USER ... SET`, as `name=value`.
    #[serde(default)]
    pub config: Vec<(String, String)>,
}

/// The stored forms of a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHash {
    /// `md5` followed by md5(password || user name) in hex.
    pub md5: String,
    /// A SCRAM-SHA-256 verifier, when the password was given in clear text.
    #[serde(default)]
    pub scram: Option<String>,
    /// `<digest>|<salt>` (hex) when the password was given in Redshift's
    /// `sha256|<digest>|<salt>` form: only a clear-text password presented
    /// at login can be checked against it.
    #[serde(default)]
    pub sha256: Option<String>,
}

impl UserEntry {
    /// A user with no password, no special rights and no limits: what
    /// CREATE USER starts from before its options.
    pub fn new(id: RoleId, name: &str) -> UserEntry {
        UserEntry {
            id,
            name: name.to_string(),
            superuser: false,
            createdb: false,
            password: None,
            valid_until: None,
            connection_limit: None,
            syslog_unrestricted: false,
            session_timeout: None,
            config: Vec::new(),
        }
    }
}

/// A database, beyond the schemas in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    pub name: String,
    /// The owner's user name.
    pub owner: String,
    /// Concurrent sessions allowed; `None` is UNLIMITED.
    #[serde(default)]
    pub connection_limit: Option<u32>,
}

/// A group of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntry {
    pub id: RoleId,
    pub name: String,
    pub members: BTreeSet<RoleId>,
}

/// A set of privileges, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Privileges(pub u16);

impl Privileges {
    pub const NONE: Privileges = Privileges(0);
    pub const SELECT: Privileges = Privileges(1);
    pub const INSERT: Privileges = Privileges(1 << 1);
    pub const UPDATE: Privileges = Privileges(1 << 2);
    pub const DELETE: Privileges = Privileges(1 << 3);
    pub const REFERENCES: Privileges = Privileges(1 << 4);
    pub const DROP: Privileges = Privileges(1 << 5);
    pub const ALTER: Privileges = Privileges(1 << 6);
    pub const TRUNCATE: Privileges = Privileges(1 << 7);
    pub const CREATE: Privileges = Privileges(1 << 8);
    pub const TEMP: Privileges = Privileges(1 << 9);
    pub const USAGE: Privileges = Privileges(1 << 10);
    pub const EXECUTE: Privileges = Privileges(1 << 11);

    /// What `ALL` means on a table or view.
    pub const ALL_TABLE: Privileges = Privileges(0b1111_1111);
    /// What `ALL` means on a schema.
    pub const ALL_SCHEMA: Privileges = Privileges((1 << 8) | (1 << 10));
    /// What `ALL` means on a database.
    pub const ALL_DATABASE: Privileges = Privileges((1 << 8) | (1 << 9));

    /// Each privilege with its letter in an ACL's text form, in
    /// PostgreSQL's order where PostgreSQL has the privilege.
    const LETTERS: [(Privileges, char); 12] = [
        (Privileges::INSERT, 'a'),
        (Privileges::SELECT, 'r'),
        (Privileges::UPDATE, 'w'),
        (Privileges::DELETE, 'd'),
        (Privileges::REFERENCES, 'x'),
        (Privileges::DROP, 'D'),
        (Privileges::ALTER, 'A'),
        (Privileges::TRUNCATE, 't'),
        (Privileges::EXECUTE, 'X'),
        (Privileges::USAGE, 'U'),
        (Privileges::CREATE, 'C'),
        (Privileges::TEMP, 'T'),
    ];

    pub fn contains(self, other: Privileges) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Privileges) -> Privileges {
        Privileges(self.0 | other.0)
    }

    pub fn minus(self, other: Privileges) -> Privileges {
        Privileges(self.0 & !other.0)
    }

    pub fn intersect(self, other: Privileges) -> Privileges {
        Privileges(self.0 & other.0)
    }

    /// The ACL letters of these privileges, `*` after each grantable one.
    pub fn letters(self, grantable: Privileges) -> String {
        let mut out = String::new();
        for (p, c) in Privileges::LETTERS {
            if self.contains(p) {
                out.push(c);
                if grantable.contains(p) {
                    out.push('*');
                }
            }
        }
        out
    }
}

/// Who holds an [`AclItem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grantee {
    Public,
    User(RoleId),
    Group(RoleId),
}

/// One grantee's privileges on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclItem {
    pub grantee: Grantee,
    pub privileges: Privileges,
    /// The privileges the grantee may grant on (WITH GRANT OPTION).
    pub grantable: Privileges,
    /// The user who granted them.
    pub grantor: RoleId,
}

impl AclItem {
    /// Privileges of PUBLIC granted by the system (as at bootstrap).
    pub fn public(privileges: Privileges) -> AclItem {
        AclItem {
            grantee: Grantee::Public,
            privileges,
            grantable: Privileges::NONE,
            grantor: SYSTEM_ROLE_ID,
        }
    }
}

/// The id standing for the system (`rdsdb`) as a grantor.
pub const SYSTEM_ROLE_ID: RoleId = 1;

/// An object privileges are granted on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AclObject {
    /// A table or view.
    Table(ObjectId),
    Schema(ObjectId),
    Database(String),
    /// A function or procedure, by its signature (`name(argtypes)`).
    Function(String),
}

/// The kind of object default privileges apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DefaultKind {
    Tables,
    Functions,
    Procedures,
}

impl DefaultKind {
    /// `defaclobjtype` of `pg_default_acl`.
    pub fn code(self) -> char {
        match self {
            DefaultKind::Tables => 'r',
            DefaultKind::Functions => 'f',
            DefaultKind::Procedures => 'p',
        }
    }
}

/// Whose new objects default privileges apply to, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DefaultAclKey {
    /// The user whose new objects get the privileges.
    pub owner: RoleId,
    /// `None` for every schema.
    pub schema: Option<ObjectId>,
    pub kind: DefaultKind,
}

/// What a grant or revoke changes: an object's list, or a default list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AclTarget {
    Object(AclObject),
    Default(DefaultAclKey),
}

impl AclTarget {
    /// The key under which the list is stored.
    pub(crate) fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Adds privileges to a list.
pub(crate) fn grant(items: &mut Vec<AclItem>, new: &AclItem) {
    match items.iter_mut().find(|i| i.grantee == new.grantee) {
        Some(item) => {
            item.privileges = item.privileges.union(new.privileges);
            item.grantable = item.grantable.union(new.grantable);
        }
        None => items.push(*new),
    }
}

/// Takes privileges (or only the right to grant them) away from a grantee.
pub(crate) fn revoke(
    items: &mut Vec<AclItem>,
    grantee: Grantee,
    privileges: Privileges,
    grant_option_only: bool,
) {
    for item in items.iter_mut().filter(|i| i.grantee == grantee) {
        item.grantable = item.grantable.minus(privileges);
        if !grant_option_only {
            item.privileges = item.privileges.minus(privileges);
        }
    }
    items.retain(|i| !i.privileges.is_empty());
}

/// Renders an ACL item as PostgreSQL's `aclitem` text: `name=arwd/grantor`,
/// `group name=r/grantor`, `=U/grantor` for PUBLIC.
pub struct AclDisplay<'a, F: Fn(Grantee) -> String> {
    pub item: &'a AclItem,
    pub name_of: F,
}

impl<F: Fn(Grantee) -> String> fmt::Display for AclDisplay<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grantee = match self.item.grantee {
            Grantee::Public => String::new(),
            Grantee::Group(_) => format!("group {}", (self.name_of)(self.item.grantee)),
            Grantee::User(_) => (self.name_of)(self.item.grantee),
        };
        write!(
            f,
            "{grantee}={}/{}",
            self.item.privileges.letters(self.item.grantable),
            (self.name_of)(Grantee::User(self.item.grantor))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(grantee: Grantee, p: Privileges, g: Privileges) -> AclItem {
        AclItem {
            grantee,
            privileges: p,
            grantable: g,
            grantor: FIRST_ROLE_ID,
        }
    }

    #[test]
    fn grants_add_up_and_revokes_take_away() {
        let mut acl = Vec::new();
        grant(
            &mut acl,
            &item(Grantee::User(101), Privileges::SELECT, Privileges::NONE),
        );
        grant(
            &mut acl,
            &item(Grantee::User(101), Privileges::INSERT, Privileges::INSERT),
        );
        grant(
            &mut acl,
            &item(Grantee::Public, Privileges::USAGE, Privileges::NONE),
        );
        assert_eq!(acl.len(), 2);
        assert_eq!(
            acl[0].privileges,
            Privileges::SELECT.union(Privileges::INSERT)
        );
        revoke(&mut acl, Grantee::User(101), Privileges::INSERT, true);
        assert!(acl[0].privileges.contains(Privileges::INSERT));
        assert!(acl[0].grantable.is_empty());
        revoke(&mut acl, Grantee::User(101), Privileges::ALL_TABLE, false);
        assert_eq!(acl.len(), 1);
        assert_eq!(acl[0].grantee, Grantee::Public);
    }

    #[test]
    fn acl_text_reads_as_postgres_writes_it() {
        let names = |g: Grantee| match g {
            Grantee::User(100) => "admin".to_string(),
            Grantee::User(_) => "fred".to_string(),
            Grantee::Group(_) => "readers".to_string(),
            Grantee::Public => String::new(),
        };
        let a = item(
            Grantee::User(101),
            Privileges::SELECT.union(Privileges::INSERT),
            Privileges::SELECT,
        );
        assert_eq!(
            AclDisplay {
                item: &a,
                name_of: names
            }
            .to_string(),
            "fred=ar*/admin"
        );
        let g = item(Grantee::Group(7), Privileges::SELECT, Privileges::NONE);
        assert_eq!(
            AclDisplay {
                item: &g,
                name_of: names
            }
            .to_string(),
            "group readers=r/admin"
        );
        let p = item(Grantee::Public, Privileges::ALL_SCHEMA, Privileges::NONE);
        assert_eq!(
            AclDisplay {
                item: &p,
                name_of: names
            }
            .to_string(),
            "=UC/admin"
        );
    }
}
