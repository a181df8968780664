//! Configuration: parsed once, validated, then used as typed [`Settings`].
//!
//! Three sources are layered, later ones winning: the defaults below, an
//! optional TOML file ([`FileConfig`]), and overrides from the command line or
//! `SHALE_*` environment variables ([`SettingsOverrides`], filled in by the
//! binary). Every default lives in this file and nowhere else.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./shale-data";
/// Default listen address: loopback only, so nothing is exposed unless asked.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// Redshift's port.
pub const DEFAULT_PG_PORT: u16 = 5439;
/// The AWS-compatible API's port (S3, Redshift API).
pub const DEFAULT_AWS_PORT: u16 = 4566;
/// The account id in the ARNs Shale issues unless `aws.account_id` says
/// otherwise: the one AWS's documentation uses in its examples.
pub const DEFAULT_AWS_ACCOUNT_ID: &str = "123456789012";
/// The identifier of the one local cluster, as the Redshift API and ARNs
/// name it.
pub const CLUSTER_IDENTIFIER: &str = "shale";
/// The AWS region Shale reports for its cluster and buckets.
pub const REGION: &str = "us-east-1";
/// The HTTP port for people and front-ends.
pub const DEFAULT_HTTP_PORT: u16 = 8080;
/// Concurrent client connections accepted before new ones are refused.
pub const DEFAULT_MAX_CONNECTIONS: usize = 500;

/// How the warehouse asks clients for their password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// MD5 challenge (Redshift's default; every driver supports it).
    #[default]
    Md5,
    /// SCRAM-SHA-256.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// Cleartext password (only sensible over TLS).
    Password,
}

impl AuthMethod {
    /// Reads the names used in the configuration file and `SHALE_PG_AUTH`.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "md5" => Ok(Self::Md5),
            "scram-sha-256" | "scram" => Ok(Self::ScramSha256),
            "password" | "cleartext" => Ok(Self::Password),
            other => Err(ConfigError::Invalid {
                key: "pg.auth",
                message: format!(
                    "unknown authentication method {other:?} (expected md5, scram-sha-256 or password)"
                ),
            }),
        }
    }
}

/// Which clients must connect over TLS (Redshift's `require_ssl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RequireSsl {
    /// Plain connections are accepted from anywhere.
    Never,
    /// Clients that are not on this machine (loopback) must use TLS.
    #[default]
    Remote,
    /// Every client must use TLS.
    Always,
}

impl RequireSsl {
    /// Reads the names used in the configuration file and `SHALE_PG_REQUIRE_SSL`.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "never" | "off" | "false" => Ok(Self::Never),
            "remote" => Ok(Self::Remote),
            "always" | "on" | "true" => Ok(Self::Always),
            other => Err(ConfigError::Invalid {
                key: "pg.require_ssl",
                message: format!("unknown value {other:?} (expected never, remote or always)"),
            }),
        }
    }

    /// Whether a plain (non-TLS) connection from `peer` is refused.
    pub fn refuses_plain(self, peer: IpAddr) -> bool {
        match self {
            RequireSsl::Never => false,
            RequireSsl::Remote => !peer.is_loopback(),
            RequireSsl::Always => true,
        }
    }
}

/// The TOML configuration file, as written by a user. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where catalog, tables, buckets and generated secrets live.
    pub data_dir: Option<PathBuf>,
    /// Address every listener binds to.
    pub bind: Option<IpAddr>,
    /// The warehouse (PostgreSQL wire protocol) listener.
    #[serde(default)]
    pub pg: PgFileConfig,
    /// The AWS-compatible API listener and the account it plays.
    #[serde(default)]
    pub aws: AwsFileConfig,
    /// The HTTP listener for people and front-ends.
    #[serde(default)]
    pub http: PortFileConfig,
    /// Buckets mapped to an external S3-compatible endpoint or to real AWS,
    /// by the name Shale knows them under (`[buckets.<name>]`). Every other
    /// bucket is embedded in the data directory.
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketFileConfig>,
}

