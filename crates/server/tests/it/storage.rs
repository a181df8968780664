//! Durable tables seen from outside: data survives a restart, acknowledged
//! commits survive SIGKILL, and concurrent transfers never lose an update.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shale::Server;
use shale_common::Settings;
use tokio_postgres::Client;

use super::harness::{PASSWORD, TestServer, connect, db_error};

async fn start_in(data: &Path) -> Server {
    let mut settings = Settings::for_data_dir(data);
    settings.admin_password = Some(PASSWORD.into());
    Server::start(settings).await.expect("server starts")
}

fn config_for(addr: std::net::SocketAddr) -> String {
    format!(
        "host={} port={} user=awsuser password={PASSWORD} dbname=dev",
        addr.ip(),
        addr.port()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = start_in(&data).await;
    let client = connect(&config_for(server.pg_addr()))
        .await
        .expect("connects");
    client
        .batch_execute(
            "create schema app;
             create table app.items (id int identity(1,1), name varchar(20) not null, qty int);
             insert into app.items (name, qty) values ('a', 1), ('b', 2), ('c', 3);
             begin;
             update app.items set qty = qty * 10 where name <> 'a';
             delete from app.items where name = 'c';
             commit;
             begin;
             insert into app.items (name, qty) values ('uncommitted', 0);",
        )
        .await
        .expect("setup");
    drop(client);
    server.shutdown().await;

    let server = start_in(&data).await;
    let client = connect(&config_for(server.pg_addr()))
        .await
        .expect("connects");
    let rows = client
        .query("select id, name, qty from app.items order by id", &[])
        .await
        .expect("query");
    let got: Vec<(i32, String, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got, vec![(1, "a".into(), 1), (2, "b".into(), 20)]);
    // Identity values continue after the restart.
    client
        .execute("insert into app.items (name, qty) values ('d', 4)", &[])
        .await
        .expect("insert");
    let id: i32 = client
        .query_one("select id from app.items where name = 'd'", &[])
        .await
        .expect("query")
        .get(0);
    assert!(id > 3, "identity restarted at {id}");
    server.shutdown().await;
}

/// A tiny deterministic generator, so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn_server(data: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shale"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--pg-port", &port.to_string()])
        .args(["--aws-port", &free_port().to_string()])
        .args(["--http-port", &free_port().to_string()])
        .env("SHALE_ADMIN_PASSWORD", PASSWORD)
        .env("SHALE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("shale starts")
}

async fn connect_when_up(port: u16) -> Client {
    let config = format!("host=127.0.0.1 port={port} user=awsuser password={PASSWORD} dbname=dev");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect(&config).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("server did not come up: {e}"),
        }
    }
}

