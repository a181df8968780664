//! The storage crate's error type.

/// A failure of the catalog or of table files.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A concurrent transaction changed what this one read or wrote; it must
    /// be retried (Redshift's error 1023).
    #[error("1023")]
    Conflict {
        table_id: u64,
        table: String,
        xid: u64,
        other_xid: u64,
    },
    #[error("relation \"{0}\" already exists")]
    DuplicateTable(String),
    #[error("schema \"{0}\" already exists")]
    DuplicateSchema(String),
    #[error("database \"{0}\" already exists")]
    DuplicateDatabase(String),
    #[error("user \"{0}\" already exists")]
    DuplicateUser(String),
    #[error("group \"{0}\" already exists")]
    DuplicateGroup(String),
    #[error("cannot drop schema {0} because other objects depend on it")]
    SchemaNotEmpty(String),
    /// An id that the catalog does not hold (a concurrent drop, or a bug).
    #[error("object does not exist: {0}")]
    UnknownObject(String),
    /// The transaction has already committed or rolled back.
    #[error("the transaction has ended")]
    Ended,
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Stored data that cannot be read back as written.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
}

/// Result alias used throughout the storage crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
