//! Users made with CREATE USER log in over the wire, under every password
//! method, with their own rights; disabled and expired passwords are
//! refused with the same message as a wrong one, and users survive a
//! restart.

use shale_common::AuthMethod;

use crate::harness::{TestServer, connect, db_error};

fn as_user(server: &TestServer, user: &str, password: &str) -> String {
    server
        .config()
        .replace("user=awsuser", &format!("user={user}"))
        .replace(crate::harness::PASSWORD, password)
}

fn login_failed(user: &str) -> (String, String) {
    (
        "28P01".into(),
        format!("password authentication failed for user \"{user}\""),
    )
}

#[tokio::test]
async fn created_users_log_in_with_their_own_rights() {
    for method in [
        AuthMethod::Md5,
        AuthMethod::ScramSha256,
        AuthMethod::Password,
    ] {
        let server = TestServer::start_with(method).await;
        let admin = server.connect().await;
        admin
            .batch_execute(
                "create user fred password 'abcD1234';
                 create user nologin password disable;
                 create user expired password 'abcD1234' valid until '2001-01-01';
                 create user user1 password 'md5153c434b4b77c89e6b94f12c5393af5b';
                 create table secret (x int);",
            )
            .await
            .expect("setup");

        let fred = connect(&as_user(&server, "fred", "abcD1234"))
            .await
            .unwrap_or_else(|e| panic!("{method:?}: fred logs in: {e}"));
        let rows = fred
            .simple_query("select current_user")
            .await
            .expect("query");
        let who = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        });
        assert_eq!(who.as_deref(), Some("fred"));
        let err = fred
            .simple_query("select * from secret")
            .await
            .expect_err("no privilege");
        assert_eq!(
            db_error(&err),
            (
                "42501".into(),
                "permission denied for relation secret".into()
            )
        );
        let err = fred
            .simple_query("set session authorization awsuser")
            .await
            .expect_err("not a superuser");
        assert_eq!(
            db_error(&err),
            (
                "42501".into(),
                "permission denied to set session authorization".into()
            )
        );

        for (user, password) in [
            ("fred", "abcD12345"),
            ("nologin", ""),
            ("expired", "abcD1234"),
        ] {
            let err = connect(&as_user(&server, user, password))
                .await
                .expect_err("refused");
            assert_eq!(db_error(&err), login_failed(user), "{method:?} {user}");
        }
        // Redshift's SHA-256 form: a digest of the password and a 256-bit
        // salt. Checked from a clear-text password (asked for under MD5 and
        // cleartext, refused under SCRAM, which has no verifier for it).
        let salt = [7u8; 32];
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"Sha256-Secret9");
        ctx.update(&salt);
        let digest: String = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let salt_hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
        admin
            .batch_execute(&format!(
                "create user shauser password 'sha256|{digest}|{salt_hex}'"
            ))
            .await
            .expect("sha256 form");
        let sha = connect(&as_user(&server, "shauser", "Sha256-Secret9")).await;
        match method {
            AuthMethod::ScramSha256 => {
                assert_eq!(
                    db_error(&sha.expect_err("no verifier")),
                    login_failed("shauser")
                )
            }
            _ => {
                sha.unwrap_or_else(|e| panic!("{method:?}: sha256 user logs in: {e}"));
            }
        }
        let err = connect(&as_user(&server, "shauser", "Sha256-Secret8"))
            .await
            .expect_err("wrong password");
        assert_eq!(db_error(&err), login_failed("shauser"));
        let err = admin
            .batch_execute("create user badsha password 'sha256|abc|def'")
            .await
            .expect_err("malformed");
        assert_eq!(db_error(&err).0, "22023");

        // A rename clears the MD5 form (it is salted with the name); the
        // SCRAM verifier still checks the password, under every method.
        admin
            .batch_execute(
                "create user before password 'abcD1234'; alter user before rename to after",
            )
            .await
            .expect("rename");
        connect(&as_user(&server, "after", "abcD1234"))
            .await
            .unwrap_or_else(|e| panic!("{method:?}: a renamed user logs in: {e}"));
        let err = connect(&as_user(&server, "after", "abcD12345"))
            .await
            .expect_err("wrong password");
        assert_eq!(db_error(&err), login_failed("after"));

        // A password given in MD5 form has no SCRAM verifier.
        let hashed = connect(&as_user(&server, "user1", "ez")).await;
        match method {
            AuthMethod::ScramSha256 => assert_eq!(
                db_error(&hashed.expect_err("no verifier")),
                login_failed("user1")
            ),
            _ => {
                hashed.unwrap_or_else(|e| panic!("{method:?}: md5 user logs in: {e}"));
            }
        }

        // Changing one's own password works; the old one stops working.
        fred.simple_query("alter user fred password 'newPass99'")
            .await
            .expect("own password");
        let err = fred
            .simple_query("alter user fred createuser")
            .await
            .expect_err("only superusers");
        assert_eq!(db_error(&err).0, "42501");
        assert!(
            connect(&as_user(&server, "fred", "abcD1234"))
                .await
                .is_err()
        );
        connect(&as_user(&server, "fred", "newPass99"))
            .await
            .expect("new password");
    }
}

