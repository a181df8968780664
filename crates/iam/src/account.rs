//! [`Account`]: the one AWS account Shale plays, with its IAM users, access
//! keys, roles and customer managed policies, the temporary credentials STS
//! issued, the cluster's associated roles and the database passwords the
//! Redshift credentials API issued.
//!
//! Every change is written to `<data>/iam.json` (temporary file, fsync,
//! rename, fsync of the directory) before it is acknowledged; reads take a
//! snapshot under a read lock. The account root's key pair (the `shale`
//! profile of `<data>/credentials`) is not stored here: it is given at open.
//!
//! Names follow IAM: user, role and policy names are unique
//! case-insensitively and keep the case they were created with.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shale_common::random;

use crate::eval::{Decision, Principal, Request, evaluate};
use crate::managed::managed_policy;
use crate::policy::{PolicyDocument, PolicyKind};

/// The AWS service principal Redshift assumes roles as.
pub const REDSHIFT_SERVICE: &str = "redshift.amazonaws.com";
/// The name of the role a new data directory's cluster starts with.
pub const DEFAULT_ROLE: &str = "AmazonRedshift-CommandsAccessRole-shale";
/// IAM's limit of access keys per user.
const KEYS_PER_USER: usize = 2;
/// Roles a cluster may have associated (Redshift's quota).
const ROLES_PER_CLUSTER: usize = 50;

/// Who is calling: the account root, an IAM user, or a session of a role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The account's root credentials: allowed everything.
    Root,
    /// An IAM user, by name.
    User(String),
    /// A session of a role (STS AssumeRole, or Redshift acting as the role).
    AssumedRole {
        /// The role's name.
        role: String,
        /// The session name.
        session: String,
    },
}

/// A credential a request may be signed with.
#[derive(Clone)]
pub struct Credential {
    /// The secret access key.
    pub secret: String,
    /// The session token temporary credentials carry.
    pub session_token: Option<String>,
    /// Whose credential it is.
    pub identity: Identity,
    /// When temporary credentials stop working.
    pub expiration: Option<DateTime<Utc>>,
}

/// Why a credential's session does not hold for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFault {
    /// The request's session token is not the one the key was issued with
    /// (or one is missing).
    WrongToken,
    /// Temporary credentials past their expiration.
    Expired,
}

impl Credential {
    /// Whether a request carrying `token` may use this credential now: the
    /// token it was issued with (none for long-term keys), compared in
    /// constant time, and not expired. Every signed path (S3, the APIs,
    /// COPY's keys) asks this.
    pub fn check_session(&self, token: Option<&str>) -> Result<(), SessionFault> {
        let matches = match (token, self.session_token.as_deref()) {
            (None, None) => true,
            (Some(given), Some(issued)) => {
                shale_common::password::constant_time_eq(given.as_bytes(), issued.as_bytes())
            }
            _ => false,
        };
        if !matches {
            return Err(SessionFault::WrongToken);
        }
        if self.expiration.is_some_and(|t| t <= Utc::now()) {
            return Err(SessionFault::Expired);
        }
        Ok(())
    }
}

impl fmt::Debug for Credential {
    // Never the secret or the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("identity", &self.identity)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// An IAM error: AWS's code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IamError {
    /// AWS's error code (`NoSuchEntity`).
    pub code: &'static str,
    /// The HTTP status it is answered with.
    pub status: u16,
    /// AWS's message.
    pub message: String,
}

impl IamError {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
        }
    }

    /// `NoSuchEntity` (404).
    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new("NoSuchEntity", 404, message)
    }

    fn exists(message: impl Into<String>) -> Self {
        Self::new("EntityAlreadyExists", 409, message)
    }

    fn conflict(message: impl Into<String>) -> Self {
        Self::new("DeleteConflict", 409, message)
    }

    /// `ValidationError` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", 400, message)
    }

    /// `InvalidInput` (400).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new("InvalidInput", 400, message)
    }

    fn malformed(e: &crate::PolicyError) -> Self {
        Self::new("MalformedPolicyDocument", 400, e.to_string())
    }

    /// `AccessDenied` (403).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", 403, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new("ServiceFailure", 500, message)
    }
}

/// A policy document as stored: its text and its parsed form.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    parsed: Arc<PolicyDocument>,
}

impl Document {
    fn parse(text: &str, kind: PolicyKind) -> Result<Self, IamError> {
        let parsed = PolicyDocument::parse(text, kind).map_err(|e| IamError::malformed(&e))?;
        Ok(Self {
            text: text.to_owned(),
            parsed: Arc::new(parsed),
        })
    }

    /// The document as it was given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed document.
    pub fn policy(&self) -> &PolicyDocument {
        &self.parsed
    }
}

/// An IAM user.
#[derive(Debug, Clone)]
pub struct User {
    /// The name, as created.
    pub name: String,
    /// `AIDA...`.
    pub id: String,
    /// The path (`/`).
    pub path: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Document>,
    /// ARNs of the attached managed policies.
    pub attached: Vec<String>,
}

/// An IAM role.
#[derive(Debug, Clone)]
pub struct Role {
    /// The name, as created.
    pub name: String,
    /// `AROA...`.
    pub id: String,
    /// The path (`/`).
    pub path: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// The trust policy: who may assume the role.
    pub trust: Document,
    /// The description, possibly empty.
    pub description: String,
    /// The longest session, in seconds (3600 to 43200).
    pub max_session_duration: i64,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Document>,
    /// ARNs of the attached managed policies.
    pub attached: Vec<String>,
}

/// A customer managed policy.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    /// The name, as created.
    pub name: String,
    /// `ANPA...`.
    pub id: String,
    /// The path (`/`).
    pub path: String,
    /// The description, possibly empty.
    pub description: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// The document (the one version, `v1`).
    pub document: Document,
}

