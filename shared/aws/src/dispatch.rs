//! Sending commands in AWS: the API records a command and puts its
//! station on the command queue; the `command-dispatcher` function sends
//! the station's next queued command with `PostToConnection`. The store's
//! version check decides who sends, so a duplicate message (or a charger's
//! answer pumping the same station at the same time) sends nothing twice.
//! A message whose handling fails (store or Management API trouble) is
//! retried by SQS and dead-lettered after 5 receives.

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use csms_commands::service::{CommandDispatch, CommandError, CommandService};
use csms_domain::StationId;
use csms_kernel::ports::Store;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DispatchMessage {
    pub station_id: StationId,
}

pub struct SqsDispatch(JsonQueue);

impl SqsDispatch {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsDispatch(JsonQueue::new(sdk, queue_url))
    }
}

#[async_trait]
impl CommandDispatch for SqsDispatch {
    async fn dispatch(&self, station: &StationId) -> Result<(), String> {
        let msg = DispatchMessage {
            station_id: station.clone(),
        };
        self.0.send(&msg, SendOptions::default()).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("not a dispatch message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// One queue message: send the station's next command if its call slot is free.
pub async fn handle_dispatch_message(
    commands: &CommandService<dyn Store>,
    body: &str,
) -> Result<(), DispatchError> {
    let msg: DispatchMessage =
        serde_json::from_str(body).map_err(|e| DispatchError::Malformed(e.to_string()))?;
    commands.pump(&msg.station_id).await?;
    Ok(())
}