#[tokio::test]
async fn users_and_grants_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = || {
        let mut s = shale_common::Settings::for_data_dir(dir.path().join("data"));
        s.admin_password = Some(crate::harness::PASSWORD.into());
        s
    };
    let config = |server: &shale::Server, user: &str, password: &str| {
        format!(
            "host={} port={} user={user} password={password} dbname=dev",
            server.pg_addr().ip(),
            server.pg_addr().port()
        )
    };
    let server = shale::Server::start(settings()).await.expect("starts");
    let admin = connect(&config(&server, "awsuser", crate::harness::PASSWORD))
        .await
        .expect("admin");
    admin
        .batch_execute(
            "create user fred password 'abcD1234';
             create group readers with user fred;
             create table t (x int);
             insert into t values (1);
             grant select on t to group readers;",
        )
        .await
        .expect("setup");
    drop(admin);
    server.shutdown().await;

    let server = shale::Server::start(settings()).await.expect("restarts");
    let fred = connect(&config(&server, "fred", "abcD1234"))
        .await
        .expect("fred logs in after the restart");
    fred.simple_query("select * from t")
        .await
        .expect("the grant survived");
    fred.simple_query("insert into t values (2)")
        .await
        .expect_err("and only the grant");
    server.shutdown().await;
}

#[tokio::test]
async fn connection_limits_and_session_defaults_apply_at_login() {
    let server = TestServer::start().await;
    let admin = server.connect().await;
    admin
        .batch_execute(
            "create user solo password 'abcD1234' connection limit 1;
             create schema reports;
             alter user solo set search_path to reports, public;",
        )
        .await
        .expect("setup");
    let first = connect(&as_user(&server, "solo", "abcD1234"))
        .await
        .expect("first session");
    let err = connect(&as_user(&server, "solo", "abcD1234"))
        .await
        .expect_err("over the limit");
    assert_eq!(
        db_error(&err),
        (
            "53300".into(),
            "too many connections for user \"solo\"".into()
        )
    );
    let rows = first.simple_query("show search_path").await.expect("show");
    let path = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(path.as_deref(), Some("reports, public"));
    drop(first);
    // The session ends once the server sees the connection close.
    let mut again = None;
    for _ in 0..50 {
        if let Ok(c) = connect(&as_user(&server, "solo", "abcD1234")).await {
            again = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a closed session frees its slot");
    // Superusers are not limited.
    admin
        .batch_execute("alter user awsuser connection limit 1")
        .await
        .expect("limit admin");
    server.connect().await;
}

#[tokio::test]
async fn sessions_connect_to_created_databases() {
    let server = TestServer::start().await;
    let admin = server.connect().await;
    admin
        .batch_execute(
            "create user sjordan password 'Sjordan12' createdb;
             create database sjordandb owner sjordan;",
        )
        .await
        .expect("setup");
    let own = connect(
        &as_user(&server, "sjordan", "Sjordan12").replace("dbname=dev", "dbname=sjordandb"),
    )
    .await
    .expect("connects to its database");
    own.batch_execute("create table mine (x int); insert into mine values (1);")
        .await
        .expect("creates in public of its database");
    let err = admin
        .simple_query("select * from mine")
        .await
        .expect_err("another database's table");
    assert_eq!(db_error(&err).0, "42P01");
    let err = admin
        .simple_query("drop database sjordandb")
        .await
        .expect_err("in use");
    assert_eq!(
        db_error(&err),
        (
            "55006".into(),
            "database \"sjordandb\" is being accessed by other users".into()
        )
    );
    drop(own);
    let mut dropped = false;
    for _ in 0..50 {
        if admin.simple_query("drop database sjordandb").await.is_ok() {
            dropped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(dropped, "dropped once its session ended");
    let err = connect(
        &as_user(&server, "sjordan", "Sjordan12").replace("dbname=dev", "dbname=sjordandb"),
    )
    .await
    .expect_err("gone");
    assert_eq!(
        db_error(&err),
        (
            "3D000".into(),
            "database \"sjordandb\" does not exist".into()
        )
    );
}

/// Every password the server saw, in any form it saw it, is absent from its
/// logs, even at the most verbose level.
#[tokio::test]
async fn secrets_never_reach_the_logs() {
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("shale.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = |()| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let pg_port = port(());
    let aws_port = port(());
    let admin_password = "Admin-Secret-77";
    let mut child = Command::new(env!("CARGO_BIN_EXE_shale"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--pg-port", &pg_port.to_string()])
        .args(["--aws-port", &aws_port.to_string()])
        .args(["--http-port", &port(()).to_string()])
        .env("SHALE_ADMIN_PASSWORD", admin_password)
        .env("SHALE_LOG", "trace")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("shale starts");
    let config = |user: &str, password: &str| {
        format!("host=127.0.0.1 port={pg_port} user={user} password={password} dbname=dev")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let admin = loop {
        match connect(&config("awsuser", admin_password)).await {
            Ok(c) => break c,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("server did not come up: {e}"),
        }
    };
    admin
        .batch_execute(
            "create user fred password 'Fred-Secret-1';
             alter user fred password 'Fred-Secret-2';",
        )
        .await
        .expect("users");
    connect(&config("fred", "Fred-Secret-2"))
        .await
        .expect("fred logs in");
    assert!(connect(&config("fred", "Wrong-Secret-3")).await.is_err());
    assert!(
        connect(&config("nobody", "Stranger-Secret-4"))
            .await
            .is_err()
    );
    // IAM's secrets: an access key's secret, a temporary database
    // password (used to log in), the account root's secret.
    let credentials =
        std::fs::read_to_string(dir.path().join("data/credentials")).expect("credentials");
    let value = |key: &str| {
        credentials
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
            .expect("key in credentials")
    };
    let root = (value("aws_access_key_id"), value("aws_secret_access_key"));
    let aws = std::net::SocketAddr::from(([127, 0, 0, 1], aws_port));
    let call = |service: &'static str, form: &'static str| {
        let root = root.clone();
        async move { crate::harness::aws_call(aws, (&root.0, &root.1, None), service, form).await }
    };
    call(
        "iam",
        "Action=CreateUser&Version=2010-05-08&UserName=logged",
    )
    .await;
    let (_, body) = call(
        "iam",
        "Action=CreateAccessKey&Version=2010-05-08&UserName=logged",
    )
    .await;
    let key_secret = crate::harness::xml_text(&body, "SecretAccessKey")
        .expect("a secret")
        .to_owned();
    let (_, body) = call(
        "redshift",
        "Action=GetClusterCredentials&Version=2012-12-01&DbUser=fred&ClusterIdentifier=shale",
    )
    .await;
    let db_password = crate::harness::xml_text(&body, "DbPassword")
        .expect("a password")
        .to_owned();
    connect(&config("IAM:fred", &db_password))
        .await
        .expect("fred logs in through IAM");
    drop(admin);
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).expect("read log");
    assert!(text.contains("Login failed"), "the log was written at all");
    assert!(
        text.contains("GetClusterCredentials"),
        "API calls were logged"
    );
    for secret in [
        admin_password,
        "Fred-Secret-1",
        "Fred-Secret-2",
        "Wrong-Secret-3",
        "Stranger-Secret-4",
        &key_secret,
        &db_password,
        &root.1,
    ] {
        assert!(!text.contains(secret), "{secret} is in the log");
    }
}