/// `[buckets.<name>]` section: where a mapped bucket really lives.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketFileConfig {
    /// Endpoint URL of the S3-compatible service (absent: real AWS).
    pub endpoint: Option<String>,
    /// Region to sign requests for (default us-east-1).
    pub region: Option<String>,
    /// Access key id of the external service.
    pub access_key_id: Option<String>,
    /// Secret access key matching `access_key_id`; never logged.
    pub secret_access_key: Option<String>,
    /// Session token for temporary credentials; never logged.
    pub session_token: Option<String>,
    /// The bucket's name at the endpoint (default: the same name).
    pub bucket: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual hosts.
    #[serde(default)]
    pub path_style: bool,
}

impl fmt::Debug for BucketFileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketFileConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// Region used for a mapped bucket whose configuration names none.
pub const DEFAULT_BUCKET_REGION: &str = "us-east-1";

/// A bucket mapped to an external endpoint, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct BucketMapping {
    /// The name clients and `s3://` URIs use.
    pub name: String,
    /// Endpoint URL; `None` means real AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// Static credentials; `None` lets the client find them (environment,
    /// instance metadata), as AWS SDKs do.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// The bucket's name at the endpoint.
    pub remote_bucket: String,
    pub path_style: bool,
}

impl fmt::Debug for BucketMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketMapping")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("remote_bucket", &self.remote_bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

impl BucketMapping {
    fn resolve(name: String, file: BucketFileConfig) -> Result<Self, ConfigError> {
        if name.is_empty() {
            return Err(ConfigError::Invalid {
                key: "buckets",
                message: "a mapped bucket needs a name".into(),
            });
        }
        if file.access_key_id.is_some() != file.secret_access_key.is_some() {
            return Err(ConfigError::Invalid {
                key: "buckets.access_key_id",
                message: format!(
                    "bucket {name:?}: access_key_id and secret_access_key must be given together"
                ),
            });
        }
        if let Some(endpoint) = &file.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "buckets.endpoint",
                message: format!(
                    "bucket {name:?}: endpoint {endpoint:?} must start with http:// or https://"
                ),
            });
        }
        Ok(BucketMapping {
            remote_bucket: file.bucket.unwrap_or_else(|| name.clone()),
            name,
            endpoint: file.endpoint,
            region: file
                .region
                .unwrap_or_else(|| DEFAULT_BUCKET_REGION.to_owned()),
            access_key_id: file.access_key_id,
            secret_access_key: file.secret_access_key,
            session_token: file.session_token,
            path_style: file.path_style,
        })
    }
}

/// `[pg]` section of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgFileConfig {
    /// TCP port (default 5439).
    pub port: Option<u16>,
    /// Password authentication method (default md5).
    pub auth: Option<AuthMethod>,
    /// Connections accepted at once (default 500).
    pub max_connections: Option<usize>,
    /// Which clients must use TLS: never, remote (default) or always.
    pub require_ssl: Option<RequireSsl>,
    /// PEM certificate chain for TLS; a self-signed one is generated when absent.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

/// `[aws]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsFileConfig {
    /// TCP port.
    pub port: Option<u16>,
    /// The 12-digit account id in every ARN Shale issues
    /// (`arn:aws:iam::<id>:role/...`).
    pub account_id: Option<String>,
}

/// A section that only names a port.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortFileConfig {
    /// TCP port.
    pub port: Option<u16>,
}

impl FileConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: Some(path.to_owned()),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: None,
            message: e.to_string(),
        })
    }
}

/// Values given on the command line or through `SHALE_*` variables; each one
/// present replaces what the file or the defaults say.
#[derive(Debug, Default, Clone)]
pub struct SettingsOverrides {
    pub data_dir: Option<PathBuf>,
    pub bind: Option<IpAddr>,
    pub pg_port: Option<u16>,
    pub aws_port: Option<u16>,
    pub http_port: Option<u16>,
    pub pg_auth: Option<AuthMethod>,
    pub pg_require_ssl: Option<RequireSsl>,
    pub admin_password: Option<String>,
}

