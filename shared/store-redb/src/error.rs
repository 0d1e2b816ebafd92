//! The one internal error type, so transaction code can use `?` on redb and
//! serde_json results alike (the orphan rule forbids `From<redb::…> for StoreError`).

use csms_kernel::ports::StoreError;

#[derive(Debug)]
pub(crate) struct Fail(pub(crate) StoreError);

pub(crate) type R<T> = Result<T, Fail>;

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail(e)
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        f.0
    }
}

macro_rules! backend_errors {
    ($($t:ty => $what:literal),* $(,)?) => {
        $(
            impl From<$t> for Fail {
                fn from(e: $t) -> Self {
                    Fail(StoreError::Backend(format!(concat!($what, ": {}"), e)))
                }
            }
        )*
    };
}

backend_errors!(
    redb::Error => "redb",
    redb::DatabaseError => "redb: opening the database",
    redb::TransactionError => "redb: starting a transaction",
    redb::TableError => "redb: opening a table",
    redb::StorageError => "redb: storage",
    redb::CommitError => "redb: commit",
    // Decoding goes through `ops::parse`, which names the record; what is
    // left is encoding, which fails only for maps with non-string keys.
    serde_json::Error => "record does not encode",
);

pub(crate) fn conflict(msg: impl Into<String>) -> Fail {
    Fail(StoreError::Conflict(msg.into()))
}
