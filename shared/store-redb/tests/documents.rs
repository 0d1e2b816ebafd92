//! The document contract against files in a folder.

use csms_kernel::ports::{DocumentKey, DocumentStore};
use csms_store_redb::FileDocuments;

fn folder() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "csms-documents-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_stored_whole_and_replaced() {
    let root = folder();
    let store = FileDocuments::open(&root).unwrap();
    csms_kernel::contract::documents_stored_whole_and_replaced(&store).await;
    // Nothing but the documents is left behind: no temporary files.
    let mut names = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                names.push(e.path().strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    names.sort();
    assert_eq!(
        names,
        ["empty.txt", "invoices/brf-a/brf-a~2026-11~usr_1.pdf"]
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn a_folder_is_not_a_document_and_a_file_blocks_no_reader() {
    let root = folder();
    let store = FileDocuments::open(&root).unwrap();
    let key = |k: &str| DocumentKey::parse(k).unwrap();
    store
        .put_document(&key("a/b"), "text/plain", b"1")
        .await
        .unwrap();
    assert_eq!(store.get_document(&key("a")).await.unwrap(), None);
    // A file where a folder would have to be: the write fails, named.
    let err = store
        .put_document(&key("a/b/c"), "text/plain", b"2")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a/b"), "{err}");
    assert_eq!(
        store.get_document(&key("a/b")).await.unwrap(),
        Some(b"1".to_vec())
    );
    std::fs::remove_dir_all(root).unwrap();
}
