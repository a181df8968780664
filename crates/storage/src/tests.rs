//! Unit tests of the commit protocol: durability across reopen, rollback,
//! conflict detection and recovery from leftover files.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};

use super::*;

fn def() -> TableDef {
    TableDef::new(
        vec![
            ColumnDef {
                name: "id".into(),
                ty: ColumnType::BigInt,
                not_null: true,
                default: None,
                identity: None,
                encode: None,
            },
            ColumnDef::new("name", ColumnType::Varchar(20)),
        ],
        "awsuser",
    )
}

fn batch(def: &TableDef, ids: std::ops::Range<i64>) -> RecordBatch {
    let names: Vec<String> = ids.clone().map(|i| format!("n{i}")).collect();
    RecordBatch::try_new(
        def.arrow_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .expect("batch")
}

async fn write(storage: &Storage, table: ObjectId, ids: std::ops::Range<i64>) -> Vec<DataFile> {
    let d = def();
    let mut w = storage.file_writer(table, d.arrow_schema());
    w.write(&batch(&d, ids)).await.expect("write");
    w.finish().await.expect("finish")
}

fn public(c: &Catalog) -> ObjectId {
    c.schema(DEFAULT_DATABASE, DEFAULT_SCHEMA)
        .expect("public")
        .id
}

async fn make_table(storage: &Storage, name: &str, ids: std::ops::Range<i64>) -> ObjectId {
    let mut tx = storage.begin();
    let schema = public(tx.catalog());
    let id = tx.create_table(schema, name, def()).expect("create");
    let files = write(storage, id, ids).await;
    tx.add_files(id, files).expect("add");
    tx.commit().await.expect("commit");
    id
}

fn parquet_files(root: &std::path::Path) -> usize {
    walk(&root.join("tables"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn committed_tables_survive_reopen_with_stats_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = {
        let storage = Storage::open(dir.path()).await.expect("open");
        let id = make_table(&storage, "t", 0..100).await;
        let mut tx = storage.begin();
        let file = tx.catalog().table_by_id(id).expect("t").files[0].id;
        tx.mark_read(id);
        tx.delete_rows(id, file, RoaringBitmap::from_iter([3u32, 5, 7]))
            .expect("delete");
        tx.commit().await.expect("commit");
        id
    };
    let storage = Storage::open(dir.path()).await.expect("reopen");
    let snap = storage.snapshot();
    let t = snap.table(public(&snap), "t").expect("table survives");
    assert_eq!(t.id, id);
    assert_eq!(t.def.as_ref(), &def());
    assert_eq!(t.files.len(), 1);
    assert_eq!(t.live_rows(), 97);
    let stats = t.files[0].stats.as_ref().expect("stats");
    let min_max = stats
        .min_max
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("i64");
    assert_eq!((min_max.value(0), min_max.value(1)), (0, 99));
    assert_eq!(stats.null_counts, vec![0, 0]);
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).await.expect("open");
    {
        let mut tx = storage.begin();
        let schema = public(tx.catalog());
        let id = tx.create_table(schema, "t", def()).expect("create");
        let files = write(&storage, id, 0..10).await;
        tx.add_files(id, files).expect("add");
        assert!(
            tx.catalog().table(schema, "t").is_some(),
            "reads its own writes"
        );
    }
    let snap = storage.snapshot();
    assert!(snap.table(public(&snap), "t").is_none());
    assert_eq!(parquet_files(storage.root()), 0);
}

#[tokio::test]
async fn readers_of_a_changed_table_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).await.expect("open");
    let id = make_table(&storage, "t", 0..10).await;

    let mut a = storage.begin();
    let mut b = storage.begin();
    let file = a.catalog().table_by_id(id).expect("t").files[0].id;
    b.catalog();
    a.mark_read(id);
    b.mark_read(id);
    a.delete_rows(id, file, RoaringBitmap::from_iter([1u32]))
        .expect("a");
    b.delete_rows(id, file, RoaringBitmap::from_iter([2u32]))
        .expect("b");
    a.commit().await.expect("first commit wins");
    match b.commit().await {
        Err(StorageError::Conflict {
            table_id, table, ..
        }) => {
            assert_eq!((table_id, table.as_str()), (id, "t"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let snap = storage.snapshot();
    assert_eq!(snap.table_by_id(id).expect("t").live_rows(), 9);
}

#[tokio::test]
async fn blind_appends_both_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).await.expect("open");
    let id = make_table(&storage, "t", 0..10).await;
    let mut a = storage.begin();
    let mut b = storage.begin();
    a.catalog();
    b.catalog();
    let fa = write(&storage, id, 10..20).await;
    let fb = write(&storage, id, 20..30).await;
    a.add_files(id, fa).expect("a");
    b.add_files(id, fb).expect("b");
    a.commit().await.expect("a commits");
    b.commit().await.expect("b commits");
    assert_eq!(
        storage.snapshot().table_by_id(id).expect("t").live_rows(),
        30
    );
}

#[tokio::test]
async fn duplicate_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).await.expect("open");
    make_table(&storage, "t", 0..1).await;
    let mut tx = storage.begin();
    let schema = public(tx.catalog());
    assert!(matches!(
        tx.create_table(schema, "t", def()),
        Err(StorageError::DuplicateTable(_))
    ));
    assert!(matches!(
        tx.create_schema(DEFAULT_DATABASE, DEFAULT_SCHEMA, "x"),
        Err(StorageError::DuplicateSchema(_))
    ));
}

