//! The account: seed 004's role and policy, who may assume what, keys and
//! sessions as credentials, deletion rules, and that every change survives
//! a reopen of `iam.json`.

use crate::{Account, AssumeRefusal, DbLogin, DbPassword, Decision, Identity, Request, Target};

const ACCOUNT: &str = "123456789012";

fn account() -> Account {
    Account::in_memory(ACCOUNT, ("AKIAROOT".to_owned(), "root-secret".to_owned()))
}

const REDSHIFT_TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

const ACCOUNT_TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}"#;

/// Seed 004's write policy: PutObject on two buckets.
const WRITE_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "s3export",
    "Action": ["s3:PutObject"], "Effect": "Allow", "Resource": ["arn:aws:s3:::condesa",
    "arn:aws:s3:::condesa/*", "arn:aws:s3:::bangkok", "arn:aws:s3:::bangkok/*"]}]}"#;

fn role_session(role: &str) -> Identity {
    Identity::AssumedRole {
        role: role.to_owned(),
        session: "sess".to_owned(),
    }
}

fn put(bucket: &str) -> Request {
    Request::new("s3:PutObject", format!("arn:aws:s3:::{bucket}/us_000"))
}

#[test]
fn a_role_may_do_what_its_attached_policy_allows() {
    let a = account();
    a.create_role("my-s3-write-role", None, REDSHIFT_TRUST, "", None)
        .unwrap();
    let who = role_session("my-s3-write-role");
    assert_eq!(a.authorize(&who, &put("bangkok")), Decision::ImplicitDeny);
    let policy = a
        .create_policy("redshift-s3-write-policy", None, WRITE_POLICY, "")
        .unwrap();
    let arn = a.policy_arn(&policy);
    assert_eq!(
        arn,
        "arn:aws:iam::123456789012:policy/redshift-s3-write-policy"
    );
    a.set_attached(Target::Role("my-s3-write-role"), &arn, true)
        .unwrap();
    assert_eq!(a.authorize(&who, &put("bangkok")), Decision::Allow);
    assert_eq!(a.authorize(&who, &put("elsewhere")), Decision::ImplicitDeny);
    assert_eq!(
        a.authorize(
            &who,
            &Request::new("s3:GetObject", "arn:aws:s3:::bangkok/us_000")
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(a.attachment_count(&arn), 1);
    // Attached policies block deletion, in IAM's order.
    assert_eq!(a.delete_policy(&arn).unwrap_err().code, "DeleteConflict");
    assert_eq!(
        a.delete_role("my-s3-write-role").unwrap_err().code,
        "DeleteConflict"
    );
    a.set_attached(Target::Role("my-s3-write-role"), &arn, false)
        .unwrap();
    assert_eq!(a.authorize(&who, &put("bangkok")), Decision::ImplicitDeny);
    a.delete_policy(&arn).unwrap();
    a.delete_role("my-s3-write-role").unwrap();
    assert_eq!(a.role("my-s3-write-role").unwrap_err().code, "NoSuchEntity");
}

#[test]
fn aws_managed_policies_attach_by_arn_and_unknown_ones_do_not() {
    let a = account();
    a.create_role("r", None, REDSHIFT_TRUST, "", None).unwrap();
    a.set_attached(
        Target::Role("r"),
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        true,
    )
    .unwrap();
    let who = role_session("r");
    let get = Request::new("s3:GetObject", "arn:aws:s3:::any/key");
    assert_eq!(a.authorize(&who, &get), Decision::Allow);
    assert_eq!(a.authorize(&who, &put("any")), Decision::ImplicitDeny);
    let err = a
        .set_attached(Target::Role("r"), "arn:aws:iam::aws:policy/NoSuch", true)
        .unwrap_err();
    assert_eq!(err.code, "NoSuchEntity");
    assert!(err.message.contains("does not exist or is not attachable"));
}

#[test]
fn names_are_unique_regardless_of_case_and_validated() {
    let a = account();
    a.create_user("Alice", None).unwrap();
    let dup = a.create_user("alice", None).unwrap_err();
    assert_eq!((dup.code, dup.status), ("EntityAlreadyExists", 409));
    assert_eq!(a.user("ALICE").unwrap().name, "Alice");
    let bad = a.create_user("no spaces", None).unwrap_err();
    assert_eq!(bad.code, "ValidationError");
    let malformed = a.create_role("r", None, "{", "", None).unwrap_err();
    assert_eq!(malformed.code, "MalformedPolicyDocument");
    // A trust policy is not an identity policy.
    let wrong = a.create_policy("p", None, REDSHIFT_TRUST, "").unwrap_err();
    assert_eq!(wrong.code, "MalformedPolicyDocument");
}

#[test]
fn user_keys_are_credentials_until_deactivated_or_deleted() {
    let a = account();
    a.create_user("bob", None).unwrap();
    let k = a.create_access_key("bob").unwrap();
    let c = a.credential(&k.id).unwrap();
    assert_eq!(c.identity, Identity::User("bob".to_owned()));
    assert_eq!(c.secret, k.secret);
    assert!(!format!("{c:?} {k:?}").contains(&k.secret));
    a.create_access_key("bob").unwrap();
    assert_eq!(
        a.create_access_key("bob").unwrap_err().code,
        "LimitExceeded"
    );
    assert_eq!(a.delete_user("bob").unwrap_err().code, "DeleteConflict");
    a.set_access_key_active("bob", &k.id, false).unwrap();
    assert!(a.credential(&k.id).is_none());
    a.delete_access_key("bob", &k.id).unwrap();
    assert_eq!(
        a.delete_access_key("bob", &k.id).unwrap_err().code,
        "NoSuchEntity"
    );
    assert_eq!(a.credential("AKIAROOT").unwrap().identity, Identity::Root);
    assert!(a.credential("AKIAUNKNOWN").is_none());
}

#[test]
fn a_user_is_denied_what_no_policy_allows_and_variables_name_it() {
    let a = account();
    a.create_user("carol", None).unwrap();
    let who = Identity::User("carol".to_owned());
    let err = a
        .require(&who, "iam:CreateRole", "arn:aws:iam::123456789012:role/x")
        .unwrap_err();
    assert_eq!(err.code, "AccessDenied");
    assert_eq!(
        err.message,
        "User: arn:aws:iam::123456789012:user/carol is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role/x because no identity-based policy allows the iam:CreateRole action"
    );
    a.put_inline(
        Target::User("carol"),
        "home",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
            "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}"#,
    )
    .unwrap();
    let mine = Request::new("s3:GetObject", "arn:aws:s3:::home/carol/a");
    let theirs = Request::new("s3:GetObject", "arn:aws:s3:::home/dave/a");
    assert_eq!(a.authorize(&who, &mine), Decision::Allow);
    assert_eq!(a.authorize(&who, &theirs), Decision::ImplicitDeny);
    assert_eq!(
        a.inline(Target::User("carol"), "nope").unwrap_err().message,
        "The user policy with name nope cannot be found."
    );
    a.delete_inline(Target::User("carol"), "home").unwrap();
    assert_eq!(a.authorize(&who, &mine), Decision::ImplicitDeny);
    assert_eq!(a.authorize(&Identity::Root, &theirs), Decision::Allow);
}

#[test]
fn assuming_a_role_needs_the_trust_policy_and_gives_expiring_credentials() {
    let a = account();
    a.create_role("redshift-only", None, REDSHIFT_TRUST, "", None)
        .unwrap();
    a.create_role("team", None, ACCOUNT_TRUST, "", None)
        .unwrap();
    let arn = |n: &str| format!("arn:aws:iam::123456789012:role/{n}");

    // The root assumes no role, as in AWS.
    let root = a
        .assume_role(&Identity::Root, &arn("team"), "job", 900)
        .unwrap_err();
    assert_eq!(
        (root.code, root.message.as_str()),
        ("AccessDenied", "Roles may not be assumed by root accounts.")
    );

    // A user needs sts:AssumeRole in its own policies as well.
    a.create_user("eve", None).unwrap();
    let eve = Identity::User("eve".to_owned());
    assert!(a.assume_role(&eve, &arn("team"), "sess", 900).is_err());
    a.put_inline(
        Target::User("eve"),
        "assume",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}"#,
    )
    .unwrap();
    // A service-only trust policy names no one in the account.
    let refused = a
        .assume_role(&eve, &arn("redshift-only"), "sess", 900)
        .unwrap_err();
    assert_eq!(refused.code, "AccessDenied");
    let t = a.assume_role(&eve, &arn("team"), "job", 900).unwrap();
    assert!(t.access_key_id.starts_with("ASIA"));
    let c = a.credential(&t.access_key_id).unwrap();
    assert_eq!(c.session_token.as_deref(), Some(t.session_token.as_str()));
    assert_eq!(
        c.identity,
        Identity::AssumedRole {
            role: "team".to_owned(),
            session: "job".to_owned()
        }
    );
    assert!(c.expiration.unwrap() > chrono::Utc::now());
    assert_eq!(
        a.arn_of(&c.identity),
        "arn:aws:sts::123456789012:assumed-role/team/job"
    );

    // Durations are bounded by 900 and the role's maximum.
    assert_eq!(
        a.assume_role(&eve, &arn("team"), "sess", 899)
            .unwrap_err()
            .code,
        "ValidationError"
    );
    assert!(a.assume_role(&eve, &arn("team"), "sess", 3601).is_err());
    // Another account's role is not ours to assume, nor is a role named
    // by another path or another case.
    for other in [
        "arn:aws:iam::999999999999:role/team",
        "arn:aws:iam::123456789012:role/public/team",
        "arn:aws:iam::123456789012:role/TEAM",
    ] {
        assert!(a.assume_role(&eve, other, "sess", 900).is_err(), "{other}");
    }

    // Deleting the role ends its sessions; a new role of the same name
    // does not revive them.
    a.delete_role("team").unwrap();
    assert!(a.credential(&t.access_key_id).is_none());
    a.create_role("team", None, ACCOUNT_TRUST, "", None)
        .unwrap();
    assert!(a.credential(&t.access_key_id).is_none());
}

#[test]
fn redshift_acts_as_a_role_only_when_associated_and_trusted() {
    let a = account();
    a.create_role("etl", None, REDSHIFT_TRUST, "", None)
        .unwrap();
    a.create_role("other", None, ACCOUNT_TRUST, "", None)
        .unwrap();
    let etl = "arn:aws:iam::123456789012:role/etl".to_owned();
    let other = "arn:aws:iam::123456789012:role/other".to_owned();
    assert_eq!(
        a.assume_for_redshift(&etl),
        Err(AssumeRefusal::NotAssociated)
    );
    assert_eq!(
        a.assume_for_redshift("arn:aws:iam::123456789012:role/none"),
        Err(AssumeRefusal::NoSuchRole)
    );
    a.modify_cluster_roles(&[etl.clone(), other.clone()], &[], Some(Some(etl.clone())))
        .unwrap();
    assert_eq!(a.cluster_roles().default.as_deref(), Some(etl.as_str()));
    assert!(matches!(
        a.assume_for_redshift(&etl),
        Ok(Identity::AssumedRole { ref role, .. }) if role == "etl"
    ));
    assert_eq!(
        a.assume_for_redshift(&other),
        Err(AssumeRefusal::NotTrusted)
    );
    // Removing the default role clears the default.
    a.modify_cluster_roles(&[], std::slice::from_ref(&etl), None)
        .unwrap();
    assert_eq!(a.cluster_roles().default, None);
    assert_eq!(a.cluster_roles().roles, vec![other]);
    let missing = a
        .modify_cluster_roles(
            &["arn:aws:iam::123456789012:role/none".to_owned()],
            &[],
            None,
        )
        .unwrap_err();
    assert_eq!(missing.code, "InvalidInput");
}

#[test]
fn database_passwords_are_per_user_and_stored_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iam.json");
    let root = ("AKIAROOT".to_owned(), "root-secret".to_owned());
    let a = Account::open(&file, ACCOUNT, root.clone()).unwrap();
    let grant = DbLogin {
        user: "alice".to_owned(),
        auto_create: false,
        groups: vec!["readers".to_owned()],
        database: Some("dev".to_owned()),
    };
    let (password, expiration) = a
        .issue_db_password("IAM:alice", grant.clone(), 900)
        .unwrap();
    assert!(expiration > chrono::Utc::now());
    assert_eq!(
        a.check_db_password("IAM:alice", &password),
        DbPassword::Valid(grant.clone())
    );
    assert_eq!(
        a.check_db_password("IAM:bob", &password),
        DbPassword::Unknown
    );
    assert_eq!(
        a.check_db_password("IAM:alice", "guess"),
        DbPassword::Unknown
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&password), "the password itself is stored");
    let reopened = Account::open(&file, ACCOUNT, root).unwrap();
    assert_eq!(
        reopened.check_db_password("IAM:alice", &password),
        DbPassword::Valid(grant)
    );
}

