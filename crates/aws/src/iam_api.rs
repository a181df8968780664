//! The IAM API (Query protocol, version 2010-05-08) over the
//! [`Account`]: users and their access keys, roles, customer managed
//! policies, attachments and inline policies — what `aws iam` and boto3's
//! `iam` client send. Each call is authorized as `iam:<Action>` on the
//! entity it touches; the account root may do everything.

use shale_iam::{Account, Identity, Role, Target, User};

use crate::query::{ApiError, Params, Xml, url_encoded};

pub(crate) const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Runs the IAM action in `params` for `caller`; the result element's
/// content on success.
pub(crate) fn call(
    account: &Account,
    caller: &Identity,
    params: &Params,
) -> Result<(String, Xml), ApiError> {
    let action = params.action().unwrap_or_default().to_owned();
    let api = Api {
        account,
        caller,
        params,
    };
    let mut x = Xml::new();
    match action.as_str() {
        "CreateUser" => api.create_user(&mut x)?,
        "GetUser" => api.get_user(&mut x)?,
        "ListUsers" => api.list_users(&mut x)?,
        "DeleteUser" => api.delete_user()?,
        "CreateAccessKey" => api.create_access_key(&mut x)?,
        "ListAccessKeys" => api.list_access_keys(&mut x)?,
        "UpdateAccessKey" => api.update_access_key()?,
        "DeleteAccessKey" => api.delete_access_key()?,
        "CreateRole" => api.create_role(&mut x)?,
        "GetRole" => api.get_role(&mut x)?,
        "ListRoles" => api.list_roles(&mut x)?,
        "DeleteRole" => api.delete_role()?,
        "UpdateAssumeRolePolicy" => api.update_trust()?,
        "CreatePolicy" => api.create_policy(&mut x)?,
        "GetPolicy" => api.get_policy(&mut x)?,
        "GetPolicyVersion" => api.get_policy_version(&mut x)?,
        "ListPolicies" => api.list_policies(&mut x)?,
        "DeletePolicy" => api.delete_policy()?,
        "AttachRolePolicy" | "DetachRolePolicy" | "AttachUserPolicy" | "DetachUserPolicy" => {
            api.attach(&action)?;
        }
        "ListAttachedRolePolicies" | "ListAttachedUserPolicies" => {
            api.list_attached(&action, &mut x)?
        }
        "PutRolePolicy" | "PutUserPolicy" => api.put_inline(&action)?,
        "GetRolePolicy" | "GetUserPolicy" => api.get_inline(&action, &mut x)?,
        "DeleteRolePolicy" | "DeleteUserPolicy" => api.delete_inline(&action)?,
        "ListRolePolicies" | "ListUserPolicies" => api.list_inline(&action, &mut x)?,
        other => {
            return Err(ApiError::unknown_action(other, "2010-05-08"));
        }
    }
    Ok((action, x))
}

struct Api<'a> {
    account: &'a Account,
    caller: &'a Identity,
    params: &'a Params,
}