#[tokio::test]
async fn leftover_and_dropped_files_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let storage = Storage::open(dir.path()).await.expect("open");
        let id = make_table(&storage, "t", 0..10).await;
        let keep = make_table(&storage, "keep", 0..10).await;
        // A file written by a transaction that never committed.
        let orphan = write(&storage, keep, 0..5).await;
        std::mem::forget(orphan);
        let mut tx = storage.begin();
        tx.drop_table(id).expect("drop");
        tx.commit().await.expect("commit");
        assert!(parquet_files(storage.root()) >= 2);
    }
    let storage = Storage::open(dir.path()).await.expect("reopen");
    assert_eq!(parquet_files(storage.root()), 1, "only keep's file remains");
    let snap = storage.snapshot();
    assert!(snap.table(public(&snap), "t").is_none());
}

#[tokio::test]
async fn temporary_tables_do_not_outlive_the_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let storage = Storage::open(dir.path()).await.expect("open");
        let mut tx = storage.begin();
        let schema = public(tx.catalog());
        let mut d = def();
        d.temporary = true;
        tx.create_table(schema, "tmp", d).expect("create");
        tx.commit().await.expect("commit");
    }
    let storage = Storage::open(dir.path()).await.expect("reopen");
    let snap = storage.snapshot();
    assert!(snap.table(public(&snap), "tmp").is_none());
}

#[tokio::test]
async fn an_unfinished_writer_removes_its_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).await.expect("open");
    let d = def();
    {
        let mut w = storage.file_writer(1, d.arrow_schema());
        // One whole file, closed on disk, and the start of another.
        let rows = ROWS_PER_FILE as i64 + 5;
        w.write(&batch(&d, 0..rows)).await.expect("write");
        assert!(parquet_files(storage.root()) >= 1);
        // Dropped here, as a cancelled statement drops it.
    }
    assert_eq!(parquet_files(storage.root()), 0);
    let files = write(&storage, 1, 0..10).await;
    assert_eq!(files.len(), 1);
    assert_eq!(
        parquet_files(storage.root()),
        1,
        "a finished writer's files stay"
    );
}

