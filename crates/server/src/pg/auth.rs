//! Startup and authentication: protocol negotiation, the password exchange
//! (MD5, SCRAM-SHA-256 or cleartext, checked against stored hashes), the
//! database check, and the ParameterStatus messages Redshift sends.
//!
//! A failed login always reads `password authentication failed for user "x"`
//! (28P01), whether or not the user exists: an unknown user is challenged with
//! a random salt or verifier and fails in the same way.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::ClientInfo;
use pgwire::api::auth::cleartext::CleartextPasswordAuth;
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::md5pass::Md5PasswordAuth;
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{
    AuthDriver, AuthSource, LoginInfo, Password, ServerParameterProvider, StartupHandler,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use shale_common::{AuthMethod, RequireSsl, SqlState};
use shale_engine::{SessionInfo, UserEntry};
use shale_iam::{DbLogin, DbPassword};

use super::errors::fatal;
use super::handler::Connection;
use shale_common::password::{
    ScramVerifier, check_md5, check_sha256, md5_challenge_response, md5_hash,
};

use crate::users::Users;

/// Password checks against the user store.
#[derive(Debug)]
pub struct UserAuthSource {
    users: Users,
    /// Keys the made-up SCRAM salt of unknown users, so that an unknown user
    /// is offered the same salt every time, as a real one is.
    mock_key: [u8; 32],
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::fill(&mut b);
    b
}

#[async_trait]
impl AuthSource for UserAuthSource {
    /// For MD5: the response the client must send for a fresh salt.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        let salt = random_bytes::<4>();
        let stored = match self
            .users
            .with_password(user)
            .and_then(|u| u.password.clone())
        {
            // An empty MD5 form (cleared by a rename, or a SHA-256-only
            // password) must not be usable: its challenge response would be
            // computable without any password.
            Some(p) if !p.md5.is_empty() => p.md5,
            // Unknown users get a hash nobody can match.
            _ => md5_hash(user, &format!("{:x?}", random_bytes::<16>())),
        };
        Ok(Password::new(
            Some(salt.to_vec()),
            md5_challenge_response(&stored, &salt).into_bytes(),
        ))
    }

    /// For cleartext passwords.
    async fn verify_password(
        &self,
        login: &LoginInfo,
        presented: &[u8],
    ) -> PgWireResult<Option<()>> {
        let user = login.user().unwrap_or_default();
        let ok = match (
            self.users
                .with_password(user)
                .and_then(|u| u.password.clone()),
            std::str::from_utf8(presented),
        ) {
            (Some(stored), Ok(p)) => {
                let p = p.trim_end_matches('\0');
                if !stored.md5.is_empty() {
                    check_md5(user, p, &stored.md5)
                } else if let Some(v) = stored.scram.as_deref().and_then(ScramVerifier::parse) {
                    // The MD5 form is cleared when a user is renamed.
                    v.check(p)
                } else if let Some(s) = &stored.sha256 {
                    check_sha256(p, s)
                } else {
                    false
                }
            }
            _ => false,
        };
        if ok {
            Ok(None)
        } else {
            Err(PgWireError::InvalidPassword(user.to_string()))
        }
    }

    /// For SCRAM: the stored verifier, or a random one for unknown users.
    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        let v = self
            .users
            .with_password(user)
            .and_then(|u| {
                u.password
                    .as_ref()?
                    .scram
                    .as_deref()
                    .and_then(ScramVerifier::parse)
            })
            .unwrap_or_else(|| {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.mock_key);
                let tag = ring::hmac::sign(&key, user.as_bytes());
                let salt = &tag.as_ref()[..16];
                ScramVerifier::derive(&format!("{:x?}", random_bytes::<16>()), salt, 4096)
            });
        Ok((
            ScramSecret::Verifier {
                salt: v.salt,
                iterations: v.iterations as usize,
                stored_key: v.stored_key,
                server_key: v.server_key,
            },
            None,
        ))
    }
}

