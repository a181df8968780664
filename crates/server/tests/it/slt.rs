//! Runs every `tests/slt/**/*.slt` file over the wire, each against a fresh
//! server so that files are isolated from each other.
//!
//! Errors are reported as `<SQLSTATE>: <message>`, so a file asserts both:
//! `statement error 42P01: relation "nope" does not exist`. Values come back
//! as text (simple protocol): NULL as `NULL`, the empty string as `(empty)`.

use std::path::{Path, PathBuf};

use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::harness::{TestServer, connect};

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

impl From<tokio_postgres::Error> for SltError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(d) => SltError(format!("{}: {}", d.code().code(), d.message())),
            None => SltError(e.to_string()),
        }
    }
}

struct Wire(Client);

#[async_trait::async_trait]
impl AsyncDB for Wire {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let messages = self.0.simple_query(sql).await?;
        let mut rows = Vec::new();
        let mut columns = None;
        let mut count = 0;
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => columns = Some(cols.len()),
                SimpleQueryMessage::Row(row) => rows.push(
                    (0..row.len())
                        .map(|i| match row.get(i) {
                            None => "NULL".to_string(),
                            Some("") => "(empty)".to_string(),
                            Some(v) => v.to_string(),
                        })
                        .collect(),
                ),
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match columns {
            Some(n) => DBOutput::Rows {
                types: vec![DefaultColumnType::Any; n],
                rows,
            },
            None => DBOutput::StatementComplete(count),
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "shale"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

/// Puts `fixtures/<bucket>/<key>` into the server's embedded buckets, so
/// that `.slt` files can COPY them.
async fn upload_fixtures(server: &TestServer, fixtures: &Path) {
    use object_store::ObjectStoreExt;
    let registry = server.server.registry();
    let Ok(buckets) = std::fs::read_dir(fixtures) else {
        return;
    };
    for bucket in buckets.flatten() {
        let name = bucket.file_name().to_string_lossy().into_owned();
        registry
            .embedded()
            .create_bucket(&name)
            .await
            .expect("fixture bucket");
        let store = registry.store(&name).expect("fixture bucket store");
        let mut files = Vec::new();
        all_files(&bucket.path(), &mut files);
        for file in files {
            let key = file
                .strip_prefix(bucket.path())
                .expect("under the bucket")
                .to_string_lossy()
                .replace('\\', "/");
            let body = std::fs::read(&file).expect("fixture file");
            store
                .put(&object_store::path::Path::from(key.as_str()), body.into())
                .await
                .expect("fixture upload");
        }
    }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/slt");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .slt files under {}", root.display());
    // SHALE_SLT=name runs only the files whose path contains it.
    if let Ok(only) = std::env::var("SHALE_SLT") {
        files.retain(|f| f.to_string_lossy().contains(&only));
    }
    let mut failures = Vec::new();
    let fixtures = root.join("fixtures");
    for file in &files {
        let server = TestServer::start().await;
        upload_fixtures(&server, &fixtures).await;
        let config = server.config();
        let mut runner = sqllogictest::Runner::new(move || {
            let config = config.clone();
            async move { Ok(Wire(connect(&config).await?)) }
        });
        let (key_id, secret) = server.access_keys();
        runner.set_var("ACCESS_KEY_ID".into(), key_id);
        runner.set_var("SECRET_ACCESS_KEY".into(), secret);
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
        server.server.shutdown().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
