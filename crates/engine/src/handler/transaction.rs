//! BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT.
//!
//! Tables are still in memory (see ARCHITECTURE.md), so these statements track
//! the block's state and its failure rule; they do not yet make writes atomic.

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

pub(crate) fn commit(session: &mut Session) -> Result<Output> {
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
    Ok(Output::Command(tag.into()))
}

pub(crate) fn rollback(session: &mut Session) -> Result<Output> {
    if session.tx == TxStatus::Idle {
        session.notice(
            "WARNING",
            SqlState::NoActiveSqlTransaction,
            "there is no transaction in progress",
        );
    }
    session.tx = TxStatus::Idle;
    Ok(Output::Command("ROLLBACK".into()))
}