#[test]
fn every_change_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iam.json");
    let root = ("AKIAROOT".to_owned(), "root-secret".to_owned());
    let (key, temp, policy_arn) = {
        let a = Account::open(&file, ACCOUNT, root.clone()).unwrap();
        a.create_user("u", Some("/team/")).unwrap();
        let key = a.create_access_key("u").unwrap();
        a.create_role("r", None, ACCOUNT_TRUST, "desc", Some(7200))
            .unwrap();
        let p = a.create_policy("p", None, WRITE_POLICY, "").unwrap();
        let policy_arn = a.policy_arn(&p);
        a.set_attached(Target::Role("r"), &policy_arn, true)
            .unwrap();
        a.put_inline(Target::User("u"), "i", WRITE_POLICY).unwrap();
        a.modify_cluster_roles(&["arn:aws:iam::123456789012:role/r".to_owned()], &[], None)
            .unwrap();
        a.put_inline(
            Target::User("u"),
            "assume",
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}"#,
        )
        .unwrap();
        let temp = a
            .assume_role(
                &Identity::User("u".to_owned()),
                "arn:aws:iam::123456789012:role/r",
                "sess",
                900,
            )
            .unwrap();
        (key, temp, policy_arn)
    };
    let a = Account::open(&file, ACCOUNT, root).unwrap();
    let user = a.user("u").unwrap();
    assert_eq!(user.path, "/team/");
    assert_eq!(a.user_arn(&user), "arn:aws:iam::123456789012:user/team/u");
    assert_eq!(a.credential(&key.id).unwrap().secret, key.secret);
    assert_eq!(
        a.credential(&temp.access_key_id).unwrap().session_token,
        Some(temp.session_token)
    );
    let role = a.role("r").unwrap();
    assert_eq!(
        (role.description.as_str(), role.max_session_duration),
        ("desc", 7200)
    );
    assert_eq!(role.attached, vec![policy_arn.clone()]);
    assert_eq!(a.policy(&policy_arn).unwrap().name, "p");
    assert!(a.inline(Target::User("u"), "i").is_ok());
    assert_eq!(a.cluster_roles().roles.len(), 1);
    assert!(
        a.authorize(&role_session("r"), &put("bangkok"))
            .is_allowed()
    );
}

