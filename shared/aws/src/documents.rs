//! Documents (invoice PDFs) in S3: one object per key in the bucket
//! `CSMS_DOCUMENTS_BUCKET`, which the template makes private and encrypted.
//! A `PutObject` is atomic (a reader gets the old object or the new one).

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use csms_kernel::ports::{DocumentKey, DocumentStore, StoreError, StoreResult};

pub struct S3Documents {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Documents {
    /// The bucket through `sdk`. With `AWS_ENDPOINT_URL` set (moto,
    /// LocalStack) buckets are addressed by path, as those servers need.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        if sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        S3Documents {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn backend(what: &str, e: impl std::error::Error) -> StoreError {
    StoreError::Backend(format!(
        "S3 {what}: {}",
        aws_sdk_s3::error::DisplayErrorContext(e)
    ))
}

#[async_trait]
impl DocumentStore for S3Documents {
    async fn put_document(
        &self,
        key: &DocumentKey,
        content_type: &str,
        bytes: &[u8],
    ) -> StoreResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| backend("PutObject", e))?;
        Ok(())
    }

    async fn get_document(&self, key: &DocumentKey) -> StoreResult<Option<Vec<u8>>> {
        let got = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await;
        let object = match got {
            Ok(o) => o,
            Err(e) => {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    return Ok(None);
                }
                return Err(backend("GetObject", e));
            }
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Backend(format!("S3 GetObject body: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}
