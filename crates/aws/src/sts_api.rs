//! The STS API (Query protocol, version 2011-06-15): GetCallerIdentity and
//! AssumeRole, whose temporary credentials then sign S3 and API requests
//! like any key, until they expire.

use shale_iam::{Account, Identity};

use crate::query::{ApiError, Params, Xml};

pub(crate) const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Runs the STS action in `params` for `caller`.
pub(crate) fn call(
    account: &Account,
    caller: &Identity,
    params: &Params,
) -> Result<(String, Xml), ApiError> {
    let action = params.action().unwrap_or_default().to_owned();
    let mut x = Xml::new();
    match action.as_str() {
        // Needs no permission, as in AWS.
        "GetCallerIdentity" => {
            let user_id = match caller {
                Identity::Root => account.id().to_owned(),
                Identity::User(name) => account.user(name).map(|u| u.id)?,
                Identity::AssumedRole { role, session } => {
                    let id = account.role(role).map(|r| r.id)?;
                    format!("{id}:{session}")
                }
            };
            x.leaf("Arn", &account.arn_of(caller))
                .leaf("UserId", &user_id)
                .leaf("Account", account.id());
        }
        "AssumeRole" => {
            let role_arn = params.required("RoleArn")?;
            let session = params.required("RoleSessionName")?;
            let duration = params.int("DurationSeconds")?.unwrap_or(3600);
            let t = account.assume_role(caller, role_arn, session, duration)?;
            let role_id = account.role(&t.role).map(|r| r.id)?;
            x.node("Credentials", |x| {
                x.leaf("AccessKeyId", &t.access_key_id)
                    .leaf("SecretAccessKey", &t.secret)
                    .leaf("SessionToken", &t.session_token)
                    .time("Expiration", t.expiration);
            })
            .node("AssumedRoleUser", |x| {
                x.leaf("AssumedRoleId", &format!("{role_id}:{}", t.session))
                    .leaf(
                        "Arn",
                        &account.arn_of(&Identity::AssumedRole {
                            role: t.role.clone(),
                            session: t.session.clone(),
                        }),
                    );
            })
            .leaf("PackedPolicySize", "0");
        }
        other => {
            return Err(ApiError::unknown_action(other, "2011-06-15"));
        }
    }
    Ok((action, x))
}
