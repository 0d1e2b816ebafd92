//! Command timeouts in AWS: a delayed SQS message per sent command, handled
//! by the `command-timers` function, which settles the command if it is
//! still unanswered and sends the station's next queued command.

use crate::sqs::{JsonQueue, SendOptions};
use async_trait::async_trait;
use csms_commands::service::{CommandService, CommandTimers};
use csms_domain::command::CommandId;
use csms_domain::{StationId, Timestamp};
use csms_kernel::ports::Store;
use serde::{Deserialize, Serialize};

/// SQS caps a message delay at 15 minutes; command timeouts are at most 5.
const MAX_DELAY_S: i64 = 900;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimerMessage {
    pub station_id: StationId,
    pub command_id: CommandId,
}

pub struct SqsTimers(JsonQueue);

impl SqsTimers {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsTimers(JsonQueue::new(sdk, queue_url))
    }
}

#[async_trait]
impl CommandTimers for SqsTimers {
    async fn schedule(&self, station: &StationId, id: &CommandId, at: Timestamp) {
        // One second late rather than early: a check before the deadline
        // would find nothing to do and never come back.
        let delay = ((at - chrono::Utc::now()).num_seconds() + 1).clamp(0, MAX_DELAY_S);
        let msg = TimerMessage {
            station_id: station.clone(),
            command_id: id.clone(),
        };
        let options = SendOptions {
            delay_seconds: Some(delay as i32),
            ..Default::default()
        };
        if let Err(e) = self.0.send(&msg, options).await {
            // The command still settles on the station's next event or on
            // any read of it; log, do not fail the send that already happened.
            tracing::error!(station = %station, command = %id, error = %e, "could not schedule the command timeout");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    #[error("not a timer message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Command(#[from] csms_commands::service::CommandError),
}

/// One timer message: settle the station's overdue call, send what waits.
pub async fn handle_timer_message(
    commands: &CommandService<dyn Store>,
    body: &str,
) -> Result<(), TimerError> {
    let msg: TimerMessage =
        serde_json::from_str(body).map_err(|e| TimerError::Malformed(e.to_string()))?;
    tracing::info!(station = %msg.station_id, command = %msg.command_id, "command timer fired");
    commands.check_timeout(&msg.station_id).await?;
    Ok(())
}