/// An access key of an IAM user. The secret is never shown after creation.
#[derive(Clone)]
pub struct AccessKey {
    /// `AKIA...`.
    pub id: String,
    /// The secret access key.
    pub secret: String,
    /// The owning user.
    pub user: String,
    /// `Active` or `Inactive`.
    pub active: bool,
    /// When it was created.
    pub created: DateTime<Utc>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// Temporary credentials STS issued.
#[derive(Clone)]
pub struct TemporaryCredentials {
    /// `ASIA...`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: String,
    /// The session token.
    pub session_token: String,
    /// When they stop working.
    pub expiration: DateTime<Utc>,
    /// The role assumed.
    pub role: String,
    /// The id of the role assumed: a role deleted and made again under the
    /// same name is another role, and the old sessions do not carry over.
    pub role_id: String,
    /// The session name.
    pub session: String,
}

impl fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("role", &self.role)
            .field("session", &self.session)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Whom a database password the Redshift credentials API issued logs in
/// as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbLogin {
    /// The database user the session runs as.
    pub user: String,
    /// Whether a missing user is created at login (password disabled).
    pub auto_create: bool,
    /// Groups the user joins for the session (Redshift's `DbGroups`: not
    /// a lasting membership).
    pub groups: Vec<String>,
    /// The only database the password logs in to (`DbName`), or any.
    #[serde(default)]
    pub database: Option<String>,
}

/// What a database password the Redshift credentials API issued says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbPassword {
    /// It was issued for this login name and is still valid.
    Valid(DbLogin),
    /// It was issued for this user and has expired.
    Expired,
    /// No such password was issued for this user.
    Unknown,
}

/// The roles associated with the cluster, and its default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterRoles {
    /// Associated role ARNs, in the order they were added.
    pub roles: Vec<String>,
    /// The role `IAM_ROLE default` names.
    pub default: Option<String>,
}

/// Why Redshift cannot act as a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssumeRefusal {
    /// The ARN is not a role of this account, or no such role exists.
    NoSuchRole,
    /// The role is not associated with the cluster.
    NotAssociated,
    /// The role's trust policy does not let Redshift assume it.
    NotTrusted,
}

#[derive(Debug, Clone, Default)]
struct State {
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    policies: BTreeMap<String, ManagedPolicy>,
    keys: BTreeMap<String, AccessKey>,
    sessions: BTreeMap<String, TemporaryCredentials>,
    cluster: ClusterRoles,
    /// `(login name, sha256 of the password)` → expiration and whom it
    /// logs in as.
    db_passwords: BTreeMap<(String, String), (DateTime<Utc>, DbLogin)>,
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn sha256_hex(text: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

struct Inner {
    account_id: String,
    root: (String, String),
    file: Option<PathBuf>,
    state: RwLock<State>,
    writer: Mutex<()>,
}

/// The AWS account: IAM entities, credentials and the cluster's roles.
/// Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Account {
    inner: Arc<Inner>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("account_id", &self.inner.account_id)
            .finish_non_exhaustive()
    }
}

