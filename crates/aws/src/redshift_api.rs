//! The Redshift API (Query protocol, version 2012-12-01) for the one local
//! cluster — DescribeClusters, DescribeCustomDomainAssociations,
//! ModifyClusterIamRoles and the credentials calls GetClusterCredentials and
//! GetClusterCredentialsWithIAM — and Redshift Serverless's GetCredentials
//! (JSON protocol), so that `redshift_connector`'s `iam=True` logs in
//! unchanged.
//!
//! A credentials call issues a temporary password for a login name
//! (`IAM:alice`, `IAMA:alice:grp`, `IAMR:role`) and records in the
//! [`Account`] whom it logs in as; the wire protocol's authentication reads
//! that record. Every call is authorized with the caller's IAM policies on
//! Redshift's resource ARNs (`dbuser:`, `dbname:`, `dbgroup:`).

use chrono::{DateTime, Utc};
use shale_iam::{Account, DbLogin, Decision, Identity, Request};

use crate::Cluster;
use crate::query::{ApiError, Params, Xml};

pub(crate) const NAMESPACE: &str = "http://redshift.amazonaws.com/doc/2012-12-01/";
/// Temporary database credentials last 900 seconds unless asked otherwise.
const DEFAULT_DURATION: i64 = 900;

/// Runs the Redshift action in `params` for `caller`.
pub(crate) fn call(
    account: &Account,
    cluster: &Cluster,
    caller: &Identity,
    params: &Params,
) -> Result<(String, Xml), ApiError> {
    let action = params.action().unwrap_or_default().to_owned();
    let api = Api {
        account,
        cluster,
        caller,
        params,
    };
    let mut x = Xml::new();
    match action.as_str() {
        "DescribeClusters" => api.describe_clusters(&mut x)?,
        "DescribeCustomDomainAssociations" => api.describe_custom_domains(&mut x)?,
        "ModifyClusterIamRoles" => api.modify_roles(&mut x)?,
        "GetClusterCredentials" => api.get_cluster_credentials(&mut x)?,
        "GetClusterCredentialsWithIAM" => api.get_cluster_credentials_with_iam(&mut x)?,
        other => {
            return Err(ApiError::unknown_action(other, "2012-12-01"));
        }
    }
    Ok((action, x))
}

struct Api<'a> {
    account: &'a Account,
    cluster: &'a Cluster,
    caller: &'a Identity,
    params: &'a Params,
}

fn cluster_not_found(id: &str) -> ApiError {
    ApiError::new("ClusterNotFound", 404, format!("Cluster {id} not found."))
}

/// The database user name rules of `DbUser` and `DbGroups`: 1 to 64
/// characters, starting with a letter, no `:` or `/`, not PUBLIC.
fn check_db_name(parameter: &str, name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.chars().count())
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+.@-".contains(c))
        && !name.eq_ignore_ascii_case("public");
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(parameter, name))
    }
}

