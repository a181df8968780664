//! The wire protocol as tokio-postgres sees it: binary and text formats for
//! every type, parameters, portals with row limits, cancellation, timeouts,
//! errors, and each authentication method.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use shale_common::AuthMethod;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::{FromSql, Type};

use super::harness::{PASSWORD, TestServer, connect, db_error};

/// The bytes of a value in binary format, whatever its type.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

const CREATE: &str = "create table every_type (
    i2 smallint, i4 integer, i8 bigint, n decimal(12,2), f4 real, f8 double precision,
    b boolean, c char(5), v varchar(20), d date, ts timestamp, tstz timestamptz)";

const INSERT: &str = "insert into every_type values (
    -12, 123456, 9000000000, 12345.67, 1.5, 2.25,
    true, 'ab', 'héllo', '2024-02-29', '2024-02-29 13:14:15.5', '2024-02-29 13:14:15+00')";

#[tokio::test]
async fn select_version_is_redshifts() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let row = client
        .query_one("select version()", &[])
        .await
        .expect("version");
    let v: String = row.get(0);
    assert!(v.starts_with("PostgreSQL 8.0.2 on "), "{v}");
    assert!(v.contains("Redshift 1.0."), "{v}");
    assert_eq!(row.columns()[0].name(), "version");
}

#[tokio::test]
async fn every_type_in_binary_format() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client.batch_execute(CREATE).await.expect("create");
    client.batch_execute(INSERT).await.expect("insert");
    // tokio-postgres asks for binary results.
    let row = client
        .query_one("select * from every_type", &[])
        .await
        .expect("select");
    assert_eq!(row.get::<_, i16>("i2"), -12);
    assert_eq!(row.get::<_, i32>("i4"), 123_456);
    assert_eq!(row.get::<_, i64>("i8"), 9_000_000_000);
    // numeric 12345.67: 3 digits (1, 2345, 6700), weight 1, positive, scale 2.
    let n: Raw = row.get("n");
    assert_eq!(n.0, [0, 3, 0, 1, 0, 0, 0, 2, 0, 1, 9, 41, 26, 44]);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.get::<_, f64>("f8"), 2.25);
    assert!(row.get::<_, bool>("b"));
    assert_eq!(
        row.get::<_, String>("c"),
        "ab   ",
        "CHAR(5) comes back blank-padded, as in Redshift"
    );
    assert_eq!(row.get::<_, String>("v"), "héllo");
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
    assert_eq!(row.get::<_, NaiveDate>("d"), date);
    let ts: NaiveDateTime = row.get("ts");
    assert_eq!(ts.to_string(), "2024-02-29 13:14:15.500");
    let tstz: DateTime<Utc> = row.get("tstz");
    assert_eq!(tstz.to_rfc3339(), "2024-02-29T13:14:15+00:00");
}

#[tokio::test]
async fn every_type_in_text_format() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client.batch_execute(CREATE).await.expect("create");
    client.batch_execute(INSERT).await.expect("insert");
    let messages = client
        .simple_query("select * from every_type")
        .await
        .expect("select");
    let SimpleQueryMessage::Row(row) = &messages[1] else {
        panic!("expected a row, got {messages:?}");
    };
    let values: Vec<&str> = (0..row.len())
        .map(|i| row.get(i).unwrap_or("NULL"))
        .collect();
    assert_eq!(
        values,
        [
            "-12",
            "123456",
            "9000000000",
            "12345.67",
            "1.5",
            "2.25",
            "t",
            "ab   ",
            "héllo",
            "2024-02-29",
            "2024-02-29 13:14:15.5",
            "2024-02-29 13:14:15+00"
        ]
    );
}

#[tokio::test]
async fn parameters_bind_in_binary() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let row = client
        .query_one(
            "select $1::int + 1::int as n, $2::varchar as s",
            &[&41i32, &"x"],
        )
        .await
        .expect("params");
    assert_eq!(row.get::<_, i32>("n"), 42);
    assert_eq!(row.get::<_, String>("s"), "x");

    client
        .batch_execute("create table p (id bigint, at date, amount double precision)")
        .await
        .expect("create");
    let date = NaiveDate::from_ymd_opt(2021, 3, 4).expect("date");
    let n = client
        .execute(
            "insert into p values ($1, $2, $3)",
            &[&7i64, &date, &1.25f64],
        )
        .await
        .expect("insert");
    assert_eq!(n, 1);
    let row = client
        .query_one("select id, at, amount from p where id = $1", &[&7i64])
        .await
        .expect("select");
    assert_eq!(row.get::<_, NaiveDate>(1), date);
    assert_eq!(row.get::<_, f64>(2), 1.25);
}