/// Why `iam.json` could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading the file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a valid account.
    #[error("{path} is corrupt: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Account {
    /// The account stored at `file` (created empty when missing), whose
    /// root signs with `root = (access key id, secret)`.
    pub fn open(file: &Path, account_id: &str, root: (String, String)) -> Result<Self, OpenError> {
        let state = match std::fs::read(file) {
            Ok(bytes) => {
                persisted::load(&bytes, account_id).map_err(|message| OpenError::Corrupt {
                    path: file.to_owned(),
                    message,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => {
                return Err(OpenError::Io {
                    path: file.to_owned(),
                    source,
                });
            }
        };
        Ok(Self::with_state(
            account_id,
            root,
            Some(file.to_owned()),
            state,
        ))
    }

    /// An account kept in memory only (tests).
    pub fn in_memory(account_id: &str, root: (String, String)) -> Self {
        Self::with_state(account_id, root, None, State::default())
    }

    fn with_state(
        account_id: &str,
        root: (String, String),
        file: Option<PathBuf>,
        state: State,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                account_id: account_id.to_owned(),
                root,
                file,
                state: RwLock::new(state),
                writer: Mutex::new(()),
            }),
        }
    }

    /// The 12-digit account id.
    pub fn id(&self) -> &str {
        &self.inner.account_id
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let guard = self
            .inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }

    /// Applies `f` to a copy of the state, persists the copy and makes it
    /// current; on any error nothing changes.
    fn mutate<T>(&self, f: impl FnOnce(&mut State) -> Result<T, IamError>) -> Result<T, IamError> {
        let _writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = self.read(State::clone);
        let out = f(&mut next)?;
        let now = Utc::now();
        next.sessions.retain(|_, s| s.expiration > now);
        next.db_passwords
            .retain(|_, (expiration, _)| *expiration > now);
        let stored = match &self.inner.file {
            Some(file) => persisted::store(file, self.id(), &next).map_err(|(in_place, e)| {
                let error = IamError::internal(format!("cannot write {}: {e}", file.display()));
                (in_place, error)
            }),
            None => Ok(()),
        };
        match stored {
            Ok(()) => self.set_state(next),
            // Not written: nothing changed.
            Err((false, e)) => return Err(e),
            // In place but perhaps not durable: memory follows the file,
            // and the caller hears of the failure.
            Err((true, e)) => {
                self.set_state(next);
                return Err(e);
            }
        }
        Ok(out)
    }

    fn set_state(&self, next: State) {
        *self
            .inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
    }

    // ---- ARNs -------------------------------------------------------------

    /// The ARN of `identity`.
    pub fn arn_of(&self, identity: &Identity) -> String {
        let account = self.id();
        match identity {
            Identity::Root => format!("arn:aws:iam::{account}:root"),
            Identity::User(name) => {
                let path = self.read(|s| s.users.get(&key(name)).map(|u| u.path.clone()));
                format!(
                    "arn:aws:iam::{account}:user{}{name}",
                    path.as_deref().unwrap_or("/")
                )
            }
            Identity::AssumedRole { role, session } => {
                format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
            }
        }
    }

    /// The ARN of the role `role`.
    pub fn role_arn(&self, role: &Role) -> String {
        format!("arn:aws:iam::{}:role{}{}", self.id(), role.path, role.name)
    }

    /// The ARN of the user `user`.
    pub fn user_arn(&self, user: &User) -> String {
        format!("arn:aws:iam::{}:user{}{}", self.id(), user.path, user.name)
    }

    /// The ARN of the customer managed policy `policy`.
    pub fn policy_arn(&self, policy: &ManagedPolicy) -> String {
        format!(
            "arn:aws:iam::{}:policy{}{}",
            self.id(),
            policy.path,
            policy.name
        )
    }

    /// The role whose ARN is exactly `arn` (account, path and name, case
    /// included), as IAM resolves `RoleArn`.
    fn role_at(&self, s: &State, arn: &str) -> Option<Role> {
        s.roles.values().find(|r| self.role_arn(r) == arn).cloned()
    }

    /// The role whose ARN is exactly `arn`.
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        self.read(|s| self.role_at(s, arn))
    }

    // ---- Credentials ------------------------------------------------------

    /// The credential with access key id `id`: the root's, an active IAM
    /// user key, or temporary credentials (possibly expired; callers check
    /// `expiration`).
    pub fn credential(&self, id: &str) -> Option<Credential> {
        if id == self.inner.root.0 {
            return Some(Credential {
                secret: self.inner.root.1.clone(),
                session_token: None,
                identity: Identity::Root,
                expiration: None,
            });
        }
        self.read(|s| {
            if let Some(k) = s.keys.get(id) {
                return k.active.then(|| Credential {
                    secret: k.secret.clone(),
                    session_token: None,
                    identity: Identity::User(k.user.clone()),
                    expiration: None,
                });
            }
            s.sessions
                .get(id)
                .filter(|t| s.roles.get(&key(&t.role)).map(|r| &r.id) == Some(&t.role_id))
                .map(|t| Credential {
                    secret: t.secret.clone(),
                    session_token: Some(t.session_token.clone()),
                    identity: Identity::AssumedRole {
                        role: t.role.clone(),
                        session: t.session.clone(),
                    },
                    expiration: Some(t.expiration),
                })
        })
    }

    /// Decides `request` for `identity`: the root may do everything; users
    /// and role sessions what their inline and attached policies allow.
    pub fn authorize(&self, identity: &Identity, request: &Request) -> Decision {
        let docs = match identity {
            Identity::Root => return Decision::Allow,
            Identity::User(name) => self.read(|s| {
                s.users
                    .get(&key(name))
                    .map(|u| policies_of(s, &u.inline, &u.attached))
            }),
            Identity::AssumedRole { role, .. } => self.read(|s| {
                s.roles
                    .get(&key(role))
                    .map(|r| policies_of(s, &r.inline, &r.attached))
            }),
        };
        let Some(docs) = docs else {
            return Decision::ImplicitDeny;
        };
        let refs: Vec<&PolicyDocument> = docs.iter().map(Arc::as_ref).collect();
        let mut request = request.clone();
        let arn = self.arn_of(identity);
        if request.principal.is_none() {
            request.principal = Some(Principal::Aws(arn.clone()));
        }
        // A role session's principal ARN is its role's.
        let arn = match identity {
            Identity::AssumedRole { role, .. } => self
                .read(|s| s.roles.get(&key(role)).map(|r| self.role_arn(r)))
                .unwrap_or(arn),
            _ => arn,
        };
        // The global condition keys every request carries.
        let now = Utc::now();
        let mut global = vec![
            ("aws:PrincipalArn", arn),
            ("aws:PrincipalAccount", self.id().to_owned()),
            (
                "aws:CurrentTime",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            ("aws:EpochTime", now.timestamp().to_string()),
        ];
        if let Identity::User(name) = identity {
            global.push(("aws:username", name.clone()));
        }
        for (k, v) in global {
            request
                .context
                .entry(k.to_owned())
                .or_insert_with(|| vec![v]);
        }
        evaluate(&refs, &request)
    }

    /// AWS's message for `identity` being denied `action` on `resource`.
    pub fn denial(&self, identity: &Identity, action: &str, resource: &str) -> String {
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action",
            self.arn_of(identity)
        )
    }

    /// Refuses with `AccessDenied` unless `identity` may do `action` on
    /// `resource`.
    pub fn require(
        &self,
        identity: &Identity,
        action: &str,
        resource: &str,
    ) -> Result<(), IamError> {
        match self.authorize(identity, &Request::new(action, resource)) {
            Decision::Allow => Ok(()),
            _ => Err(IamError::access_denied(
                self.denial(identity, action, resource),
            )),
        }
    }

    /// STS AssumeRole: `caller` assumes the role `role_arn` for
    /// `duration_seconds`, if its identity policies allow `sts:AssumeRole`
    /// on the role and the role's trust policy names it.
    pub fn assume_role(
        &self,
        caller: &Identity,
        role_arn: &str,
        session: &str,
        duration_seconds: i64,
    ) -> Result<TemporaryCredentials, IamError> {
        let not_authorized = || {
            IamError::access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                self.arn_of(caller)
            ))
        };
        if *caller == Identity::Root {
            return Err(IamError::access_denied(
                "Roles may not be assumed by root accounts.",
            ));
        }
        let role = self.role_by_arn(role_arn).ok_or_else(not_authorized)?;
        if duration_seconds < 900 {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{duration_seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
            )));
        }
        if duration_seconds > role.max_session_duration {
            return Err(IamError::validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        validate_name(session, "roleSessionName", 2, 64, r"[\w+=,.@-]*")?;
        self.may_assume(caller, role_arn)
            .map_err(|_| not_authorized())?;
        let credentials = TemporaryCredentials {
            access_key_id: random::aws_id("ASIA"),
            secret: random::secret_access_key(),
            session_token: random::string(random::SECRET_ALPHABET, 356),
            expiration: expires_in(duration_seconds)?,
            role: role.name.clone(),
            role_id: role.id.clone(),
            session: session.to_owned(),
        };
        let issued = credentials.clone();
        self.mutate(move |s| {
            // The role may have gone (or been re-created) meanwhile.
            if s.roles.get(&key(&issued.role)).map(|r| &r.id) != Some(&issued.role_id) {
                return Err(no_role(&issued.role));
            }
            s.sessions.insert(issued.access_key_id.clone(), issued);
            Ok(())
        })?;
        Ok(credentials)
    }

    /// Whether `caller` may assume the role `role_arn`: its identity
    /// policies allow `sts:AssumeRole` on the role (the root needs none)
    /// and the role's trust policy names it. The identity of the session,
    /// without issuing credentials (role chaining in COPY checks this).
    pub fn may_assume(&self, caller: &Identity, role_arn: &str) -> Result<Identity, AssumeRefusal> {
        let role = self
            .role_by_arn(role_arn)
            .ok_or(AssumeRefusal::NoSuchRole)?;
        if *caller != Identity::Root
            && !self
                .authorize(caller, &Request::new("sts:AssumeRole", role_arn))
                .is_allowed()
        {
            return Err(AssumeRefusal::NotTrusted);
        }
        let principal = Principal::Aws(self.arn_of(caller));
        let request = Request::new("sts:AssumeRole", role_arn).with_principal(principal);
        if !evaluate(&[role.trust.policy()], &request).is_allowed() {
            return Err(AssumeRefusal::NotTrusted);
        }
        let session = match caller {
            Identity::AssumedRole { session, .. } => session.clone(),
            _ => "session".to_owned(),
        };
        Ok(Identity::AssumedRole {
            role: role.name,
            session,
        })
    }

    /// Whether Redshift may act as the role `role_arn` for this cluster:
    /// the role exists in this account, is associated with the cluster and
    /// trusts `redshift.amazonaws.com`. The identity of its session on
    /// success.
    pub fn assume_for_redshift(&self, role_arn: &str) -> Result<Identity, AssumeRefusal> {
        let role = self
            .role_by_arn(role_arn)
            .ok_or(AssumeRefusal::NoSuchRole)?;
        let associated = self.read(|s| s.cluster.roles.iter().any(|a| a == role_arn));
        if !associated {
            return Err(AssumeRefusal::NotAssociated);
        }
        let request = Request::new("sts:AssumeRole", role_arn)
            .with_principal(Principal::Service(REDSHIFT_SERVICE.to_owned()));
        if !evaluate(&[role.trust.policy()], &request).is_allowed() {
            return Err(AssumeRefusal::NotTrusted);
        }
        Ok(Identity::AssumedRole {
            role: role.name,
            session: "RedshiftIamRoleSession".to_owned(),
        })
    }

    /// Creates the role a new cluster starts with, as the Redshift
    /// console's "create default IAM role" does: under `/service-role/`,
    /// trusted by Redshift, with `AmazonS3FullAccess` attached (the
    /// console's "any S3 bucket" choice), associated with the cluster and
    /// its default, so that `IAM_ROLE default` works out of the box.
    pub fn create_default_role(&self) -> Result<Role, IamError> {
        let trust = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Service": "{REDSHIFT_SERVICE}"}}, "Action": "sts:AssumeRole"}}]}}"#
        );
        let role = Role {
            name: DEFAULT_ROLE.to_owned(),
            id: random::aws_id("AROA"),
            path: "/service-role/".to_owned(),
            created: Utc::now(),
            trust: Document::parse(&trust, PolicyKind::Trust)?,
            description: "The cluster's default role, created with the data directory.".to_owned(),
            max_session_duration: 3600,
            inline: BTreeMap::new(),
            attached: vec!["arn:aws:iam::aws:policy/AmazonS3FullAccess".to_owned()],
        };
        let arn = self.role_arn(&role);
        // One change: the role, its policy and its association land together.
        self.mutate(|s| {
            if s.roles.contains_key(&key(DEFAULT_ROLE)) {
                return Err(IamError::exists(format!(
                    "Role with name {DEFAULT_ROLE} already exists."
                )));
            }
            s.roles.insert(key(DEFAULT_ROLE), role.clone());
            if !s.cluster.roles.contains(&arn) {
                s.cluster.roles.push(arn.clone());
            }
            s.cluster.default = Some(arn.clone());
            Ok(role.clone())
        })
    }

    // ---- Users ------------------------------------------------------------

    /// Creates the IAM user `name` under `path`.
    pub fn create_user(&self, name: &str, path: Option<&str>) -> Result<User, IamError> {
        validate_name(name, "userName", 1, 64, r"[\w+=,.@-]+")?;
        let path = validate_path(path)?;
        self.mutate(|s| {
            if s.users.contains_key(&key(name)) {
                return Err(IamError::exists(format!(
                    "User with name {name} already exists."
                )));
            }
            let user = User {
                name: name.to_owned(),
                id: random::aws_id("AIDA"),
                path,
                created: Utc::now(),
                inline: BTreeMap::new(),
                attached: Vec::new(),
            };
            s.users.insert(key(name), user.clone());
            Ok(user)
        })
    }

    /// The IAM user `name`.
    pub fn user(&self, name: &str) -> Result<User, IamError> {
        self.read(|s| s.users.get(&key(name)).cloned())
            .ok_or_else(|| no_user(name))
    }

    /// Every IAM user, by name.
    pub fn users(&self) -> Vec<User> {
        self.read(|s| s.users.values().cloned().collect())
    }

    /// Deletes the IAM user `name`, which must have no keys and policies.
    pub fn delete_user(&self, name: &str) -> Result<(), IamError> {
        self.mutate(|s| {
            let user = s.users.get(&key(name)).ok_or_else(|| no_user(name))?;
            if s.keys.values().any(|k| key(&k.user) == key(name)) {
                return Err(IamError::conflict(
                    "Cannot delete entity, must delete access keys first.",
                ));
            }
            without_policies(&user.attached, &user.inline)?;
            s.users.remove(&key(name));
            Ok(())
        })
    }

    /// Creates an access key for the IAM user `user`.
    pub fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError> {
        self.mutate(|s| {
            let owner = s
                .users
                .get(&key(user))
                .ok_or_else(|| no_user(user))?
                .name
                .clone();
            if s.keys
                .values()
                .filter(|k| key(&k.user) == key(user))
                .count()
                >= KEYS_PER_USER
            {
                return Err(IamError::new(
                    "LimitExceeded",
                    409,
                    format!("Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"),
                ));
            }
            let access_key = AccessKey {
                id: random::aws_id("AKIA"),
                secret: random::secret_access_key(),
                user: owner,
                active: true,
                created: Utc::now(),
            };
            s.keys.insert(access_key.id.clone(), access_key.clone());
            Ok(access_key)
        })
    }

    /// The access keys of the IAM user `user`.
    pub fn access_keys(&self, user: &str) -> Result<Vec<AccessKey>, IamError> {
        self.read(|s| {
            s.users.get(&key(user)).ok_or_else(|| no_user(user))?;
            Ok(s.keys
                .values()
                .filter(|k| key(&k.user) == key(user))
                .cloned()
                .collect())
        })
    }

    /// Activates or deactivates the access key `id` of `user`.
    pub fn set_access_key_active(
        &self,
        user: &str,
        id: &str,
        active: bool,
    ) -> Result<(), IamError> {
        self.mutate(|s| {
            let k = s
                .keys
                .get_mut(id)
                .filter(|k| key(&k.user) == key(user))
                .ok_or_else(|| no_key(id))?;
            k.active = active;
            Ok(())
        })
    }

    /// Deletes the access key `id` of `user`.
    pub fn delete_access_key(&self, user: &str, id: &str) -> Result<(), IamError> {
        self.mutate(|s| {
            match s.keys.get(id) {
                Some(k) if key(&k.user) == key(user) => {}
                _ => return Err(no_key(id)),
            }
            s.keys.remove(id);
            Ok(())
        })
    }

    // ---- Roles ------------------------------------------------------------

    /// Creates the role `name` with the trust policy `trust`.
    pub fn create_role(
        &self,
        name: &str,
        path: Option<&str>,
        trust: &str,
        description: &str,
        max_session_duration: Option<i64>,
    ) -> Result<Role, IamError> {
        validate_name(name, "roleName", 1, 64, r"[\w+=,.@-]+")?;
        let path = validate_path(path)?;
        validate_description(description)?;
        let trust = Document::parse(trust, PolicyKind::Trust)?;
        let max = max_session_duration.unwrap_or(3600);
        if !(3600..=43200).contains(&max) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600 and less than or equal to 43200"
            )));
        }
        self.mutate(|s| {
            if s.roles.contains_key(&key(name)) {
                return Err(IamError::exists(format!(
                    "Role with name {name} already exists."
                )));
            }
            let role = Role {
                name: name.to_owned(),
                id: random::aws_id("AROA"),
                path,
                created: Utc::now(),
                trust,
                description: description.to_owned(),
                max_session_duration: max,
                inline: BTreeMap::new(),
                attached: Vec::new(),
            };
            s.roles.insert(key(name), role.clone());
            Ok(role)
        })
    }

    /// The role `name`.
    pub fn role(&self, name: &str) -> Result<Role, IamError> {
        self.read(|s| s.roles.get(&key(name)).cloned())
            .ok_or_else(|| no_role(name))
    }

    /// Every role, by name.
    pub fn roles(&self) -> Vec<Role> {
        self.read(|s| s.roles.values().cloned().collect())
    }

    /// Replaces the trust policy of the role `name`.
    pub fn update_trust(&self, name: &str, trust: &str) -> Result<(), IamError> {
        let trust = Document::parse(trust, PolicyKind::Trust)?;
        self.mutate(|s| {
            s.roles
                .get_mut(&key(name))
                .ok_or_else(|| no_role(name))?
                .trust = trust;
            Ok(())
        })
    }

    /// Deletes the role `name`, which must have no policies.
    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        self.mutate(|s| {
            let role = s.roles.get(&key(name)).ok_or_else(|| no_role(name))?;
            without_policies(&role.attached, &role.inline)?;
            let removed = s.roles.remove(&key(name));
            if let Some(role) = removed {
                let arn = self.role_arn(&role);
                s.sessions.retain(|_, t| t.role_id != role.id);
                s.cluster.roles.retain(|r| *r != arn);
                if s.cluster.default.as_deref() == Some(arn.as_str()) {
                    s.cluster.default = None;
                }
            }
            Ok(())
        })
    }

    // ---- Managed policies -------------------------------------------------

    /// Creates the customer managed policy `name`.
    pub fn create_policy(
        &self,
        name: &str,
        path: Option<&str>,
        document: &str,
        description: &str,
    ) -> Result<ManagedPolicy, IamError> {
        validate_name(name, "policyName", 1, 128, r"[\w+=,.@-]+")?;
        let path = validate_path(path)?;
        validate_description(description)?;
        let document = Document::parse(document, PolicyKind::Identity)?;
        self.mutate(|s| {
            if s.policies.values().any(|p| key(&p.name) == key(name)) {
                return Err(IamError::exists(format!(
                    "A policy called {name} already exists. Duplicate names are not allowed."
                )));
            }
            let policy = ManagedPolicy {
                name: name.to_owned(),
                id: random::aws_id("ANPA"),
                path,
                description: description.to_owned(),
                created: Utc::now(),
                document,
            };
            let arn = self.policy_arn(&policy);
            s.policies.insert(arn, policy.clone());
            Ok(policy)
        })
    }

    /// The managed policy `arn`: a customer policy, or an AWS managed one
    /// (whose `created` is the epoch).
    pub fn policy(&self, arn: &str) -> Result<ManagedPolicy, IamError> {
        if let Some(p) = self.read(|s| s.policies.get(arn).cloned()) {
            return Ok(p);
        }
        aws_managed(arn).ok_or_else(|| no_policy(arn))
    }

    /// The customer managed policies, by ARN.
    pub fn policies(&self) -> Vec<ManagedPolicy> {
        self.read(|s| s.policies.values().cloned().collect())
    }

    /// How many users and roles have the policy `arn` attached.
    pub fn attachment_count(&self, arn: &str) -> usize {
        self.read(|s| {
            s.users
                .values()
                .filter(|u| u.attached.iter().any(|a| a == arn))
                .count()
                + s.roles
                    .values()
                    .filter(|r| r.attached.iter().any(|a| a == arn))
                    .count()
        })
    }

    /// Deletes the customer managed policy `arn`, which must be attached
    /// nowhere.
    pub fn delete_policy(&self, arn: &str) -> Result<(), IamError> {
        self.mutate(|s| {
            if !s.policies.contains_key(arn) {
                return Err(no_policy(arn));
            }
            let attached = s
                .users
                .values()
                .any(|u| u.attached.iter().any(|a| a == arn))
                || s.roles
                    .values()
                    .any(|r| r.attached.iter().any(|a| a == arn));
            if attached {
                return Err(IamError::conflict(
                    "Cannot delete a policy attached to entities.",
                ));
            }
            s.policies.remove(arn);
            Ok(())
        })
    }

    /// Attaches (or with `attach == false` detaches) the managed policy
    /// `arn` to the user or role `target`.
    pub fn set_attached(
        &self,
        target: Target<'_>,
        arn: &str,
        attach: bool,
    ) -> Result<(), IamError> {
        self.mutate(|s| {
            let known = s.policies.contains_key(arn) || managed_policy(arn).is_some();
            let list = match target {
                Target::User(name) => {
                    &mut s
                        .users
                        .get_mut(&key(name))
                        .ok_or_else(|| no_user(name))?
                        .attached
                }
                Target::Role(name) => {
                    &mut s
                        .roles
                        .get_mut(&key(name))
                        .ok_or_else(|| no_role(name))?
                        .attached
                }
            };
            if attach {
                if !known {
                    return Err(IamError::no_such_entity(format!(
                        "Policy {arn} does not exist or is not attachable."
                    )));
                }
                if !list.iter().any(|a| a == arn) {
                    list.push(arn.to_owned());
                }
            } else {
                let before = list.len();
                list.retain(|a| a != arn);
                if list.len() == before {
                    return Err(IamError::no_such_entity(format!(
                        "Policy {arn} was not found."
                    )));
                }
            }
            Ok(())
        })
    }

    /// Puts the inline policy `name` on the user or role `target`.
    pub fn put_inline(
        &self,
        target: Target<'_>,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        validate_name(name, "policyName", 1, 128, r"[\w+=,.@-]+")?;
        let document = Document::parse(document, PolicyKind::Identity)?;
        self.mutate(|s| {
            inline_of(s, target)?.insert(name.to_owned(), document);
            Ok(())
        })
    }

    /// The inline policy `name` of the user or role `target`.
    pub fn inline(&self, target: Target<'_>, name: &str) -> Result<Document, IamError> {
        let entity = self.read(|s| match target {
            Target::User(n) => s
                .users
                .get(&key(n))
                .map(|u| u.inline.clone())
                .ok_or_else(|| no_user(n)),
            Target::Role(n) => s
                .roles
                .get(&key(n))
                .map(|r| r.inline.clone())
                .ok_or_else(|| no_role(n)),
        })?;
        entity
            .get(name)
            .cloned()
            .ok_or_else(|| no_inline(target, name))
    }

    /// Deletes the inline policy `name` of the user or role `target`.
    pub fn delete_inline(&self, target: Target<'_>, name: &str) -> Result<(), IamError> {
        self.mutate(|s| {
            inline_of(s, target)?
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| no_inline(target, name))
        })
    }

    // ---- The cluster ------------------------------------------------------

    /// The roles associated with the cluster.
    pub fn cluster_roles(&self) -> ClusterRoles {
        self.read(|s| s.cluster.clone())
    }

    /// Associates `add` with the cluster, removes `remove`, and sets the
    /// default role: `Some(Some(arn))` sets it, `Some(None)` clears it.
    /// Every added role must exist.
    pub fn modify_cluster_roles(
        &self,
        add: &[String],
        remove: &[String],
        default: Option<Option<String>>,
    ) -> Result<ClusterRoles, IamError> {
        self.mutate(|s| {
            for arn in add {
                if self.role_at(s, arn).is_none() {
                    return Err(IamError::invalid_input(format!(
                        "Role ARN {arn} is invalid or does not exist."
                    )));
                }
            }
            for arn in add {
                if !s.cluster.roles.contains(arn) {
                    s.cluster.roles.push(arn.clone());
                }
            }
            s.cluster.roles.retain(|r| !remove.contains(r));
            if s.cluster
                .default
                .as_ref()
                .is_some_and(|d| remove.contains(d))
            {
                s.cluster.default = None;
            }
            if let Some(default) = default {
                if let Some(d) = &default
                    && !s.cluster.roles.contains(d)
                {
                    return Err(IamError::invalid_input(format!(
                        "The default IAM role {d} must be associated with the cluster."
                    )));
                }
                s.cluster.default = default;
            }
            if s.cluster.roles.len() > ROLES_PER_CLUSTER {
                return Err(IamError::new(
                    "LimitExceeded",
                    400,
                    format!("A cluster can have at most {ROLES_PER_CLUSTER} IAM roles."),
                ));
            }
            Ok(s.cluster.clone())
        })
    }

    // ---- Database passwords -----------------------------------------------

    /// Issues a temporary password for the login name `login` (the
    /// database user with its `IAM:` / `IAMA:` prefix), valid for
    /// `duration_seconds`, logging in as `grant` says.
    pub fn issue_db_password(
        &self,
        login: &str,
        grant: DbLogin,
        duration_seconds: i64,
    ) -> Result<(String, DateTime<Utc>), IamError> {
        let password = format!("Shale{}", random::string(random::ALNUM, 40));
        let expiration = expires_in(duration_seconds)?;
        let entry = (login.to_owned(), sha256_hex(&password));
        self.mutate(move |s| {
            s.db_passwords.insert(entry, (expiration, grant));
            Ok(())
        })?;
        Ok((password, expiration))
    }

    /// Whether `password` was issued for the login name `login` and is
    /// still valid.
    pub fn check_db_password(&self, login: &str, password: &str) -> DbPassword {
        let entry = (login.to_owned(), sha256_hex(password));
        match self.read(|s| s.db_passwords.get(&entry).cloned()) {
            Some((expiration, grant)) if expiration > Utc::now() => DbPassword::Valid(grant),
            Some(_) => DbPassword::Expired,
            None => DbPassword::Unknown,
        }
    }
}

