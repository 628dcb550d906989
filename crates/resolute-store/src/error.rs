//! Store failures: what the edge turns into a 500 and the readiness probe reports.

use resolute_core::{TxnError, TxnErrorKind};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("write conflict; retries exhausted")]
    Conflict,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage corrupt: {0}")]
    Corrupt(String),
    #[error("storage is shut down")]
    Closed,
}

impl From<TxnError> for StoreError {
    fn from(error: TxnError) -> Self {
        match error.kind {
            TxnErrorKind::Conflict => StoreError::Conflict,
            TxnErrorKind::Unavailable => StoreError::Unavailable(error.message),
            TxnErrorKind::Corrupt => StoreError::Corrupt(error.message),
        }
    }
}
