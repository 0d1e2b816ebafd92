//! E-mail through Amazon SES (API v2): the message made once with lettre
//! (`csms_notify::mail::compose`) and sent as raw content, so SES sends
//! exactly what the local outbox would have kept.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use csms_notify::mail::{compose, Mail, MailError, Mailer, Sender};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: Sender,
}

impl SesMailer {
    pub fn new(sdk: &aws_config::SdkConfig, from: Sender) -> Self {
        SesMailer {
            client: aws_sdk_sesv2::Client::new(sdk),
            from,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let id = ulid::Ulid::new();
        let bytes = compose(&self.from, mail, &id.to_string(), chrono::Utc::now())?;
        let raw = RawMessage::builder()
            .data(Blob::new(bytes))
            .build()
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        let sent = self
            .client
            .send_email()
            .from_email_address(self.from.address())
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| {
                MailError::Failed(format!(
                    "SES SendEmail: {}",
                    aws_sdk_sesv2::error::DisplayErrorContext(&e)
                ))
            })?;
        let message_id = sent.message_id().unwrap_or_default().to_owned();
        tracing::info!(kind = mail.kind, ses_message_id = %message_id, "mail sent through SES");
        Ok(message_id)
    }
}