#[test]
fn a_corrupt_file_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iam.json");
    std::fs::write(&file, b"{not json").unwrap();
    let root = ("AKIAROOT".to_owned(), "root-secret".to_owned());
    let err = Account::open(&file, ACCOUNT, root.clone()).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    // A file of another account is refused, not misread.
    std::fs::remove_file(&file).unwrap();
    Account::open(&file, ACCOUNT, root.clone())
        .unwrap()
        .create_user("u", None)
        .unwrap();
    let err = Account::open(&file, "210987654321", root).unwrap_err();
    assert!(
        err.to_string().contains("holds account 123456789012"),
        "{err}"
    );
}

#[test]
fn roles_chain_when_each_trusts_the_last_and_may_assume_it() {
    let a = account();
    a.create_role("first", None, REDSHIFT_TRUST, "", None)
        .unwrap();
    let trusts_first = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/first"}, "Action": "sts:AssumeRole"}]}"#;
    a.create_role("second", None, trusts_first, "", None)
        .unwrap();
    let first = a.assume_for_redshift("arn:aws:iam::123456789012:role/first");
    assert_eq!(first, Err(AssumeRefusal::NotAssociated));
    a.modify_cluster_roles(
        &["arn:aws:iam::123456789012:role/first".to_owned()],
        &[],
        None,
    )
    .unwrap();
    let first = a
        .assume_for_redshift("arn:aws:iam::123456789012:role/first")
        .unwrap();
    let second = "arn:aws:iam::123456789012:role/second";
    // Trusted, but the first role's own policies do not allow sts:AssumeRole.
    assert_eq!(a.may_assume(&first, second), Err(AssumeRefusal::NotTrusted));
    a.put_inline(
        Target::Role("first"),
        "chain",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::123456789012:role/second"}]}"#,
    )
    .unwrap();
    let chained = a.may_assume(&first, second).unwrap();
    assert!(matches!(chained, Identity::AssumedRole { ref role, .. } if role == "second"));
    // The second role does not trust the root.
    assert!(a.may_assume(&Identity::Root, second).is_err());
}

#[test]
fn conditions_see_the_global_keys() {
    let a = account();
    a.create_user("ann", None).unwrap();
    a.put_inline(
        Target::User("ann"),
        "dated",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
            "StringEquals": {"aws:PrincipalAccount": "123456789012"}}}]}"#,
    )
    .unwrap();
    let who = Identity::User("ann".to_owned());
    let get = Request::new("s3:GetObject", "arn:aws:s3:::b/k");
    assert_eq!(a.authorize(&who, &get), Decision::Allow);
    a.put_inline(
        Target::User("ann"),
        "dated",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}}]}"#,
    )
    .unwrap();
    assert_eq!(a.authorize(&who, &get), Decision::ImplicitDeny);
}