/// A user or a role, the two things policies attach to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// An IAM user, by name.
    User(&'a str),
    /// A role, by name.
    Role(&'a str),
}

/// `seconds` from now; an error rather than an overflow for absurd values.
fn expires_in(seconds: i64) -> Result<DateTime<Utc>, IamError> {
    Duration::try_seconds(seconds)
        .and_then(|d| Utc::now().checked_add_signed(d))
        .ok_or_else(|| IamError::validation(format!("The duration {seconds} is out of range.")))
}

fn policies_of(
    s: &State,
    inline: &BTreeMap<String, Document>,
    attached: &[String],
) -> Vec<Arc<PolicyDocument>> {
    let mut docs: Vec<Arc<PolicyDocument>> =
        inline.values().map(|d| Arc::clone(&d.parsed)).collect();
    for arn in attached {
        if let Some(p) = s.policies.get(arn) {
            docs.push(Arc::clone(&p.document.parsed));
        } else if let Some(p) = aws_managed(arn) {
            docs.push(p.document.parsed);
        }
    }
    docs
}

/// The AWS managed policy `arn`, parsed once per process.
fn aws_managed(arn: &str) -> Option<ManagedPolicy> {
    static PARSED: std::sync::OnceLock<Vec<(&'static str, ManagedPolicy)>> =
        std::sync::OnceLock::new();
    let all = PARSED.get_or_init(|| {
        crate::managed::MANAGED_POLICIES
            .iter()
            .filter_map(|m| {
                let document = Document::parse(m.document, PolicyKind::Identity).ok()?;
                Some((
                    m.arn,
                    ManagedPolicy {
                        name: m.name.to_owned(),
                        id: format!("ANPA{}", sha256_hex(m.name)[..16].to_ascii_uppercase()),
                        path: "/".to_owned(),
                        description: m.description.to_owned(),
                        created: DateTime::<Utc>::UNIX_EPOCH,
                        document,
                    },
                ))
            })
            .collect()
    });
    all.iter().find(|(a, _)| *a == arn).map(|(_, p)| p.clone())
}

fn inline_of<'s>(
    s: &'s mut State,
    target: Target<'_>,
) -> Result<&'s mut BTreeMap<String, Document>, IamError> {
    Ok(match target {
        Target::User(n) => &mut s.users.get_mut(&key(n)).ok_or_else(|| no_user(n))?.inline,
        Target::Role(n) => &mut s.roles.get_mut(&key(n)).ok_or_else(|| no_role(n))?.inline,
    })
}

