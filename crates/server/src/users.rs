//! Logins checked against the users in the warehouse catalog.
//!
//! Only hashes are stored (see [`shale_common::password`]): the MD5 form
//! answers MD5 challenges and cleartext passwords, the SCRAM verifier SCRAM
//! exchanges. A user whose password is disabled or has expired (VALID
//! UNTIL) cannot log in with it.

use std::sync::Arc;

use shale_engine::{Engine, UserEntry};

/// The users the server logs in, read from the latest committed catalog.
#[derive(Clone)]
pub struct Users {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

impl Users {
    pub fn new(engine: Arc<Engine>) -> Self {
        Users { engine }
    }

    /// The user, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<UserEntry>> {
        self.engine.user(name)
    }

    /// The user if it may log in with a password now: it has one, and the
    /// password has not expired.
    pub fn with_password(&self, name: &str) -> Option<Arc<UserEntry>> {
        let user = self.get(name)?;
        user.password.as_ref()?;
        if let Some(until) = user.valid_until {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(i64::MAX);
            if now >= until {
                return None;
            }
        }
        Some(user)
    }
}