#[tokio::test]
async fn portal_row_limits_suspend_and_resume() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    let tx = client.transaction().await.expect("begin");
    let portal = tx
        .bind(
            "select value from generate_series(1, 10) order by value",
            &[],
        )
        .await
        .expect("bind");
    let mut seen = Vec::new();
    let mut batches = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 3).await.expect("fetch");
        if rows.is_empty() {
            break;
        }
        batches.push(rows.len());
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(batches, [3, 3, 3, 1]);
    assert_eq!(seen, (1..=10).collect::<Vec<i64>>());
    tx.commit().await.expect("commit");
}

const LONG_QUERY: &str = "select count(*) from generate_series(1, 100000000000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_a_running_query() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await
    });
    let err = tokio::time::timeout(Duration::from_secs(30), client.simple_query(LONG_QUERY))
        .await
        .expect("cancelled in time")
        .expect_err("query is cancelled");
    canceller.await.expect("join").expect("cancel sent");
    assert_eq!(
        db_error(&err),
        (
            "57014".into(),
            "canceling statement due to user request".into()
        )
    );
    // The connection carries on.
    let row = client
        .query_one("select 1::int", &[])
        .await
        .expect("after cancel");
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_cancels() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("set statement_timeout to 200")
        .await
        .expect("set");
    let err = tokio::time::timeout(Duration::from_secs(30), client.simple_query(LONG_QUERY))
        .await
        .expect("timed out in time")
        .expect_err("query times out");
    assert_eq!(
        db_error(&err),
        (
            "57014".into(),
            "canceling statement due to statement timeout".into()
        )
    );
}

#[tokio::test]
async fn syntax_errors_carry_a_position() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let err = client.simple_query("select 1 +").await.expect_err("syntax");
    let db = err.as_db_error().expect("db error");
    assert_eq!(db.code().code(), "42601");
    assert_eq!(db.message(), "syntax error at end of input");
    let err = client
        .simple_query("select * frm t")
        .await
        .expect_err("syntax");
    let db = err.as_db_error().expect("db error");
    assert_eq!(db.message(), "syntax error at or near \"t\"");
    assert!(matches!(
        db.position(),
        Some(tokio_postgres::error::ErrorPosition::Original(14))
    ));
}

#[tokio::test]
async fn each_password_method_accepts_the_right_password_only() {
    for method in [
        AuthMethod::Md5,
        AuthMethod::ScramSha256,
        AuthMethod::Password,
    ] {
        let server = TestServer::start_with(method).await;
        let client = server.connect().await;
        client.simple_query("select 1").await.expect("query");

        let wrong = server.config().replace(PASSWORD, "wrong-password");
        let err = connect(&wrong).await.expect_err("wrong password");
        assert_eq!(
            db_error(&err),
            (
                "28P01".into(),
                "password authentication failed for user \"awsuser\"".into()
            ),
            "{method:?}"
        );
        let stranger = server.config().replace("user=awsuser", "user=nobody");
        let err = connect(&stranger).await.expect_err("unknown user");
        assert_eq!(
            db_error(&err),
            (
                "28P01".into(),
                "password authentication failed for user \"nobody\"".into()
            ),
            "{method:?}"
        );
    }
}

#[tokio::test]
async fn unknown_database_is_refused() {
    let server = TestServer::start().await;
    let config = server.config().replace("dbname=dev", "dbname=nope");
    let err = connect(&config).await.expect_err("no such database");
    assert_eq!(
        db_error(&err),
        ("3D000".into(), "database \"nope\" does not exist".into())
    );
}

#[tokio::test]
async fn now_moves_between_statements() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let first: DateTime<Utc> = client
        .query_one("select now()", &[])
        .await
        .expect("first")
        .get(0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second: DateTime<Utc> = client
        .query_one("select now()", &[])
        .await
        .expect("second")
        .get(0);
    assert!(second > first, "{first} then {second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_results_stream_through_the_extended_protocol() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let rows = client
        .query(
            "select value, value * 2 as twice from generate_series(1, 200000) order by value",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(rows.len(), 200_000);
    let last = rows.last().expect("rows");
    assert_eq!(
        (last.get::<_, i64>(0), last.get::<_, i64>(1)),
        (200_000, 400_000)
    );
    // The connection is in a clean state afterwards.
    let n = client.query_one("select 5::int", &[]).await.expect("next");
    assert_eq!(n.get::<_, i32>(0), 5);
}
