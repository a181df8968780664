//! The AWS endpoint's IAM, STS and Redshift APIs, signed by object_store's
//! SigV4 signer (so the server's verifier is checked against an independent
//! implementation), and logins with the temporary database passwords the
//! Redshift API issues: valid until they expire, never for another name.

use shale_iam::DbLogin;

use crate::harness::{TestServer, aws_call, connect, db_error, xml_text};

fn as_login(server: &TestServer, user: &str, password: &str) -> String {
    format!(
        "host={} port={} user={user} password={password} dbname=dev",
        server.addr().ip(),
        server.addr().port()
    )
}

fn refused(user: &str) -> (String, String) {
    (
        "28P01".into(),
        format!("password authentication failed for user \"{user}\""),
    )
}

#[tokio::test]
async fn signatures_are_verified_and_identities_answered() {
    let server = TestServer::start().await;
    let addr = server.server.aws_addr();
    let (id, secret) = server.access_keys();
    let who = "Action=GetCallerIdentity&Version=2011-06-15";

    let (status, body) = aws_call(addr, (&id, &secret, None), "sts", who).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        xml_text(&body, "Arn"),
        Some("arn:aws:iam::123456789012:root")
    );

    let (status, body) = aws_call(addr, (&id, "not-the-secret", None), "sts", who).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(xml_text(&body, "Code"), Some("SignatureDoesNotMatch"));

    let (status, body) = aws_call(
        addr,
        ("AKIANOBODY", &secret, None),
        "iam",
        "Action=ListUsers",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(xml_text(&body, "Code"), Some("InvalidClientTokenId"));

    // A user with no policy may ask who it is, and nothing else.
    let (status, body) = aws_call(
        addr,
        (&id, &secret, None),
        "iam",
        "Action=CreateUser&Version=2010-05-08&UserName=ci",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = aws_call(
        addr,
        (&id, &secret, None),
        "iam",
        "Action=CreateAccessKey&Version=2010-05-08&UserName=ci",
    )
    .await;
    let user_id = xml_text(&body, "AccessKeyId").expect("key id").to_owned();
    let user_secret = xml_text(&body, "SecretAccessKey")
        .expect("secret")
        .to_owned();
    let keys = (user_id.as_str(), user_secret.as_str(), None);
    let (status, body) = aws_call(addr, keys, "sts", who).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        xml_text(&body, "Arn"),
        Some("arn:aws:iam::123456789012:user/ci")
    );
    let (status, body) = aws_call(addr, keys, "iam", "Action=ListRoles&Version=2010-05-08").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(xml_text(&body, "Code"), Some("AccessDenied"));
    let (status, body) = aws_call(
        addr,
        keys,
        "redshift",
        "Action=GetClusterCredentials&Version=2012-12-01&DbUser=ci&ClusterIdentifier=shale",
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // The account root gets database credentials, and they log in.
    let (status, body) = aws_call(
        addr,
        (&id, &secret, None),
        "redshift",
        "Action=GetClusterCredentials&Version=2012-12-01&DbUser=ci_db&AutoCreate=true&ClusterIdentifier=shale",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(xml_text(&body, "DbUser"), Some("IAMA:ci_db"));
    let password = xml_text(&body, "DbPassword").expect("password");
    let client = connect(&as_login(&server, "IAMA:ci_db", password))
        .await
        .expect("the issued password logs in");
    let row = client
        .query_one("select current_user", &[])
        .await
        .expect("query");
    assert_eq!(row.get::<_, String>(0), "ci_db");

    // The default role came with the data directory.
    let (_, body) = aws_call(
        addr,
        (&id, &secret, None),
        "redshift",
        "Action=DescribeClusters&Version=2012-12-01",
    )
    .await;
    assert_eq!(
        xml_text(&body, "DefaultIamRoleArn"),
        Some("arn:aws:iam::123456789012:role/service-role/AmazonRedshift-CommandsAccessRole-shale")
    );
}

#[tokio::test]
async fn temporary_passwords_work_until_they_expire_and_only_for_their_name() {
    let server = TestServer::start().await;
    let account = server.server.account();
    let grant = DbLogin {
        user: "carol".into(),
        auto_create: true,
        groups: Vec::new(),
        database: None,
    };
    let (short, _) = account
        .issue_db_password("IAMA:carol", grant.clone(), 2)
        .expect("issued");
    let (long, _) = account
        .issue_db_password("IAMA:carol", grant, 900)
        .expect("issued");

    let client = connect(&as_login(&server, "IAMA:carol", &short))
        .await
        .expect("a fresh password logs in");
    drop(client);
    // Another name, the same password: refused.
    let e = connect(&as_login(&server, "IAMA:dave", &short))
        .await
        .expect_err("not issued for dave");
    assert_eq!(db_error(&e), refused("IAMA:dave"));
    // A guess: refused the same way.
    let e = connect(&as_login(&server, "IAM:nobody", "Guess-123"))
        .await
        .expect_err("never issued");
    assert_eq!(db_error(&e), refused("IAM:nobody"));

    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let e = connect(&as_login(&server, "IAMA:carol", &short))
        .await
        .expect_err("expired");
    assert_eq!(db_error(&e), refused("IAMA:carol"));
    // The other password, still valid, works.
    connect(&as_login(&server, "IAMA:carol", &long))
        .await
        .expect("the longer-lived password still logs in");
}
