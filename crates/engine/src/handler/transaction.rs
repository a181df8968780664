//! BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT.
//!
//! A block's statements share one storage transaction, begun at the first
//! statement that touches a table; COMMIT commits it (durably, or with
//! Redshift's error 1023 when a concurrent transaction got there first) and
//! ROLLBACK discards it.

use shale_common::SqlState;

use crate::error::Result;
use crate::session::{Output, Session, TxStatus};

pub(crate) fn begin(session: &mut Session) -> Result<Output> {
    match session.tx {
        TxStatus::Idle => session.tx = TxStatus::InTransaction,
        TxStatus::InTransaction | TxStatus::Failed => session.notice(
            "WARNING",
            SqlState::ActiveSqlTransaction,
            "there is already a transaction in progress",
        ),
    }
    Ok(Output::Command("BEGIN".into()))
}

pub(crate) async fn commit(session: &mut Session) -> Result<Output> {
    let tag = match session.tx {
        TxStatus::Idle => {
            session.notice(
                "WARNING",
                SqlState::NoActiveSqlTransaction,
                "there is no transaction in progress",
            );
            "COMMIT"
        }
        TxStatus::InTransaction => "COMMIT",
        // Committing a failed block rolls it back, and says so.
        TxStatus::Failed => "ROLLBACK",
    };
    session.tx = TxStatus::Idle;
    session.end_block(tag == "COMMIT").await?;
    Ok(Output::Command(tag.into()))
}

pub(crate) async fn rollback(session: &mut Session) -> Result<Output> {
    if session.tx == TxStatus::Idle {
        session.notice(
            "WARNING",
            SqlState::NoActiveSqlTransaction,
            "there is no transaction in progress",
        );
    }
    session.tx = TxStatus::Idle;
    session.end_block(false).await?;
    Ok(Output::Command("ROLLBACK".into()))
}