/// Password checks for logins through temporary IAM credentials
/// (`IAM:alice`, `IAMA:alice:grp`, `IAMR:role`): the password must be one
/// the Redshift credentials API issued for that login name and not yet
/// expired. The identity it yields is whom the login runs as.
#[derive(Debug)]
pub struct IamAuthSource {
    account: shale_iam::Account,
}

#[async_trait]
impl AuthSource<DbLogin> for IamAuthSource {
    /// Never used: IAM logins are challenged for a cleartext password.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        Err(PgWireError::InvalidPassword(
            login.user().unwrap_or_default().to_owned(),
        ))
    }

    async fn verify_password(
        &self,
        login: &LoginInfo,
        presented: &[u8],
    ) -> PgWireResult<Option<DbLogin>> {
        let user = login.user().unwrap_or_default();
        let presented = std::str::from_utf8(presented)
            .unwrap_or_default()
            .trim_end_matches('\0');
        match self.account.check_db_password(user, presented) {
            DbPassword::Valid(grant) => Ok(Some(grant)),
            DbPassword::Expired => {
                tracing::info!(user = %user, "Temporary IAM credentials have expired.");
                Err(PgWireError::InvalidPassword(user.to_owned()))
            }
            DbPassword::Unknown => Err(PgWireError::InvalidPassword(user.to_owned())),
        }
    }
}

/// The client metadata key holding the user a session runs as, set once
/// the login is verified.
const SESSION_USER: &str = "shale.session_user";

/// Whether `user` is a login name the Redshift credentials API issues.
fn is_iam_login(user: &str) -> bool {
    ["IAM:", "IAMA:", "IAMR:"]
        .iter()
        .any(|p| user.starts_with(p))
}

/// The ParameterStatus messages sent after a successful login.
#[derive(Debug)]
pub struct RedshiftParameters {
    users: Users,
}

impl ServerParameterProvider for RedshiftParameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let md = client.metadata();
        let user = md
            .get(SESSION_USER)
            .or_else(|| md.get("user"))
            .cloned()
            .unwrap_or_default();
        let superuser = self.users.get(&user).is_some_and(|u| u.superuser);
        let mut p = HashMap::new();
        let mut put = |k: &str, v: &str| {
            p.insert(k.to_string(), v.to_string());
        };
        put("server_version", shale_engine::SERVER_VERSION);
        put("server_encoding", "UNICODE");
        put("client_encoding", "UTF8");
        put("DateStyle", "ISO, MDY");
        put("TimeZone", "UTC");
        put("integer_datetimes", "on");
        // Literals take backslash escapes, as Redshift's do; "off" tells
        // drivers that quote on the client (psycopg2) to double them.
        put("standard_conforming_strings", "off");
        put("is_superuser", if superuser { "on" } else { "off" });
        put("session_authorization", &user);
        put(
            "application_name",
            md.get("application_name").map(String::as_str).unwrap_or(""),
        );
        put("max_numeric_precision", "38");
        put("max_varchar_size", "65535");
        put("datashare_enabled", "off");
        // redshift_connector asks for a protocol version and falls back to 0
        // unless the server answers with the one it will speak.
        if let Some(requested) = md
            .get("client_protocol_version")
            .and_then(|v| v.trim().parse::<i32>().ok())
        {
            put(
                "server_protocol_version",
                &requested.clamp(0, 2).to_string(),
            );
        }
        Some(p)
    }
}

/// What the startup handler needs, shared by all connections.
pub struct Authenticator {
    method: AuthMethod,
    require_ssl: RequireSsl,
    driver: AuthDriver<RedshiftParameters>,
    md5: Arc<dyn AuthMechanismFactory>,
    scram: Arc<dyn AuthMechanismFactory>,
    cleartext: Arc<dyn AuthMechanismFactory>,
    /// IAM logins: always a cleartext password, checked by `IamAuthSource`.
    iam_driver: AuthDriver<RedshiftParameters, DbLogin>,
    iam_cleartext: Arc<dyn AuthMechanismFactory<DbLogin>>,
}

