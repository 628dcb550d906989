//! One server per SQLite database: an advisory lock on `<database>.lock`, held while the store is
//! open, so that a second server started on the same file stops at once with a message instead of
//! sharing the file. Two writers on one file would wait on each other's write lock (up to the busy
//! timeout, on the thread that runs requests) and each would release the other's leases at start
//! as if they were its own dead run's. Several nodes share PostgreSQL, not a file.
//!
//! The lock is on a file of its own: SQLite locks the database with POSIX record locks, which a
//! second descriptor on the database itself could release by being closed. The kernel drops the
//! lock when the process dies, `kill -9` included, so a crash never leaves the database locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// Holds the lock until dropped (with the store).
#[derive(Debug)]
pub(crate) struct OwnerLock {
    _file: File,
}

/// Where the lock of `database` lives.
pub(crate) fn lock_path(database: &Path) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

/// Takes the lock of `database` for this process, or says which process holds it.
pub(crate) fn take(database: &Path) -> Result<OwnerLock, StoreError> {
    let path = lock_path(database);
    let cannot = |error: std::io::Error| {
        StoreError::Unavailable(format!("cannot lock {}: {error}", path.display()))
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(cannot)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "another process" } else { holder };
            return Err(StoreError::Unavailable(format!(
                "{} is in use by {holder} (one server per SQLite database; several nodes share \
                 PostgreSQL)",
                database.display()
            )));
        }
        Err(TryLockError::Error(error)) => return Err(cannot(error)),
    }
    // Who holds it, for the message a second server prints; the lock itself is what counts.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "process {}", std::process::id());
    Ok(OwnerLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_with_the_holder_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("owned.db");
        let first = take(&database).unwrap();
        let refused = take(&database).unwrap_err().to_string();
        let holder = format!("in use by process {}", std::process::id());
        assert!(refused.contains(&holder), "{refused}");
        assert!(refused.contains("owned.db"), "{refused}");
        drop(first);
        take(&database).expect("free again once the first owner is gone");
    }
}
