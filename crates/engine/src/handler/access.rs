//! Users, groups, grants and session authorization.

use crate::error::{EngineError, Result};
use crate::parse::access::AccessStmt;
use crate::session::{Output, Session};

pub(crate) async fn execute(session: &mut Session, stmt: &AccessStmt) -> Result<Output> {
    let _ = (session, stmt);
    Err(EngineError::unsupported("not yet"))
}