impl Api<'_> {
    fn resource(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:aws:redshift:{}:{}:{kind}:{}/{name}",
            crate::REGION,
            self.account.id(),
            self.cluster.identifier
        )
    }

    fn cluster_arn(&self) -> String {
        format!(
            "arn:aws:redshift:{}:{}:cluster:{}",
            crate::REGION,
            self.account.id(),
            self.cluster.identifier
        )
    }

    fn require(&self, action: &str, resource: &str, request: Request) -> Result<(), ApiError> {
        match self.account.authorize(self.caller, &request) {
            Decision::Allow => Ok(()),
            _ => Err(ApiError::new(
                "AccessDenied",
                403,
                self.account.denial(self.caller, action, resource),
            )),
        }
    }

    fn require_plain(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        self.require(action, resource, Request::new(action, resource))
    }

    /// The cluster the request names by `ClusterIdentifier` (compared
    /// exactly, as Redshift does) or by any `CustomDomainName`: the local
    /// cluster answers to whatever name the client reached it by.
    fn check_cluster(&self) -> Result<(), ApiError> {
        match self.params.get("ClusterIdentifier") {
            Some(id) if id != self.cluster.identifier => Err(cluster_not_found(id)),
            Some(_) => Ok(()),
            None if self.params.get("CustomDomainName").is_some() => Ok(()),
            None => Err(ApiError::new(
                "InvalidParameterCombination",
                400,
                "ClusterIdentifier or CustomDomainName is required.",
            )),
        }
    }

    fn duration(&self) -> Result<i64, ApiError> {
        let d = self
            .params
            .int("DurationSeconds")?
            .unwrap_or(DEFAULT_DURATION);
        if !(900..=3600).contains(&d) {
            return Err(ApiError::new(
                "InvalidParameterValue",
                400,
                "The duration must be between 900 and 3600 seconds.",
            ));
        }
        Ok(d)
    }

    fn cluster_xml(&self, x: &mut Xml) {
        let roles = self.account.cluster_roles();
        let c = self.cluster;
        x.leaf("ClusterIdentifier", &c.identifier)
            .leaf("NodeType", "ra3.xlplus")
            .leaf("ClusterStatus", "available")
            .leaf("ClusterAvailabilityStatus", "Available")
            .leaf("MasterUsername", &c.master_user)
            .leaf("DBName", &c.database)
            .node("Endpoint", |x| {
                x.leaf("Address", &c.address)
                    .leaf("Port", &c.port.to_string());
            })
            .time("ClusterCreateTime", c.created)
            .leaf("NumberOfNodes", "1")
            .leaf("PubliclyAccessible", "false")
            .leaf("Encrypted", "false")
            .leaf("ClusterNamespaceArn", &self.cluster_arn())
            .node("IamRoles", |x| {
                for arn in &roles.roles {
                    x.node("ClusterIamRole", |x| {
                        x.leaf("IamRoleArn", arn).leaf("ApplyStatus", "in-sync");
                    });
                }
            });
        if let Some(default) = &roles.default {
            x.leaf("DefaultIamRoleArn", default);
        }
    }

    fn describe_clusters(&self, x: &mut Xml) -> Result<(), ApiError> {
        if let Some(id) = self.params.get("ClusterIdentifier")
            && id != self.cluster.identifier
        {
            return Err(cluster_not_found(id));
        }
        self.require_plain("redshift:DescribeClusters", &self.cluster_arn())?;
        x.node("Clusters", |x| {
            x.node("Cluster", |x| self.cluster_xml(x));
        });
        Ok(())
    }

    fn describe_custom_domains(&self, x: &mut Xml) -> Result<(), ApiError> {
        self.require_plain("redshift:DescribeCustomDomainAssociations", "*")?;
        let name = self.params.get("CustomDomainName");
        x.node("Associations", |x| {
            if let Some(name) = name {
                x.node("Association", |x| {
                    x.node("CertificateAssociations", |x| {
                        x.node("CertificateAssociation", |x| {
                            x.leaf("CustomDomainName", name)
                                .leaf("ClusterIdentifier", &self.cluster.identifier);
                        });
                    });
                });
            }
        });
        Ok(())
    }

    fn modify_roles(&self, x: &mut Xml) -> Result<(), ApiError> {
        let id = self.params.required("ClusterIdentifier")?;
        if id != self.cluster.identifier {
            return Err(cluster_not_found(id));
        }
        self.require_plain("redshift:ModifyClusterIamRoles", &self.cluster_arn())?;
        let add = self.params.list("AddIamRoles");
        let remove = self.params.list("RemoveIamRoles");
        let default = self
            .params
            .get("DefaultIamRoleArn")
            .map(|d| (!d.is_empty()).then(|| d.to_owned()));
        // Handing a role to Redshift is passing it: every database user's
        // `IAM_ROLE default` would run as it.
        for arn in add.iter().chain(default.iter().flatten()) {
            let request = Request::new("iam:PassRole", arn.as_str())
                .with_context("iam:PassedToService", shale_iam::REDSHIFT_SERVICE);
            self.require("iam:PassRole", arn, request)?;
        }
        self.account
            .modify_cluster_roles(&add, &remove, default)
            .map_err(|e| match e.code {
                // Redshift's names for IAM's refusals.
                "InvalidInput" => ApiError::new("InvalidParameterValue", 400, e.message),
                "LimitExceeded" => ApiError::new("LimitExceededFault", 400, e.message),
                _ => ApiError::from(e),
            })?;
        x.node("Cluster", |x| self.cluster_xml(x));
        Ok(())
    }

    fn credentials_xml(x: &mut Xml, login: &str, password: &str, expiration: DateTime<Utc>) {
        x.leaf("DbUser", login)
            .leaf("DbPassword", password)
            .time("Expiration", expiration);
    }

    fn get_cluster_credentials(&self, x: &mut Xml) -> Result<(), ApiError> {
        let db_user = self.params.required("DbUser")?;
        check_db_name("DbUser", db_user)?;
        self.check_cluster()?;
        let duration = self.duration()?;
        let auto_create = self.params.bool("AutoCreate")?.unwrap_or(false);
        let db_name = self.params.get("DbName");
        let groups: Vec<String> = self
            .params
            .list("DbGroups")
            .into_iter()
            .map(|g| g.to_ascii_lowercase())
            .collect();
        for g in &groups {
            check_db_name("DbGroups", g)?;
        }

        let user = db_user.to_ascii_lowercase();
        let context = |r: Request| {
            let r = r.with_context("redshift:DbUser", user.clone());
            match db_name {
                Some(d) => r.with_context("redshift:DbName", d.to_owned()),
                None => r,
            }
        };
        let action = "redshift:GetClusterCredentials";
        let user_arn = self.resource("dbuser", &user);
        self.require(action, &user_arn, context(Request::new(action, &user_arn)))?;
        if let Some(db) = db_name {
            let db_arn = self.resource("dbname", db);
            self.require(action, &db_arn, context(Request::new(action, &db_arn)))?;
        }
        if auto_create {
            let create = "redshift:CreateClusterUser";
            self.require(create, &user_arn, context(Request::new(create, &user_arn)))?;
        }
        for g in &groups {
            let join = "redshift:JoinGroup";
            let group_arn = self.resource("dbgroup", g);
            self.require(join, &group_arn, context(Request::new(join, &group_arn)))?;
        }

        let prefix = if auto_create { "IAMA" } else { "IAM" };
        let mut login = format!("{prefix}:{user}");
        if !groups.is_empty() {
            login.push(':');
            login.push_str(&groups.join(","));
        }
        let grant = DbLogin {
            user,
            auto_create,
            groups,
            database: db_name.map(str::to_owned),
        };
        let (password, expiration) = self.account.issue_db_password(&login, grant, duration)?;
        Self::credentials_xml(x, &login, &password, expiration);
        Ok(())
    }

    fn get_cluster_credentials_with_iam(&self, x: &mut Xml) -> Result<(), ApiError> {
        self.check_cluster()?;
        let duration = self.duration()?;
        let db_name = self.params.get("DbName");
        let db = db_name.unwrap_or(&self.cluster.database);
        let action = "redshift:GetClusterCredentialsWithIAM";
        self.require_plain(action, &self.resource("dbname", db))?;
        let (login, password, expiration) =
            issue_for_identity(self.account, self.caller, db_name, duration)?;
        Self::credentials_xml(x, &login, &password, expiration);
        x.time("NextRefreshTime", expiration);
        Ok(())
    }
}

