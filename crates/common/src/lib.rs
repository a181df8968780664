//! Shared vocabulary of Shale: the SQLSTATE codes every error maps to, and the
//! typed settings the process runs with.
//!
//! This crate sits at the bottom of the workspace. It depends on no other Shale
//! crate and pulls in neither DataFusion nor the wire protocol, so that every
//! other crate can speak of errors and settings in the same terms.

pub mod config;
pub mod password;
pub mod random;
pub mod sqlstate;

pub use config::{
    AuthMethod, BucketMapping, ConfigError, FileConfig, RequireSsl, Settings, SettingsOverrides,
};
pub use sqlstate::SqlState;