async fn keys(client: &Client, table: &str) -> BTreeSet<i32> {
    client
        .query(&format!("select k from {table}"), &[])
        .await
        .expect("read keys")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A child process commits in a loop; it is killed with SIGKILL at random
/// moments. Each transaction inserts key k into two tables and deletes key
/// k - 3 from both. After every restart: the two tables hold the same keys
/// (nothing half-committed), every acknowledged commit's effect is there,
/// and nothing is there that no commit (acknowledged or in flight) made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commits_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("crash test seed: {seed}");
    let mut rng = Rng(seed);
    let mut acked: BTreeSet<i32> = BTreeSet::new();
    let mut next_key: i32 = 0;
    let rounds = 8;
    for round in 0..=rounds {
        let port = free_port();
        let mut child = spawn_server(&data, port);
        let client = connect_when_up(port).await;
        if round == 0 {
            client
                .batch_execute("create table a (k int not null); create table b (k int not null)")
                .await
                .expect("tables");
        }
        // Check what survived the previous kill.
        let (in_a, in_b) = (keys(&client, "a").await, keys(&client, "b").await);
        assert_eq!(in_a, in_b, "round {round}: a half-applied transaction");
        let in_flight = next_key; // the one commit whose outcome is unknown
        for k in &acked {
            let deleted_by = k + 3;
            if !acked.contains(&deleted_by) && deleted_by != in_flight {
                assert!(
                    in_a.contains(k),
                    "round {round}: acknowledged key {k} is lost"
                );
            }
        }
        for k in &in_a {
            assert!(
                acked.contains(k) || *k == in_flight,
                "round {round}: key {k} was never committed"
            );
            assert!(
                !acked.contains(&(k + 3)),
                "round {round}: key {k} was deleted by an acknowledged commit"
            );
        }
        if acked.contains(&in_flight) || in_a.contains(&in_flight) {
            acked.insert(in_flight);
        }
        if round == rounds {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        next_key = acked.last().map_or(0, |k| k + 1).max(next_key);

        // Commit in a loop while a timer kills the process.
        let kill_after = Duration::from_millis(100 + rng.next(400));
        let started = Instant::now();
        let mut killed = false;
        loop {
            if !killed && started.elapsed() >= kill_after {
                child.kill().expect("SIGKILL");
                killed = true;
            }
            let k = next_key;
            let sql = format!(
                "begin; insert into a values ({k}); insert into b values ({k}); \
                 delete from a where k = {d}; delete from b where k = {d}; commit",
                d = k - 3
            );
            match client.batch_execute(&sql).await {
                Ok(()) => {
                    acked.insert(k);
                    next_key += 1;
                }
                Err(e) => {
                    assert!(killed || e.as_db_error().is_none(), "unexpected error: {e}");
                    break;
                }
            }
        }
        let _ = child.wait();
    }
    eprintln!("{} commits acknowledged across {rounds} kills", acked.len());
    assert!(
        acked.len() > rounds,
        "too few commits to prove anything: {}",
        acked.len()
    );
}

/// Writers move amounts between accounts while readers sum them. Every
/// snapshot sums to the same total; conflicts surface as error 1023; and
/// the final balances are exactly those the committed transfers produce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_keep_the_total() {
    const ACCOUNTS: i64 = 6;
    const START: i64 = 100;
    let server = TestServer::start().await;
    let setup = server.connect().await;
    setup
        .batch_execute("create table accounts (id int not null, balance bigint not null)")
        .await
        .expect("table");
    for id in 0..ACCOUNTS {
        setup
            .execute(&format!("insert into accounts values ({id}, {START})"), &[])
            .await
            .expect("insert");
    }

    let mut writers = Vec::new();
    for w in 0..3u64 {
        let config = server.config();
        writers.push(tokio::spawn(async move {
            let client = connect(&config).await.expect("connects");
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
            let mut done = Vec::new();
            let mut conflicts = 0;
            for _ in 0..25 {
                let from = rng.next(ACCOUNTS as u64) as i64;
                let to = (from + 1 + rng.next(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
                let amount = 1 + rng.next(10) as i64;
                let sql = format!(
                    "begin; update accounts set balance = balance - {amount} where id = {from}; \
                     update accounts set balance = balance + {amount} where id = {to}; commit"
                );
                match client.batch_execute(&sql).await {
                    Ok(()) => done.push((from, to, amount)),
                    Err(e) => {
                        let (code, message) = db_error(&e);
                        assert_eq!((code.as_str(), message.as_str()), ("XX000", "1023"));
                        conflicts += 1;
                        client.batch_execute("rollback").await.expect("rollback");
                    }
                }
            }
            (done, conflicts)
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let config = server.config();
        readers.push(tokio::spawn(async move {
            let client = connect(&config).await.expect("connects");
            for _ in 0..40 {
                let total: i64 = client
                    .query_one("select sum(balance)::bigint from accounts", &[])
                    .await
                    .expect("sum")
                    .get(0);
                assert_eq!(total, ACCOUNTS * START, "a snapshot saw a partial transfer");
            }
        }));
    }
    let mut expected = vec![START; ACCOUNTS as usize];
    let mut committed = 0;
    let mut conflicts = 0;
    for w in writers {
        let (done, c) = w.await.expect("writer");
        conflicts += c;
        for (from, to, amount) in done {
            expected[from as usize] -= amount;
            expected[to as usize] += amount;
            committed += 1;
        }
    }
    for r in readers {
        r.await.expect("reader");
    }
    let rows = setup
        .query("select id, balance from accounts order by id", &[])
        .await
        .expect("balances");
    let actual: Vec<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(
        actual, expected,
        "{committed} committed, {conflicts} conflicts"
    );
    assert!(committed > 0);
    server.server.shutdown().await;
}

/// Drivers that prepare statements (tokio-postgres, pgjdbc) send DML with
/// `$n` parameters through Parse/Bind/Execute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dml_with_parameters_over_the_extended_protocol() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("create table p (id int, name varchar(10))")
        .await
        .expect("table");
    let n = client
        .execute("insert into p values ($1, $2)", &[&1i32, &"one"])
        .await
        .expect("insert");
    assert_eq!(n, 1);
    client
        .execute("insert into p values ($1, $2)", &[&2i32, &"two"])
        .await
        .expect("insert");
    let n = client
        .execute("update p set name = $1 where id = $2", &[&"uno", &1i32])
        .await
        .expect("update");
    assert_eq!(n, 1);
    let n = client
        .execute("delete from p where id = $1", &[&2i32])
        .await
        .expect("delete");
    assert_eq!(n, 1);
    let rows = client
        .query("select id, name from p where id = $1", &[&1i32])
        .await
        .expect("select");
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, vec![(1, "uno".to_string())]);
    server.server.shutdown().await;
}

/// Redshift returns CHAR(n) values blank-padded to n, as bpchar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn char_values_come_back_padded() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute("create table c (v char(4)); insert into c values ('ab')")
        .await
        .expect("setup");
    let rows = client.query("select v from c", &[]).await.expect("select");
    assert_eq!(
        rows[0].columns()[0].type_(),
        &tokio_postgres::types::Type::BPCHAR
    );
    let v: String = rows[0].get(0);
    assert_eq!(v, "ab  ");
    server.server.shutdown().await;
}

/// A sort larger than the engine's memory limit spills to disk and still
/// returns every row in order (the engine at its smallest limit, 64 MiB,
/// sorting about 100 MiB of rows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sort_larger_than_memory_spills_and_completes() {
    use futures::StreamExt;
    use shale_engine::arrow::array::{Array, Float64Array};
    use shale_engine::{Engine, EngineConfig, Output, SessionInfo};

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EngineConfig::new(dir.path().join("warehouse"));
    config.memory_limit = 64 << 20;
    let engine = Engine::open(config).await.expect("engine");
    let mut session = engine.session(SessionInfo {
        user: "rdsdb".into(),
        user_id: 1,
        database: "dev".into(),
        application_name: None,
        backend_pid: 1,
        is_superuser: true,
        session_groups: Vec::new(),
    });
    let rows: i64 = 4_000_000;
    let mut run = async |sql: &str| {
        let parsed = session.parse(sql).expect("parses");
        session.execute(&parsed[0], Vec::new()).await
    };
    run(&format!(
        "create table big as select value as k, random() as r, 'padding padding' as p from generate_series(1, {rows})"
    ))
    .await
    .expect("table");
    let Output::Rows { mut stream, .. } = run("select r, p from big order by r")
        .await
        .expect("the sort runs")
    else {
        panic!("rows expected");
    };
    let mut seen = 0i64;
    let mut last = f64::MIN;
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("no memory error: the sort spills");
        let r = batch
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("float8");
        for i in 0..r.len() {
            assert!(
                r.value(i) >= last,
                "out of order at row {}",
                seen + i as i64
            );
            last = r.value(i);
        }
        seen += batch.num_rows() as i64;
    }
    assert_eq!(seen, rows);
}