fn user(storage: &Storage, name: &str) -> UserEntry {
    UserEntry {
        id: storage.new_role_id(),
        name: name.into(),
        superuser: false,
        createdb: false,
        password: Some(PasswordHash {
            md5: "md5153c434b4b77c89e6b94f12c5393af5b".into(),
            scram: None,
            sha256: None,
        }),
        valid_until: None,
        connection_limit: Some(3),
        syslog_unrestricted: false,
        session_timeout: None,
        config: vec![("search_path".into(), "public".into())],
    }
}

#[tokio::test]
async fn users_groups_and_grants_commit_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fred, table, schema) = {
        let storage = Storage::open(dir.path()).await.expect("open");
        let table = make_table(&storage, "t", 0..1).await;
        let mut tx = storage.begin();
        let fred = user(&storage, "fred");
        assert!(fred.id >= access::FIRST_ROLE_ID);
        tx.create_user(fred.clone()).expect("user");
        let readers = GroupEntry {
            id: storage.new_role_id(),
            name: "readers".into(),
            members: Default::default(),
        };
        tx.create_group(readers.clone()).expect("group");
        tx.set_membership(readers.id, fred.id, true)
            .expect("member");
        let schema = public(tx.catalog());
        let item = |grantee, p| AclItem {
            grantee,
            privileges: p,
            grantable: Privileges::NONE,
            grantor: 100,
        };
        tx.grant(
            AclTarget::Object(AclObject::Table(table)),
            item(Grantee::Group(readers.id), Privileges::SELECT),
        )
        .expect("grant");
        tx.grant(
            AclTarget::Default(DefaultAclKey {
                owner: fred.id,
                schema: Some(schema),
                kind: DefaultKind::Tables,
            }),
            item(Grantee::Public, Privileges::INSERT),
        )
        .expect("default");
        tx.commit().await.expect("commit");

        // A rolled-back transaction's users and grants are gone.
        let mut tx = storage.begin();
        tx.create_user(user(&storage, "ghost")).expect("user");
        tx.revoke(
            AclTarget::Object(AclObject::Table(table)),
            Grantee::Group(readers.id),
            Privileges::SELECT,
            false,
        )
        .expect("revoke");
        tx.rollback();
        (fred, table, schema)
    };

    let storage = Storage::open(dir.path()).await.expect("reopen");
    let c = storage.snapshot();
    assert_eq!(c.user("fred").map(|u| u.as_ref()), Some(&fred));
    assert!(c.user("ghost").is_none());
    let group = c.group("readers").expect("group");
    assert!(group.members.contains(&fred.id));
    assert_eq!(c.groups_of(fred.id).count(), 1);
    let acl = c.acl(&AclTarget::Object(AclObject::Table(table)));
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].grantee, Grantee::Group(group.id));
    // Two of bootstrap (public schema, dev database), two of this test.
    assert_eq!(c.acls().count(), 4);
    // New ids continue after the stored ones.
    assert!(storage.new_role_id() > group.id);

    // Dropping the table drops its privileges; dropping the user its
    // memberships; renaming a user keeps its id.
    let mut tx = storage.begin();
    tx.drop_table(table).expect("drop");
    let mut renamed = fred.clone();
    renamed.name = "frederick".into();
    tx.alter_user(renamed).expect("rename");
    assert!(matches!(
        tx.create_user(user(&storage, "frederick")),
        Err(StorageError::DuplicateUser(_))
    ));
    tx.commit().await.expect("commit");
    let mut tx = storage.begin();
    tx.drop_user(fred.id).expect("drop user");
    tx.commit().await.expect("commit");
    drop(storage);
    let storage = Storage::open(dir.path()).await.expect("reopen");
    let c = storage.snapshot();
    assert!(c.user("frederick").is_none() && c.user("fred").is_none());
    assert!(c.group("readers").expect("group").members.is_empty());
    assert!(
        c.acl(&AclTarget::Object(AclObject::Table(table)))
            .is_empty()
    );
    assert_eq!(
        c.acl(&AclTarget::Default(DefaultAclKey {
            owner: fred.id,
            schema: Some(schema),
            kind: DefaultKind::Tables,
        }))
        .len(),
        1
    );
}