impl Authenticator {
    pub fn new(
        method: AuthMethod,
        require_ssl: RequireSsl,
        users: Users,
        account: shale_iam::Account,
        connections: Arc<pgwire::api::ConnectionManager>,
    ) -> Self {
        let source = Arc::new(UserAuthSource {
            users: users.clone(),
            mock_key: random_bytes::<32>(),
        });
        let iam_source = Arc::new(IamAuthSource { account });
        Authenticator {
            method,
            require_ssl,
            iam_driver: AuthDriver::new(RedshiftParameters {
                users: users.clone(),
            })
            .with_connection_manager(Arc::clone(&connections)),
            iam_cleartext: Arc::new(CleartextPasswordAuth::new(iam_source)),
            driver: AuthDriver::new(RedshiftParameters { users })
                .with_connection_manager(connections),
            md5: Arc::new(Md5PasswordAuth::new(Arc::clone(&source))),
            scram: Arc::new(ScramAuth::new(Arc::clone(&source) as Arc<dyn AuthSource>)),
            cleartext: Arc::new(CleartextPasswordAuth::new(source)),
        }
    }
}

fn login_failed(user: &str) -> PgWireError {
    fatal(
        SqlState::InvalidPassword,
        format!("password authentication failed for user \"{user}\""),
    )
}

fn user_of<C: ClientInfo>(client: &C) -> String {
    client.metadata().get("user").cloned().unwrap_or_default()
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let auth = &self.shared.auth;
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let requested = client
                    .metadata()
                    .get("client_protocol_version")
                    .and_then(|v| v.trim().parse::<i32>().ok())
                    .unwrap_or(0);
                self.protocol.set(requested.clamp(0, 2) as u8);
                let user = user_of(client);
                if user.is_empty() {
                    return Err(fatal(
                        SqlState::InvalidAuthorizationSpecification,
                        "no PostgreSQL user name specified in startup packet",
                    ));
                }
                if !client.is_secure() && auth.require_ssl.refuses_plain(client.socket_addr().ip())
                {
                    let database = client
                        .metadata()
                        .get("database")
                        .cloned()
                        .unwrap_or_else(|| user.clone());
                    return Err(fatal(
                        SqlState::InvalidAuthorizationSpecification,
                        format!(
                            "no pg_hba.conf entry for host \"{}\", user \"{user}\", database \"{database}\", SSL off",
                            client.socket_addr().ip()
                        ),
                    ));
                }
                // Under the MD5 method, a password without an MD5 form (cleared
                // by a rename, or given as a SHA-256 digest) is checked as
                // PostgreSQL would: by SCRAM when there is a verifier, else
                // (the SHA-256 digest) as a clear-text password. The SCRAM
                // method never falls back.
                let stored = self
                    .shared
                    .users
                    .with_password(&user)
                    .and_then(|u| u.password.clone());
                let without_md5 = stored.as_ref().filter(|p| p.md5.is_empty());
                let started = if is_iam_login(&user) {
                    let mechanism = auth.iam_cleartext.create();
                    auth.iam_driver
                        .begin_authentication(client, mechanism)
                        .await
                        .map(|_| ())
                } else {
                    let mechanism = match auth.method {
                        AuthMethod::Md5 if without_md5.is_some_and(|p| p.scram.is_some()) => {
                            auth.scram.create()
                        }
                        AuthMethod::Md5 if without_md5.is_some() => auth.cleartext.create(),
                        AuthMethod::Md5 => auth.md5.create(),
                        AuthMethod::ScramSha256 => auth.scram.create(),
                        AuthMethod::Password => auth.cleartext.create(),
                    };
                    auth.driver
                        .begin_authentication(client, mechanism)
                        .await
                        .map(|_| ())
                };
                if let Err(e) = started {
                    tracing::debug!(error = %e, "Authentication could not start.");
                    return Err(login_failed(&user));
                }
                Ok(())
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = user_of(client);
                if is_iam_login(&user) {
                    return match auth.iam_driver.advance_authentication(client, msg).await {
                        Ok(AuthOutcome::InProgress) => Ok(()),
                        Ok(AuthOutcome::Authenticated {
                            identity: Some(grant),
                            final_message,
                        }) => {
                            // Credentials issued for one database (DbName)
                            // log in to that one only.
                            let database = client.metadata().get("database").cloned();
                            if let Some(only) = &grant.database
                                && database.as_deref() != Some(only.as_str())
                            {
                                tracing::info!(user = %user, "Temporary IAM credentials are for another database.");
                                return Err(login_failed(&user));
                            }
                            let entry = self
                                .shared
                                .engine
                                .prepare_iam_user(&grant.user, grant.auto_create, &grant.groups)
                                .await
                                .map_err(|e| fatal(e.sqlstate(), e.to_string()))?;
                            let Some(entry) = entry else {
                                tracing::info!(user = %user, "Temporary IAM credentials name a user that does not exist.");
                                return Err(login_failed(&user));
                            };
                            self.admit(client, &auth.iam_driver, entry, grant.groups, final_message)
                                .await
                        }
                        Ok(AuthOutcome::Authenticated { identity: None, .. }) => {
                            Err(login_failed(&user))
                        }
                        Err(e) => {
                            tracing::info!(user = %user, error = %e, "Login failed.");
                            Err(login_failed(&user))
                        }
                    };
                }
                match auth.driver.advance_authentication(client, msg).await {
                    Ok(AuthOutcome::InProgress) => Ok(()),
                    Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                        let Some(entry) = self.shared.users.get(&user) else {
                            return Err(login_failed(&user));
                        };
                        self.admit(client, &auth.driver, entry, Vec::new(), final_message)
                            .await
                    }
                    Err(e) => {
                        tracing::info!(user = %user, error = %e, "Login failed.");
                        Err(login_failed(&user))
                    }
                }
            }
            _ => Ok(()),
        }
    }
}