/// Issues a password for the database user an IAM identity maps to, one
/// to one: user `alice` is `IAM:alice`, a session of role `etl` is
/// `IAMR:etl`. The database user is created at first login.
fn issue_for_identity(
    account: &Account,
    caller: &Identity,
    database: Option<&str>,
    duration: i64,
) -> Result<(String, String, DateTime<Utc>), ApiError> {
    let login = match caller {
        Identity::User(name) => format!("IAM:{name}"),
        Identity::AssumedRole { role, .. } => format!("IAMR:{role}"),
        Identity::Root => {
            return Err(ApiError::new(
                "UnsupportedOperation",
                400,
                "The account root has no database user; call with an IAM user's or role's credentials.",
            ));
        }
    };
    let grant = DbLogin {
        user: login.clone(),
        auto_create: true,
        groups: Vec::new(),
        database: database.map(str::to_owned),
    };
    let (password, expiration) = account.issue_db_password(&login, grant, duration)?;
    Ok((login, password, expiration))
}

/// Redshift Serverless's `GetCredentials` (JSON protocol): `dbName`,
/// `durationSeconds`, `workgroupName` | `customDomainName`. The answer's
/// fields are lower camel case, times in epoch seconds.
pub(crate) fn serverless_call(
    account: &Account,
    cluster: &Cluster,
    caller: &Identity,
    target: &str,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let operation = target.rsplit('.').next().unwrap_or(target);
    if operation != "GetCredentials" {
        return Err(ApiError::new(
            "UnknownOperationException",
            400,
            format!("Unknown operation {operation}"),
        ));
    }
    let input: serde_json::Value = if body.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::new("SerializationException", 400, e.to_string()))?
    };
    let duration = match input.get("durationSeconds") {
        None | Some(serde_json::Value::Null) => DEFAULT_DURATION,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::new(
                "ValidationException",
                400,
                "durationSeconds must be an integer.",
            )
        })?,
    };
    if !(900..=3600).contains(&duration) {
        return Err(ApiError::new(
            "ValidationException",
            400,
            "The duration must be between 900 and 3600 seconds.",
        ));
    }
    let workgroup = input
        .get("workgroupName")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(&cluster.identifier);
    let resource = format!(
        "arn:aws:redshift-serverless:{}:{}:workgroup/{workgroup}",
        crate::REGION,
        account.id()
    );
    let action = "redshift-serverless:GetCredentials";
    if !account
        .authorize(caller, &Request::new(action, &resource))
        .is_allowed()
    {
        return Err(ApiError::new(
            "AccessDeniedException",
            403,
            account.denial(caller, action, &resource),
        ));
    }
    let db_name = input.get("dbName").and_then(serde_json::Value::as_str);
    let (login, password, expiration) = issue_for_identity(account, caller, db_name, duration)?;
    let epoch = expiration.timestamp();
    Ok(serde_json::json!({
        "dbUser": login,
        "dbPassword": password,
        "expiration": epoch,
        "nextRefreshTime": epoch,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::iso8601;

    #[test]
    fn database_user_names_follow_redshifts_rules() {
        assert!(check_db_name("DbUser", "alice").is_ok());
        assert!(check_db_name("DbUser", "a_b.c@d-e").is_ok());
        for bad in ["", "1alice", "a:b", "a/b", "PUBLIC", &"a".repeat(65)] {
            assert!(check_db_name("DbUser", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(iso8601(t), "1970-01-01T00:00:00Z");
    }
}