/// The settings the process runs with, after all layering and validation.
#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub bind: IpAddr,
    pub pg_port: u16,
    pub aws_port: u16,
    /// The AWS account id Shale plays (`aws.account_id`).
    pub aws_account_id: String,
    pub http_port: u16,
    pub pg_auth: AuthMethod,
    pub pg_require_ssl: RequireSsl,
    pub max_connections: usize,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The superuser's password when given by `SHALE_ADMIN_PASSWORD`; never logged.
    pub admin_password: Option<String>,
    /// Buckets mapped to external endpoints (`[buckets.<name>]`), by name.
    pub bucket_mappings: Vec<BucketMapping>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("pg_port", &self.pg_port)
            .field("aws_port", &self.aws_port)
            .field("aws_account_id", &self.aws_account_id)
            .field("http_port", &self.http_port)
            .field("pg_auth", &self.pg_auth)
            .field("max_connections", &self.max_connections)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .field("bucket_mappings", &self.bucket_mappings)
            .finish()
    }
}

impl Settings {
    /// Layers defaults, the file and the overrides, and validates the result.
    pub fn resolve(file: FileConfig, over: SettingsOverrides) -> Result<Self, ConfigError> {
        let settings = Settings {
            data_dir: over
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            bind: over.bind.or(file.bind).unwrap_or(DEFAULT_BIND),
            pg_port: over.pg_port.or(file.pg.port).unwrap_or(DEFAULT_PG_PORT),
            aws_port: over.aws_port.or(file.aws.port).unwrap_or(DEFAULT_AWS_PORT),
            aws_account_id: file
                .aws
                .account_id
                .unwrap_or_else(|| DEFAULT_AWS_ACCOUNT_ID.to_owned()),
            http_port: over
                .http_port
                .or(file.http.port)
                .unwrap_or(DEFAULT_HTTP_PORT),
            pg_auth: over.pg_auth.or(file.pg.auth).unwrap_or_default(),
            pg_require_ssl: over
                .pg_require_ssl
                .or(file.pg.require_ssl)
                .unwrap_or_default(),
            max_connections: file.pg.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            tls_cert: file.pg.tls_cert,
            tls_key: file.pg.tls_key,
            admin_password: over.admin_password.filter(|p| !p.is_empty()),
            bucket_mappings: file
                .buckets
                .into_iter()
                .map(|(name, b)| BucketMapping::resolve(name, b))
                .collect::<Result<_, _>>()?,
        };
        if settings.tls_cert.is_some() != settings.tls_key.is_some() {
            return Err(ConfigError::Invalid {
                key: "pg.tls_cert",
                message: "pg.tls_cert and pg.tls_key must be given together".into(),
            });
        }
        if settings.aws_account_id.len() != 12
            || !settings.aws_account_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConfigError::Invalid {
                key: "aws.account_id",
                message: "must be 12 digits".into(),
            });
        }
        if settings.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "pg.max_connections",
                message: "must be at least 1".into(),
            });
        }
        Ok(settings)
    }

    /// Settings for tests and embedding: defaults rooted at `data_dir`, with
    /// every port chosen by the operating system.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut s = Self::resolve(FileConfig::default(), SettingsOverrides::default())
            .unwrap_or_else(|_| unreachable!("defaults are valid"));
        s.data_dir = data_dir.into();
        s.pg_port = 0;
        s.aws_port = 0;
        s.http_port = 0;
        s
    }
}

