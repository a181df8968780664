//! SQLSTATE codes, typed.
//!
//! Every user-facing error in Shale carries one of these. The mapping from a
//! crate's own error enum to a `SqlState` happens once, where the error leaves
//! the engine for the wire; the five-character code is only spelled out here.

use std::fmt;

/// A SQLSTATE error or warning class, as PostgreSQL and Redshift report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    /// 00000: no error (INFO notices).
    SuccessfulCompletion,
    /// 01000: a plain warning (used for notices).
    Warning,
    /// 08P01: the client broke the wire protocol.
    ProtocolViolation,
    /// 0A000: the statement is valid Redshift but Shale does not support it (yet).
    FeatureNotSupported,
    /// 21000: a subquery returned more than one row where one was expected.
    CardinalityViolation,
    /// 22001: a string is longer than its column allows.
    StringDataRightTruncation,
    /// 22003: a number is out of range for its type.
    NumericValueOutOfRange,
    /// 22007: a date or time literal could not be read.
    InvalidDatetimeFormat,
    /// 22008: a date or time field is out of range.
    DatetimeFieldOverflow,
    /// 22012: division by zero.
    DivisionByZero,
    /// 22023: a parameter has a value it cannot take.
    InvalidParameterValue,
    /// 22P02: a value could not be read as its type.
    InvalidTextRepresentation,
    /// 23502: NULL in a NOT NULL column.
    NotNullViolation,
    /// 2BP01: an object cannot be dropped because others depend on it.
    DependentObjectsStillExist,
    /// 25001: a transaction is already in progress.
    ActiveSqlTransaction,
    /// 25P01: there is no transaction in progress.
    NoActiveSqlTransaction,
    /// 25P02: the transaction is aborted; commands are ignored until its end.
    InFailedSqlTransaction,
    /// 28000: the login is not allowed.
    InvalidAuthorizationSpecification,
    /// 28P01: the password is wrong.
    InvalidPassword,
    /// 3D000: the database does not exist.
    InvalidCatalogName,
    /// 3F000: the schema does not exist.
    InvalidSchemaName,
    /// 0LP01: a GRANT or REVOKE that cannot be done as asked.
    InvalidGrantOperation,
    /// 42501: the user lacks a privilege.
    InsufficientPrivilege,
    /// 42601: the statement is not valid SQL.
    SyntaxError,
    /// 42702: a column reference is ambiguous.
    AmbiguousColumn,
    /// 42703: the column does not exist.
    UndefinedColumn,
    /// 42704: the object (for example a configuration parameter) does not exist.
    UndefinedObject,
    /// 42701: a column name appears twice.
    DuplicateColumn,
    /// 42710: the object already exists.
    DuplicateObject,
    /// 42803: a column must appear in GROUP BY or be used in an aggregate.
    GroupingError,
    /// 42804: the expression has the wrong type.
    DatatypeMismatch,
    /// 42883: no function matches the name and argument types.
    UndefinedFunction,
    /// 42P01: the table does not exist.
    UndefinedTable,
    /// 42P04: the database already exists.
    DuplicateDatabase,
    /// 42P06: the schema already exists.
    DuplicateSchema,
    /// 42P07: the table already exists.
    DuplicateTable,
    /// 42P16: the table definition is not valid.
    InvalidTableDefinition,
    /// 42809: the object is of the wrong kind (a view where a table is needed).
    WrongObjectType,
    /// 42939: the name is reserved (`PUBLIC` as a user name).
    ReservedName,
    /// 55006: the object is in use (a user that still owns objects).
    ObjectInUse,
    /// 53300: too many connections.
    TooManyConnections,
    /// 54000: a limit of the program was exceeded.
    ProgramLimitExceeded,
    /// 57014: the statement was cancelled (by the user or a timeout).
    QueryCanceled,
    /// 57P01: the server is shutting down.
    AdminShutdown,
    /// XX000: an internal error; Redshift also uses it for its own numbered errors.
    InternalError,
}

impl SqlState {
    /// The five-character code sent on the wire.
    pub fn code(self) -> &'static str {
        use SqlState::*;
        match self {
            SuccessfulCompletion => "00000",
            Warning => "01000",
            ProtocolViolation => "08P01",
            FeatureNotSupported => "0A000",
            CardinalityViolation => "21000",
            StringDataRightTruncation => "22001",
            NumericValueOutOfRange => "22003",
            InvalidDatetimeFormat => "22007",
            DatetimeFieldOverflow => "22008",
            DivisionByZero => "22012",
            InvalidParameterValue => "22023",
            InvalidTextRepresentation => "22P02",
            NotNullViolation => "23502",
            DependentObjectsStillExist => "2BP01",
            ActiveSqlTransaction => "25001",
            NoActiveSqlTransaction => "25P01",
            InFailedSqlTransaction => "25P02",
            InvalidAuthorizationSpecification => "28000",
            InvalidPassword => "28P01",
            InvalidCatalogName => "3D000",
            InvalidSchemaName => "3F000",
            InsufficientPrivilege => "42501",
            SyntaxError => "42601",
            AmbiguousColumn => "42702",
            UndefinedColumn => "42703",
            UndefinedObject => "42704",
            DuplicateColumn => "42701",
            DuplicateObject => "42710",
            GroupingError => "42803",
            DatatypeMismatch => "42804",
            UndefinedFunction => "42883",
            UndefinedTable => "42P01",
            DuplicateDatabase => "42P04",
            DuplicateSchema => "42P06",
            DuplicateTable => "42P07",
            InvalidTableDefinition => "42P16",
            WrongObjectType => "42809",
            ReservedName => "42939",
            InvalidGrantOperation => "0LP01",
            ObjectInUse => "55006",
            TooManyConnections => "53300",
            ProgramLimitExceeded => "54000",
            QueryCanceled => "57014",
            AdminShutdown => "57P01",
            InternalError => "XX000",
        }
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::SqlState;

    #[test]
    fn codes_are_five_characters() {
        for s in [
            SqlState::Warning,
            SqlState::UndefinedTable,
            SqlState::InFailedSqlTransaction,
            SqlState::InternalError,
        ] {
            assert_eq!(s.code().len(), 5, "{s:?}");
        }
    }
}
