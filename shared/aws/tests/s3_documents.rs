//! The document contract against S3 on the moto server in
//! `AWS_ENDPOINT_URL` (see `dynamo_contract.rs`). Each test has a bucket of
//! its own.

mod support;

use csms_aws::documents::S3Documents;
use csms_kernel::ports::{DocumentKey, DocumentStore, StoreError};
use support::sdk_config;

async fn fresh_bucket() -> S3Documents {
    let sdk = sdk_config().await;
    let docs = S3Documents::new(&sdk, support::unique_table("csms-docs").to_lowercase());
    docs.client()
        .create_bucket()
        .bucket(docs.bucket())
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuNorth1)
                .build(),
        )
        .send()
        .await
        .expect("create the test bucket");
    docs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_stored_whole_and_replaced() {
    let docs = fresh_bucket().await;
    csms_kernel::contract::documents_stored_whole_and_replaced(&docs).await;
    // The content type goes with the object.
    let key = DocumentKey::parse("invoices/x.pdf").unwrap();
    docs.put_document(&key, "application/pdf", b"%PDF-")
        .await
        .unwrap();
    let head = docs
        .client()
        .head_object()
        .bucket(docs.bucket())
        .key(key.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/pdf"));
}

#[tokio::test]
async fn a_missing_bucket_is_an_error_not_a_missing_document() {
    let sdk = sdk_config().await;
    let docs = S3Documents::new(&sdk, "csms-no-such-bucket-anywhere");
    let key = DocumentKey::parse("a.pdf").unwrap();
    assert!(matches!(
        docs.get_document(&key).await,
        Err(StoreError::Backend(_))
    ));
}