/// IAM deletes a user or role only once its policies are gone.
fn without_policies(
    attached: &[String],
    inline: &BTreeMap<String, Document>,
) -> Result<(), IamError> {
    if !attached.is_empty() {
        return Err(IamError::conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    if !inline.is_empty() {
        return Err(IamError::conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    Ok(())
}

fn no_user(name: &str) -> IamError {
    IamError::no_such_entity(format!("The user with name {name} cannot be found."))
}

fn no_role(name: &str) -> IamError {
    IamError::no_such_entity(format!("The role with name {name} cannot be found."))
}

fn no_policy(arn: &str) -> IamError {
    IamError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

fn no_key(id: &str) -> IamError {
    IamError::no_such_entity(format!("The Access Key with id {id} cannot be found."))
}

fn no_inline(target: Target<'_>, name: &str) -> IamError {
    let kind = match target {
        Target::User(_) => "user",
        Target::Role(_) => "role",
    };
    IamError::no_such_entity(format!(
        "The {kind} policy with name {name} cannot be found."
    ))
}

/// IAM's name check: `min..=max` characters of `[\w+=,.@-]`.
fn validate_name(
    name: &str,
    field: &str,
    min: usize,
    max: usize,
    pattern: &str,
) -> Result<(), IamError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    let len = name.chars().count();
    if len < min || len > max {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must have length between {min} and {max}"
        )));
    }
    if !ok_chars {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
        )));
    }
    Ok(())
}