/// What can be wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration{}: {message}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Parse {
        path: Option<PathBuf>,
        message: String,
    },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback() {
        let s = Settings::resolve(FileConfig::default(), SettingsOverrides::default())
            .expect("defaults");
        assert_eq!(s.bind, DEFAULT_BIND);
        assert_eq!(s.pg_port, 5439);
        assert_eq!(s.aws_port, 4566);
        assert_eq!(s.http_port, 8080);
        assert_eq!(s.pg_auth, AuthMethod::Md5);
        assert_eq!(s.data_dir, PathBuf::from("./shale-data"));
    }

    #[test]
    fn overrides_beat_file_which_beats_defaults() {
        let file = FileConfig::parse(
            "data_dir = '/tmp/x'\n[pg]\nport = 6000\nauth = 'scram-sha-256'\n[aws]\nport = 7000\n",
        )
        .expect("parse");
        let over = SettingsOverrides {
            pg_port: Some(6001),
            ..Default::default()
        };
        let s = Settings::resolve(file, over).expect("resolve");
        assert_eq!(s.pg_port, 6001);
        assert_eq!(s.aws_port, 7000);
        assert_eq!(s.pg_auth, AuthMethod::ScramSha256);
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn tls_is_required_of_remote_clients_by_default() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        let s = Settings::resolve(FileConfig::default(), SettingsOverrides::default())
            .expect("resolve");
        assert_eq!(s.pg_require_ssl, RequireSsl::Remote);
        let remote = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
        assert!(s.pg_require_ssl.refuses_plain(remote));
        assert!(
            !s.pg_require_ssl
                .refuses_plain(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert!(RequireSsl::Always.refuses_plain(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(!RequireSsl::Never.refuses_plain(remote));
        let file = FileConfig::parse("[pg]\nrequire_ssl = 'always'\n").expect("parse");
        let s = Settings::resolve(file, SettingsOverrides::default()).expect("resolve");
        assert_eq!(s.pg_require_ssl, RequireSsl::Always);
        assert!(RequireSsl::parse("sometimes").is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = FileConfig::parse("[pg]\nprot = 1\n").expect_err("unknown key");
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn tls_cert_without_key_is_rejected() {
        let file = FileConfig::parse("[pg]\ntls_cert = '/a.pem'\n").expect("parse");
        assert!(Settings::resolve(file, SettingsOverrides::default()).is_err());
    }

    #[test]
    fn password_never_shows_in_debug() {
        let over = SettingsOverrides {
            admin_password: Some("hunter2".into()),
            ..Default::default()
        };
        let s = Settings::resolve(FileConfig::default(), over).expect("resolve");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn mapped_buckets_are_read_and_secrets_hidden() {
        let file = FileConfig::parse(
            "[buckets.lake]\nendpoint = 'http://127.0.0.1:9000'\naccess_key_id = 'AK'\n\
             secret_access_key = 'hunter2'\nbucket = 'remote-lake'\npath_style = true\n\
             [buckets.aws]\nregion = 'eu-west-1'\n",
        )
        .expect("parse");
        let s = Settings::resolve(file, SettingsOverrides::default()).expect("resolve");
        assert_eq!(s.bucket_mappings.len(), 2);
        let aws = &s.bucket_mappings[0];
        assert_eq!(
            (aws.name.as_str(), aws.region.as_str()),
            ("aws", "eu-west-1")
        );
        assert_eq!(
            (aws.endpoint.as_deref(), aws.remote_bucket.as_str()),
            (None, "aws")
        );
        let lake = &s.bucket_mappings[1];
        assert_eq!(lake.remote_bucket, "remote-lake");
        assert_eq!(lake.region, DEFAULT_BUCKET_REGION);
        assert!(lake.path_style);
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn mapped_bucket_needs_both_key_halves() {
        let file = FileConfig::parse("[buckets.b]\naccess_key_id = 'AK'\n").expect("parse");
        assert!(Settings::resolve(file, SettingsOverrides::default()).is_err());
        let bad = FileConfig::parse("[buckets.b]\nendpont = 'x'\n");
        assert!(bad.is_err());
    }

    #[test]
    fn auth_method_names() {
        assert_eq!(AuthMethod::parse("MD5").ok(), Some(AuthMethod::Md5));
        assert_eq!(
            AuthMethod::parse("scram-sha-256").ok(),
            Some(AuthMethod::ScramSha256)
        );
        assert!(AuthMethod::parse("trust").is_err());
    }
}
