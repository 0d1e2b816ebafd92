//! Documents of the local runner (invoice PDFs) as files under a folder of
//! the data dir, beside the database rather than in it: a document is a
//! file to open, and redb's pages are not the place for megabytes.
//!
//! A document is written to a temporary file in its folder, flushed to
//! disk and renamed over its name, so a reader (and a crash) sees the old
//! file or the new one whole.

use async_trait::async_trait;
use csms_kernel::ports::{DocumentKey, DocumentStore, StoreError, StoreResult};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// See the module docs.
pub struct FileDocuments {
    root: PathBuf,
}

impl FileDocuments {
    /// Documents under `root`, made if it is missing.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(FileDocuments { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A key's file: its segments are folders and a name (the key's rules
    /// keep it under the root).
    fn path(&self, key: &DocumentKey) -> PathBuf {
        key.as_str()
            .split('/')
            .fold(self.root.clone(), |p, s| p.join(s))
    }
}

fn backend(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{what} {}: {e}", path.display()))
}

/// A temporary name no other writer uses: the process and a counter.
/// Starts with `.`, which no key's segment does.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        ".tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn write_whole(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| backend("no folder for", path, "the root"))?;
    std::fs::create_dir_all(dir).map_err(|e| backend("making", dir, e))?;
    let temp = dir.join(temp_name());
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(backend("writing", path, e));
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Backend(format!("the document task failed: {e}")))?
}

#[async_trait]
impl DocumentStore for FileDocuments {
    async fn put_document(
        &self,
        key: &DocumentKey,
        _content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()> {
        let path = self.path(key);
        let bytes = bytes.to_vec();
        blocking(move || write_whole(&path, &bytes)).await
    }

    async fn get_document(&self, key: &DocumentKey) -> StoreResult<Option<Vec<u8>>> {
        let path = self.path(key);
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // A folder where a file is asked for (`a` beside `a/b`) is none.
            Err(_) if path.is_dir() => Ok(None),
            Err(e) => Err(backend("reading", &path, e)),
        })
        .await
    }
}