/// IAM's description check: at most 1000 characters of tab, newlines,
/// printable ASCII and Latin-1.
fn validate_description(text: &str) -> Result<(), IamError> {
    let ok = text.chars().count() <= 1000
        && text
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}'));
    if ok {
        Ok(())
    } else {
        Err(IamError::validation(
            r"1 validation error detected: Value at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*",
        ))
    }
}

/// IAM's path check: `/`, or `/` segments `/`.
fn validate_path(path: Option<&str>) -> Result<String, IamError> {
    let path = path.unwrap_or("/");
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && path.chars().all(|c| ('!'..='~').contains(&c));
    if !ok {
        return Err(IamError::validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ));
    }
    Ok(path.to_owned())
}

/// The on-disk form: plain serde structs, documents as their text.
mod persisted {
    use super::*;

    const FORMAT: u32 = 1;

    /// Timestamps as RFC 3339 text (chrono's serde feature stays off: it
    /// would change the feature set every crate builds chrono with).
    mod ts {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&t.to_rfc3339())
        }

        pub(super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<DateTime<Utc>, D::Error> {
            let text = String::deserialize(d)?;
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        }
    }

    #[derive(Serialize, Deserialize)]
    struct File {
        format: u32,
        /// The account the file belongs to: ARNs in it carry this id.
        account: String,
        users: Vec<UserFile>,
        roles: Vec<RoleFile>,
        policies: Vec<PolicyFile>,
        keys: Vec<KeyFile>,
        sessions: Vec<SessionFile>,
        cluster: ClusterRoles,
        db_passwords: Vec<DbPasswordFile>,
    }

    #[derive(Serialize, Deserialize)]
    struct UserFile {
        name: String,
        id: String,
        path: String,
        #[serde(with = "ts")]
        created: DateTime<Utc>,
        inline: BTreeMap<String, String>,
        attached: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct RoleFile {
        name: String,
        id: String,
        path: String,
        #[serde(with = "ts")]
        created: DateTime<Utc>,
        trust: String,
        description: String,
        max_session_duration: i64,
        inline: BTreeMap<String, String>,
        attached: Vec<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct PolicyFile {
        name: String,
        id: String,
        path: String,
        description: String,
        #[serde(with = "ts")]
        created: DateTime<Utc>,
        document: String,
    }

    #[derive(Serialize, Deserialize)]
    struct KeyFile {
        id: String,
        secret: String,
        user: String,
        active: bool,
        #[serde(with = "ts")]
        created: DateTime<Utc>,
    }

    #[derive(Serialize, Deserialize)]
    struct SessionFile {
        access_key_id: String,
        secret: String,
        session_token: String,
        #[serde(with = "ts")]
        expiration: DateTime<Utc>,
        role: String,
        role_id: String,
        session: String,
    }

    #[derive(Serialize, Deserialize)]
    struct DbPasswordFile {
        login: String,
        sha256: String,
        grant: DbLogin,
        #[serde(with = "ts")]
        expiration: DateTime<Utc>,
    }

    fn docs(map: &BTreeMap<String, Document>) -> BTreeMap<String, String> {
        map.iter()
            .map(|(k, d)| (k.clone(), d.text.clone()))
            .collect()
    }

    fn parse_docs(map: BTreeMap<String, String>) -> Result<BTreeMap<String, Document>, String> {
        map.into_iter()
            .map(|(k, text)| {
                Document::parse(&text, PolicyKind::Identity)
                    .map(|d| (k.clone(), d))
                    .map_err(|e| format!("inline policy {k}: {e}"))
            })
            .collect()
    }

    pub(super) fn load(bytes: &[u8], account: &str) -> Result<State, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!("unknown format {}", file.format));
        }
        if file.account != account {
            return Err(format!(
                "it holds account {}, but aws.account_id is {account}; the ARNs in it would not resolve",
                file.account
            ));
        }
        let mut state = State {
            cluster: file.cluster,
            ..State::default()
        };
        for u in file.users {
            let user = User {
                inline: parse_docs(u.inline)?,
                name: u.name,
                id: u.id,
                path: u.path,
                created: u.created,
                attached: u.attached,
            };
            state.users.insert(key(&user.name), user);
        }
        for r in file.roles {
            if !(3600..=43200).contains(&r.max_session_duration) {
                return Err(format!(
                    "role {}: max_session_duration {} is outside 3600..=43200",
                    r.name, r.max_session_duration
                ));
            }
            let role = Role {
                trust: Document::parse(&r.trust, PolicyKind::Trust)
                    .map_err(|e| format!("trust policy of {}: {e}", r.name))?,
                inline: parse_docs(r.inline)?,
                name: r.name,
                id: r.id,
                path: r.path,
                created: r.created,
                description: r.description,
                max_session_duration: r.max_session_duration,
                attached: r.attached,
            };
            state.roles.insert(key(&role.name), role);
        }
        for p in file.policies {
            let policy = ManagedPolicy {
                document: Document::parse(&p.document, PolicyKind::Identity)
                    .map_err(|e| format!("policy {}: {e}", p.name))?,
                name: p.name,
                id: p.id,
                path: p.path,
                description: p.description,
                created: p.created,
            };
            let arn = format!(
                "arn:aws:iam::{account}:policy{}{}",
                policy.path, policy.name
            );
            state.policies.insert(arn, policy);
        }
        for k in file.keys {
            state.keys.insert(
                k.id.clone(),
                AccessKey {
                    id: k.id,
                    secret: k.secret,
                    user: k.user,
                    active: k.active,
                    created: k.created,
                },
            );
        }
        for t in file.sessions {
            state.sessions.insert(
                t.access_key_id.clone(),
                TemporaryCredentials {
                    access_key_id: t.access_key_id,
                    secret: t.secret,
                    session_token: t.session_token,
                    expiration: t.expiration,
                    role: t.role,
                    role_id: t.role_id,
                    session: t.session,
                },
            );
        }
        for p in file.db_passwords {
            state
                .db_passwords
                .insert((p.login, p.sha256), (p.expiration, p.grant));
        }
        Ok(state)
    }

    /// Writes the state. `Err((true, e))`: the new file is in place, but
    /// the directory's fsync failed; `Err((false, e))`: nothing changed.
    pub(super) fn store(
        path: &Path,
        account: &str,
        s: &State,
    ) -> Result<(), (bool, std::io::Error)> {
        let file = File {
            format: FORMAT,
            account: account.to_owned(),
            users: s
                .users
                .values()
                .map(|u| UserFile {
                    name: u.name.clone(),
                    id: u.id.clone(),
                    path: u.path.clone(),
                    created: u.created,
                    inline: docs(&u.inline),
                    attached: u.attached.clone(),
                })
                .collect(),
            roles: s
                .roles
                .values()
                .map(|r| RoleFile {
                    name: r.name.clone(),
                    id: r.id.clone(),
                    path: r.path.clone(),
                    created: r.created,
                    trust: r.trust.text.clone(),
                    description: r.description.clone(),
                    max_session_duration: r.max_session_duration,
                    inline: docs(&r.inline),
                    attached: r.attached.clone(),
                })
                .collect(),
            policies: s
                .policies
                .values()
                .map(|p| PolicyFile {
                    name: p.name.clone(),
                    id: p.id.clone(),
                    path: p.path.clone(),
                    description: p.description.clone(),
                    created: p.created,
                    document: p.document.text.clone(),
                })
                .collect(),
            keys: s
                .keys
                .values()
                .map(|k| KeyFile {
                    id: k.id.clone(),
                    secret: k.secret.clone(),
                    user: k.user.clone(),
                    active: k.active,
                    created: k.created,
                })
                .collect(),
            sessions: s
                .sessions
                .values()
                .map(|t| SessionFile {
                    access_key_id: t.access_key_id.clone(),
                    secret: t.secret.clone(),
                    session_token: t.session_token.clone(),
                    expiration: t.expiration,
                    role: t.role.clone(),
                    role_id: t.role_id.clone(),
                    session: t.session.clone(),
                })
                .collect(),
            cluster: s.cluster.clone(),
            db_passwords: s
                .db_passwords
                .iter()
                .map(|((login, sha256), (expiration, grant))| DbPasswordFile {
                    login: login.clone(),
                    sha256: sha256.clone(),
                    grant: grant.clone(),
                    expiration: *expiration,
                })
                .collect(),
        };
        let bytes =
            serde_json::to_vec_pretty(&file).map_err(|e| (false, std::io::Error::other(e)))?;
        write_durably(path, &bytes)
    }

    fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), (bool, std::io::Error)> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let dir = path.parent().unwrap_or(Path::new("."));
        let replace = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let tmp = path.with_extension("tmp");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        replace().map_err(|e| (false, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| (true, e))
    }
}
