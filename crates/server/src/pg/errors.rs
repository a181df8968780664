//! Engine errors and notices as protocol messages: the one place where a
//! SQLSTATE becomes its five characters on the wire.

use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::response::NoticeResponse;
use shale_common::SqlState;
use shale_engine::{EngineError, Notice};

/// An `ERROR` with code and message.
pub fn error(state: SqlState, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new("ERROR".into(), state.code().into(), message.into())
}

/// A `FATAL` error, which ends the connection.
pub fn fatal(state: SqlState, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        state.code().into(),
        message.into(),
    )))
}

/// The ErrorResponse fields of an engine error.
pub fn error_info(e: &EngineError) -> ErrorInfo {
    let mut info = error(e.sqlstate(), e.message());
    info.detail = e.detail();
    info.hint = e.hint();
    info.position = e.position().map(|p| p.to_string());
    info
}

/// An engine error as a pgwire error.
pub fn to_pgwire(e: &EngineError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

/// A notice or warning.
pub fn notice(n: &Notice) -> NoticeResponse {
    ErrorInfo::new(n.severity.into(), n.state.code().into(), n.message.clone()).into()
}

/// `57014`, for a statement stopped by a CancelRequest.
pub fn cancelled() -> ErrorInfo {
    error(
        SqlState::QueryCanceled,
        "canceling statement due to user request",
    )
}