impl Api<'_> {
    fn require(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        Ok(self
            .account
            .require(self.caller, &format!("iam:{action}"), resource)?)
    }

    fn arn(&self, kind: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}/{name}", self.account.id())
    }

    /// The ARN an entity about to be created will have: `Path` included.
    fn new_arn(&self, kind: &str, name: &str) -> String {
        let path = self.params.get("Path").unwrap_or("/");
        format!("arn:aws:iam::{}:{kind}{path}{name}", self.account.id())
    }

    /// The real ARN of the user `name` (its path, the case it was created
    /// with), so that policies are matched against what the action
    /// touches; the name as given when there is no such user.
    fn user_resource(&self, name: &str) -> String {
        match self.account.user(name) {
            Ok(u) => self.account.user_arn(&u),
            Err(_) => self.arn("user", name),
        }
    }

    /// The real ARN of the role `name`, as [`Self::user_resource`].
    fn role_resource(&self, name: &str) -> String {
        match self.account.role(name) {
            Ok(r) => self.account.role_arn(&r),
            Err(_) => self.arn("role", name),
        }
    }

    /// `UserName`, or the calling user when it is omitted.
    fn user_name(&self) -> Result<String, ApiError> {
        if let Some(name) = self.params.get("UserName") {
            return Ok(name.to_owned());
        }
        match self.caller {
            Identity::User(name) => Ok(name.clone()),
            _ => Err(ApiError::missing("UserName")),
        }
    }

    fn user_xml(&self, x: &mut Xml, user: &User) {
        x.node("User", |x| {
            x.leaf("Path", &user.path)
                .leaf("UserName", &user.name)
                .leaf("UserId", &user.id)
                .leaf("Arn", &self.account.user_arn(user))
                .time("CreateDate", user.created);
        });
    }

    fn role_fields(&self, x: &mut Xml, role: &Role) {
        x.leaf("Path", &role.path)
            .leaf("RoleName", &role.name)
            .leaf("RoleId", &role.id)
            .leaf("Arn", &self.account.role_arn(role))
            .time("CreateDate", role.created)
            .leaf("AssumeRolePolicyDocument", &url_encoded(role.trust.text()))
            .leaf("MaxSessionDuration", &role.max_session_duration.to_string());
        if !role.description.is_empty() {
            x.leaf("Description", &role.description);
        }
    }

    fn policy_fields(&self, x: &mut Xml, p: &shale_iam::CustomerPolicy, arn: &str) {
        x.leaf("PolicyName", &p.name)
            .leaf("PolicyId", &p.id)
            .leaf("Arn", arn)
            .leaf("Path", &p.path)
            .leaf("DefaultVersionId", "v1")
            .leaf(
                "AttachmentCount",
                &self.account.attachment_count(arn).to_string(),
            )
            .leaf("PermissionsBoundaryUsageCount", "0")
            .leaf("IsAttachable", "true")
            .time("CreateDate", p.created)
            .time("UpdateDate", p.created);
        if !p.description.is_empty() {
            x.leaf("Description", &p.description);
        }
    }

    // ---- Users ------------------------------------------------------------

    fn create_user(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.params.required("UserName")?;
        self.require("CreateUser", &self.new_arn("user", name))?;
        let user = self.account.create_user(name, self.params.get("Path"))?;
        self.user_xml(x, &user);
        Ok(())
    }

    fn get_user(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.user_name()?;
        self.require("GetUser", &self.user_resource(&name))?;
        let user = self.account.user(&name)?;
        self.user_xml(x, &user);
        Ok(())
    }

    fn list_users(&self, x: &mut Xml) -> Result<(), ApiError> {
        self.require("ListUsers", &self.arn("user", "*"))?;
        let users = self.account.users();
        x.node("Users", |x| {
            for u in &users {
                x.node("member", |x| {
                    x.leaf("Path", &u.path)
                        .leaf("UserName", &u.name)
                        .leaf("UserId", &u.id)
                        .leaf("Arn", &self.account.user_arn(u))
                        .time("CreateDate", u.created);
                });
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }

    fn delete_user(&self) -> Result<(), ApiError> {
        let name = self.params.required("UserName")?;
        self.require("DeleteUser", &self.user_resource(name))?;
        Ok(self.account.delete_user(name)?)
    }

    fn create_access_key(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.user_name()?;
        self.require("CreateAccessKey", &self.user_resource(&name))?;
        let key = self.account.create_access_key(&name)?;
        x.node("AccessKey", |x| {
            x.leaf("UserName", &key.user)
                .leaf("AccessKeyId", &key.id)
                .leaf("Status", "Active")
                .leaf("SecretAccessKey", &key.secret)
                .time("CreateDate", key.created);
        });
        Ok(())
    }

    fn list_access_keys(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.user_name()?;
        self.require("ListAccessKeys", &self.user_resource(&name))?;
        let keys = self.account.access_keys(&name)?;
        x.node("AccessKeyMetadata", |x| {
            for k in &keys {
                x.node("member", |x| {
                    x.leaf("UserName", &k.user)
                        .leaf("AccessKeyId", &k.id)
                        .leaf("Status", if k.active { "Active" } else { "Inactive" })
                        .time("CreateDate", k.created);
                });
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }

    fn update_access_key(&self) -> Result<(), ApiError> {
        let name = self.user_name()?;
        let id = self.params.required("AccessKeyId")?;
        let active = match self.params.required("Status")? {
            "Active" => true,
            "Inactive" => false,
            other => return Err(ApiError::invalid("Status", other)),
        };
        self.require("UpdateAccessKey", &self.user_resource(&name))?;
        Ok(self.account.set_access_key_active(&name, id, active)?)
    }

    fn delete_access_key(&self) -> Result<(), ApiError> {
        let name = self.user_name()?;
        let id = self.params.required("AccessKeyId")?;
        self.require("DeleteAccessKey", &self.user_resource(&name))?;
        Ok(self.account.delete_access_key(&name, id)?)
    }

    // ---- Roles ------------------------------------------------------------

    fn create_role(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.params.required("RoleName")?;
        let trust = self.params.required("AssumeRolePolicyDocument")?;
        self.require("CreateRole", &self.new_arn("role", name))?;
        let role = self.account.create_role(
            name,
            self.params.get("Path"),
            trust,
            self.params.get("Description").unwrap_or_default(),
            self.params.int("MaxSessionDuration")?,
        )?;
        x.node("Role", |x| self.role_fields(x, &role));
        Ok(())
    }

    fn get_role(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.params.required("RoleName")?;
        self.require("GetRole", &self.role_resource(name))?;
        let role = self.account.role(name)?;
        x.node("Role", |x| self.role_fields(x, &role));
        Ok(())
    }

    fn list_roles(&self, x: &mut Xml) -> Result<(), ApiError> {
        self.require("ListRoles", &self.arn("role", "*"))?;
        let prefix = self.params.get("PathPrefix").unwrap_or("/");
        let roles = self.account.roles();
        x.node("Roles", |x| {
            for r in roles.iter().filter(|r| r.path.starts_with(prefix)) {
                x.node("member", |x| self.role_fields(x, r));
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }

    fn delete_role(&self) -> Result<(), ApiError> {
        let name = self.params.required("RoleName")?;
        self.require("DeleteRole", &self.role_resource(name))?;
        Ok(self.account.delete_role(name)?)
    }

    fn update_trust(&self) -> Result<(), ApiError> {
        let name = self.params.required("RoleName")?;
        let doc = self.params.required("PolicyDocument")?;
        self.require("UpdateAssumeRolePolicy", &self.role_resource(name))?;
        Ok(self.account.update_trust(name, doc)?)
    }

    // ---- Managed policies -------------------------------------------------

    fn create_policy(&self, x: &mut Xml) -> Result<(), ApiError> {
        let name = self.params.required("PolicyName")?;
        let doc = self.params.required("PolicyDocument")?;
        self.require("CreatePolicy", &self.new_arn("policy", name))?;
        let policy = self.account.create_policy(
            name,
            self.params.get("Path"),
            doc,
            self.params.get("Description").unwrap_or_default(),
        )?;
        let arn = self.account.policy_arn(&policy);
        x.node("Policy", |x| self.policy_fields(x, &policy, &arn));
        Ok(())
    }

    fn get_policy(&self, x: &mut Xml) -> Result<(), ApiError> {
        let arn = self.params.required("PolicyArn")?;
        self.require("GetPolicy", arn)?;
        let policy = self.account.policy(arn)?;
        x.node("Policy", |x| self.policy_fields(x, &policy, arn));
        Ok(())
    }

    fn get_policy_version(&self, x: &mut Xml) -> Result<(), ApiError> {
        let arn = self.params.required("PolicyArn")?;
        let version = self.params.required("VersionId")?;
        self.require("GetPolicyVersion", arn)?;
        let policy = self.account.policy(arn)?;
        if version != "v1" {
            return Err(ApiError::new(
                "NoSuchEntity",
                404,
                format!("Policy {arn} version {version} does not exist or is not attachable."),
            ));
        }
        x.node("PolicyVersion", |x| {
            x.leaf("Document", &url_encoded(policy.document.text()))
                .leaf("VersionId", "v1")
                .leaf("IsDefaultVersion", "true")
                .time("CreateDate", policy.created);
        });
        Ok(())
    }

    fn list_policies(&self, x: &mut Xml) -> Result<(), ApiError> {
        self.require("ListPolicies", &self.arn("policy", "*"))?;
        let scope = self.params.get("Scope").unwrap_or("All");
        let only_attached = self.params.bool("OnlyAttached")?.unwrap_or(false);
        let mut listed: Vec<(shale_iam::CustomerPolicy, String)> = Vec::new();
        if scope != "Local" {
            for m in shale_iam::MANAGED_POLICIES {
                if let Ok(p) = self.account.policy(m.arn) {
                    listed.push((p, m.arn.to_owned()));
                }
            }
        }
        if scope != "AWS" {
            for p in self.account.policies() {
                let arn = self.account.policy_arn(&p);
                listed.push((p, arn));
            }
        }
        x.node("Policies", |x| {
            for (p, arn) in &listed {
                if only_attached && self.account.attachment_count(arn) == 0 {
                    continue;
                }
                x.node("member", |x| self.policy_fields(x, p, arn));
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }

    fn delete_policy(&self) -> Result<(), ApiError> {
        let arn = self.params.required("PolicyArn")?;
        self.require("DeletePolicy", arn)?;
        Ok(self.account.delete_policy(arn)?)
    }

    // ---- Attachments and inline policies ------------------------------------

    /// The user or role an attachment or inline-policy action names.
    fn target(&self, action: &str) -> Result<(Target<'_>, String), ApiError> {
        if action.contains("Role") {
            let name = self.params.required("RoleName")?;
            Ok((Target::Role(name), self.role_resource(name)))
        } else {
            let name = self.params.required("UserName")?;
            Ok((Target::User(name), self.user_resource(name)))
        }
    }

    fn attach(&self, action: &str) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        let arn = self.params.required("PolicyArn")?;
        self.require(action, &resource)?;
        Ok(self
            .account
            .set_attached(target, arn, action.starts_with("Attach"))?)
    }

    fn list_attached(&self, action: &str, x: &mut Xml) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        self.require(action, &resource)?;
        let attached = match target {
            Target::Role(n) => self.account.role(n)?.attached,
            Target::User(n) => self.account.user(n)?.attached,
        };
        x.node("AttachedPolicies", |x| {
            for arn in &attached {
                let name = arn.rsplit('/').next().unwrap_or(arn);
                x.node("member", |x| {
                    x.leaf("PolicyName", name).leaf("PolicyArn", arn);
                });
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }

    fn put_inline(&self, action: &str) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        let name = self.params.required("PolicyName")?;
        let doc = self.params.required("PolicyDocument")?;
        self.require(action, &resource)?;
        Ok(self.account.put_inline(target, name, doc)?)
    }

    fn get_inline(&self, action: &str, x: &mut Xml) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        let name = self.params.required("PolicyName")?;
        self.require(action, &resource)?;
        let doc = self.account.inline(target, name)?;
        match target {
            Target::Role(r) => x.leaf("RoleName", r),
            Target::User(u) => x.leaf("UserName", u),
        };
        x.leaf("PolicyName", name)
            .leaf("PolicyDocument", &url_encoded(doc.text()));
        Ok(())
    }

    fn delete_inline(&self, action: &str) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        let name = self.params.required("PolicyName")?;
        self.require(action, &resource)?;
        Ok(self.account.delete_inline(target, name)?)
    }

    fn list_inline(&self, action: &str, x: &mut Xml) -> Result<(), ApiError> {
        let (target, resource) = self.target(action)?;
        self.require(action, &resource)?;
        let names: Vec<String> = match target {
            Target::Role(n) => self.account.role(n)?.inline.into_keys().collect(),
            Target::User(n) => self.account.user(n)?.inline.into_keys().collect(),
        };
        x.node("PolicyNames", |x| {
            for n in &names {
                x.leaf("member", n);
            }
        })
        .leaf("IsTruncated", "false");
        Ok(())
    }
}