impl Connection {
    /// The checks after a verified password (the database exists, the
    /// user's and the database's connection limits), then the end of the
    /// startup and a session as `entry`.
    async fn admit<C, I>(
        &self,
        client: &mut C,
        driver: &AuthDriver<RedshiftParameters, I>,
        entry: Arc<UserEntry>,
        session_groups: Vec<String>,
        final_message: Option<pgwire::messages::startup::Authentication>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
        I: Send + 'static,
    {
        let user = entry.name.clone();
        let database = client
            .metadata()
            .get("database")
            .cloned()
            .unwrap_or_else(|| user_of(client));
        if !self.shared.engine.has_database(&database) {
            return Err(fatal(
                SqlState::InvalidCatalogName,
                format!("database \"{database}\" does not exist"),
            ));
        }
        if let Some(limit) = entry.connection_limit
            && !entry.superuser
            && self.shared.engine.sessions_of(&user) >= limit as usize
        {
            return Err(fatal(
                SqlState::TooManyConnections,
                format!("too many connections for user \"{user}\""),
            ));
        }
        if !entry.superuser && !self.shared.engine.database_has_room(&database) {
            return Err(fatal(
                SqlState::TooManyConnections,
                format!("too many connections for database \"{database}\""),
            ));
        }
        // ParameterStatus reports the user the session runs as (not an
        // `IAMA:alice:grp` login name).
        client
            .metadata_mut()
            .insert(SESSION_USER.to_owned(), user.clone());
        driver
            .complete_authentication(client, final_message)
            .await?;
        let (pid, _) = client.pid_and_secret_key();
        let info = SessionInfo {
            is_superuser: entry.superuser,
            application_name: client.metadata().get("application_name").cloned(),
            user_id: entry.id,
            user,
            database,
            backend_pid: pid,
            session_groups,
        };
        self.open_session(info).await;
        Ok(())
    }
}
