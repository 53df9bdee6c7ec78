//! The embedded store: the DynamoDB design's items in `redb` tables, in one
//! file or in memory.
//!
//! Every [`KeyStore`](keyplane_core::store::KeyStore) method is exactly one
//! redb transaction. redb runs one write transaction at a time, so the
//! conditions the trait names (quota, version, existence, credits) are
//! checked and acted on with no other writer in between — the same guarantee
//! DynamoDB's condition expressions and `TransactWriteItems` give. A failed
//! condition aborts the transaction, so nothing is written.
//!
//! redb is blocking, so each transaction runs on tokio's blocking pool rather
//! than stalling the async workers — except the verify path's point reads,
//! which are cheaper than the hand-off ([`EmbeddedStore::point_read`]).

mod audit;
mod claims;
mod codec;
mod cursor;
mod failure;
mod key_store;
mod keys;
mod metering;
mod stats;
mod tables;
mod tenancy;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyplane_core::store::StoreError;
use redb::backends::InMemoryBackend;
use redb::{Database, ReadTransaction, WriteTransaction};

use failure::{Failure, TxResult};

/// A [`KeyStore`](keyplane_core::store::KeyStore) in an embedded `redb`
/// database. Cheap to clone: clones share the database.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

/// Why the store could not be opened. Each message includes redb's reason
/// (not chained as a `source`, so it is not printed twice).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file is not a redb database, is locked by another process, or
    /// cannot be read or created.
    #[error("cannot open the key store at {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// redb's reason.
        reason: redb::DatabaseError,
    },
    /// The in-memory database could not be set up.
    #[error("cannot create an in-memory key store: {0}")]
    InMemory(redb::DatabaseError),
    /// The database opened but its tables could not be created.
    #[error("cannot prepare the key store: {0}")]
    Tables(StoreError),
}

impl EmbeddedStore {
    /// Opens the database file at `path`, creating it if it is missing. The
    /// file is locked: one process at a time.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let db = Database::create(path).map_err(|reason| OpenError::File {
            path: path.to_owned(),
            reason,
        })?;
        Self::prepare(db)
    }

    /// A fresh database that lives in memory and dies with the last clone.
    pub fn in_memory() -> Result<Self, OpenError> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(OpenError::InMemory)?;
        Self::prepare(db)
    }

    fn prepare(db: Database) -> Result<Self, OpenError> {
        tables::create_all(&db).map_err(|Failure(err)| OpenError::Tables(err))?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `op` in one read transaction on the blocking pool.
    async fn read<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> TxResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let txn = db.begin_read()?;
            op(&txn)
        })
        .await
    }

    /// Runs a point read (one lookup by key) on the calling task. redb
    /// answers it from its page cache in a few microseconds, far less than
    /// the hand-off to the blocking pool costs (about 30 µs per verify,
    /// measured by `tests/bench/run`); a page not in memory blocks this
    /// worker for one file read. Only the verify path's reads use it.
    fn point_read<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&ReadTransaction) -> TxResult<T>,
    {
        let run = || op(&self.db.begin_read()?);
        run().map_err(StoreError::from)
    }

    /// Runs `op` in one write transaction on the blocking pool, committing
    /// if it succeeds and aborting (writing nothing) if it fails.
    async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> TxResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        blocking(move || {
            let txn = db.begin_write()?;
            match op(&txn) {
                Ok(value) => {
                    txn.commit()?;
                    Ok(value)
                }
                Err(failure) => {
                    // The refusal is the answer; a failing abort (the
                    // transaction is discarded either way) must not hide it.
                    if let Err(err) = txn.abort() {
                        tracing::warn!(%err, "aborting a redb transaction failed");
                    }
                    Err(failure)
                }
            }
        })
        .await
    }
}

async fn blocking<T, F>(op: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> TxResult<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(op).await {
        Ok(result) => result.map_err(StoreError::from),
        Err(err) => Err(StoreError::Unavailable(format!(
            "store task did not finish: {err}"
        ))),
    }
}
