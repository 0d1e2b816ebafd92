//! [`ConnectionSender`] over the API Gateway Management API: push a frame to a
//! charger's WebSocket (`PostToConnection`) or close it (`DeleteConnection`).

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use csms_kernel::ports::{ConnectionSender, SendError};

/// Sends to the connections of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewaySender {
    client: Client,
}

impl ApiGatewaySender {
    /// `endpoint` is the stage's management endpoint,
    /// `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` (or the
    /// custom domain's). When it is empty the endpoint configured in
    /// `sdk_config` is used — `AWS_ENDPOINT_URL`, for moto.
    pub fn new(sdk_config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let mut config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk_config);
        let endpoint = endpoint.trim().trim_end_matches('/');
        if !endpoint.is_empty() {
            config = config.endpoint_url(endpoint);
        }
        ApiGatewaySender {
            client: Client::from_conf(config.build()),
        }
    }

    /// Wrap an existing client (tests, custom configuration).
    pub fn from_client(client: Client) -> Self {
        ApiGatewaySender { client }
    }
}

/// API Gateway answers 410 `GoneException` for a vanished connection; the
/// status alone decides, in case the error body is missing or unexpected.
fn send_error<E>(operation: &str, connection_id: &str, e: SdkError<E, HttpResponse>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let gone = e.code() == Some("GoneException")
        || e.raw_response().is_some_and(|r| r.status().as_u16() == 410);
    if gone {
        SendError::Gone
    } else {
        SendError::Failed(format!(
            "{operation} {connection_id}: {}",
            DisplayErrorContext(&e)
        ))
    }
}

#[async_trait]
impl ConnectionSender for ApiGatewaySender {
    async fn send(&self, connection_id: &str, frame: &str) -> Result<(), SendError> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.as_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| send_error("PostToConnection", connection_id, e))
    }

    async fn close(&self, connection_id: &str) -> Result<(), SendError> {
        self.client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| send_error("DeleteConnection", connection_id, e))
    }
}
