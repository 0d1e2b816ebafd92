//! E-mail: a [`Mail`] to one person, made into an RFC 5322 message once
//! ([`compose`], with `lettre`'s builder) and handed to a [`Mailer`]: SES in
//! AWS (`csms_aws::mail`), files in the data dir locally ([`FileOutbox`]),
//! memory in tests ([`MemoryOutbox`]). Where messages stay on this side
//! (the local outbox) the mailer also lists them ([`Outbox`]), which is how
//! an operator running `cargo run` — and an end-to-end test — reads the
//! links that were sent.
//!
//! What the messages say is in [`letters`]; [`people::PeopleMail`] mails
//! people on domain events (a refused booking); [`reminders::ReminderMail`]
//! mails the reminders of unpaid invoices that billing recorded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::path::PathBuf;
use std::sync::Mutex;

pub mod letters;
pub mod people;
pub mod reminders;

/// One message to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address (already checked at the edge).
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    /// Plain text, lines ending in `\n`.
    pub text: String,
    /// What it is, for logs and the outbox: `invitation`, `passwordReset`, …
    pub kind: &'static str,
    /// Files sent with it (an invoice's PDF); none for most mail.
    pub attachments: Vec<Attachment>,
}

/// A file sent with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The name the recipient sees, e.g. `faktura-17.pdf`.
    pub filename: String,
    /// Its MIME type, e.g. `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Sending needs a setting that is missing.
    #[error("e-mail is not configured: {0}")]
    NotConfigured(String),
    /// The message could not be made (an address that is not one).
    #[error("the message could not be made: {0}")]
    Invalid(String),
    /// The provider or the disk refused or failed.
    #[error("the message could not be sent: {0}")]
    Failed(String),
}

/// Who mails come from: `CSMS_MAIL_FROM`, e.g. `Laddning <noreply@example.se>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(Mailbox);

impl Sender {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<Mailbox>()
            .map(Sender)
            .map_err(|e| format!("not an e-mail address with an optional name: {e}"))
    }

    /// The address alone (SES's `FromEmailAddress`).
    pub fn address(&self) -> String {
        self.0.email.to_string()
    }
}

impl std::fmt::Display for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The header that says which kind of mail a message is.
const KIND_HEADER: &str = "X-CSMS-Kind";

/// The whole message, ready for SES's raw content or an `.eml` file.
pub fn compose(
    from: &Sender,
    mail: &Mail,
    message_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<u8>, MailError> {
    let to = Mailbox::new(
        mail.to_name.clone(),
        mail.to
            .parse()
            .map_err(|e| MailError::Invalid(format!("to: {e}")))?,
    );
    let domain = from.0.email.domain();
    let message = lettre::Message::builder()
        .from(from.0.clone())
        .to(to)
        .subject(mail.subject.clone())
        .date(at.into())
        .message_id(Some(format!("<{message_id}@{domain}>")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(KIND_HEADER),
            mail.kind.to_owned(),
        ));
    let message = if mail.attachments.is_empty() {
        message
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
    } else {
        // The text first, then each file (base64, named).
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone()));
        for a in &mail.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .map_err(|e| MailError::Invalid(format!("attachment {}: {e}", a.filename)))?;
            parts = parts.singlepart(
                lettre::message::Attachment::new(a.filename.clone())
                    .body(a.bytes.clone(), content_type),
            );
        }
        message.multipart(parts)
    }
    .map_err(|e| MailError::Invalid(e.to_string()))?;
    Ok(message.formatted())
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`; the message's id.
    async fn send(&self, mail: &Mail) -> Result<String, MailError>;
    /// Whether mail can be sent at all (`NotConfigured` says what is
    /// missing): asked before work that ends in a mail, so a request is
    /// refused for the installation's reason, not half-done.
    fn ready(&self) -> Result<(), MailError> {
        Ok(())
    }
    /// The messages kept on this side, where they are kept (the local
    /// outbox); `None` where mail leaves (SES).
    fn outbox(&self) -> Option<&dyn Outbox> {
        None
    }
}

/// A message kept in an outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// A ULID: newest first is by id.
    pub id: String,
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub written_at: DateTime<Utc>,
}

/// The messages a [`Mailer`] kept, newest first.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn list(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError>;
    /// The whole message (`message/rfc822`); `None` for an unknown id.
    async fn message(&self, id: &str) -> Result<Option<Vec<u8>>, MailError>;
}

/// Mail that cannot be sent: the sender address is not configured. Every
/// send says so, and the caller answers it.
pub struct Unconfigured(pub String);

#[async_trait]
impl Mailer for Unconfigured {
    async fn send(&self, _: &Mail) -> Result<String, MailError> {
        Err(MailError::NotConfigured(self.0.clone()))
    }

    fn ready(&self) -> Result<(), MailError> {
        Err(MailError::NotConfigured(self.0.clone()))
    }
}

/// A message id: a ULID from one monotonic generator, so two mails of the
/// same millisecond still list newest first (`Ulid::new` orders them by
/// chance).
fn new_id() -> (String, DateTime<Utc>) {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let id = IDS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new());
    let at = DateTime::<Utc>::from(id.datetime());
    (id.to_string(), at)
}

fn entry(id: String, mail: &Mail, at: DateTime<Utc>) -> OutboxEntry {
    OutboxEntry {
        id,
        to: mail.to.clone(),
        subject: mail.subject.clone(),
        kind: mail.kind.to_owned(),
        written_at: at,
    }
}

/// Mail kept in memory: tests read what was sent.
pub struct MemoryOutbox {
    from: Sender,
    sent: Mutex<Vec<(OutboxEntry, Vec<u8>)>>,
}

impl MemoryOutbox {
    pub fn new(from: Sender) -> Self {
        MemoryOutbox {
            from,
            sent: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl Mailer for MemoryOutbox {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let (id, at) = new_id();
        let bytes = compose(&self.from, mail, &id, at)?;
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((entry(id.clone(), mail, at), bytes));
        Ok(id)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn list(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        Ok(sent
            .iter()
            .rev()
            .take(limit)
            .map(|(e, _)| e.clone())
            .collect())
    }

    async fn message(&self, id: &str) -> Result<Option<Vec<u8>>, MailError> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        Ok(sent
            .iter()
            .find(|(e, _)| e.id == id)
            .map(|(_, m)| m.clone()))
    }
}

/// Mail written as files to a folder (the local runner's `outbox` in its
/// data dir): `{id}.eml`, the message as it would have been sent, which any
/// mail program opens, and `{id}.json`, what the listing shows.
pub struct FileOutbox {
    from: Sender,
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FileEntry {
    to: String,
    subject: String,
    kind: String,
    written_at: DateTime<Utc>,
}

impl FileOutbox {
    /// Makes the folder if it is missing.
    pub fn open(from: Sender, dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileOutbox { from, dir })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

fn io(e: impl std::fmt::Display) -> MailError {
    MailError::Failed(e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MailError> + Send + 'static,
) -> Result<T, MailError> {
    tokio::task::spawn_blocking(f).await.map_err(io)?
}

#[async_trait]
impl Mailer for FileOutbox {
    async fn send(&self, mail: &Mail) -> Result<String, MailError> {
        let (id, at) = new_id();
        let bytes = compose(&self.from, mail, &id, at)?;
        let meta = serde_json::to_vec(&FileEntry {
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            kind: mail.kind.to_owned(),
            written_at: at,
        })
        .map_err(io)?;
        let dir = self.dir.clone();
        let name = id.clone();
        blocking(move || {
            // The message first: a listed entry always has its message.
            std::fs::write(dir.join(format!("{name}.eml")), bytes).map_err(io)?;
            std::fs::write(dir.join(format!("{name}.json")), meta).map_err(io)
        })
        .await?;
        tracing::info!(kind = mail.kind, id = %id, dir = %self.dir.display(), "mail written to the outbox");
        Ok(id)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }
}

#[async_trait]
impl Outbox for FileOutbox {
    async fn list(&self, limit: usize) -> Result<Vec<OutboxEntry>, MailError> {
        let dir = self.dir.clone();
        blocking(move || {
            let mut ids: Vec<String> = std::fs::read_dir(&dir)
                .map_err(io)?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let id = name.strip_suffix(".json")?;
                    ulid::Ulid::from_string(id).ok()?;
                    Some(id.to_owned())
                })
                .collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let mut out = Vec::new();
            for id in ids {
                if out.len() >= limit {
                    break;
                }
                // A file someone broke is left out, not the listing.
                let Ok(bytes) = std::fs::read(dir.join(format!("{id}.json"))) else {
                    continue;
                };
                let Ok(e) = serde_json::from_slice::<FileEntry>(&bytes) else {
                    continue;
                };
                out.push(OutboxEntry {
                    id,
                    to: e.to,
                    subject: e.subject,
                    kind: e.kind,
                    written_at: e.written_at,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn message(&self, id: &str) -> Result<Option<Vec<u8>>, MailError> {
        // Only a ULID names a file: nothing else reaches the disk.
        let Ok(id) = ulid::Ulid::from_string(id) else {
            return Ok(None);
        };
        let path = self.dir.join(format!("{id}.eml"));
        blocking(move || match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            to: "eva.lind@example.se".into(),
            to_name: Some("Eva Lind".into()),
            subject: "Välkommen till BRF Solsidan".into(),
            text: "Hej Eva!\n\nÖppna länken: https://csms.example.se/x?token=a.b\n".into(),
            kind: "invitation",
            attachments: Vec::new(),
        }
    }

    fn sender() -> Sender {
        Sender::parse("Laddning <noreply@example.se>").unwrap()
    }

    #[test]
    fn senders_are_addresses_with_an_optional_name() {
        assert_eq!(sender().address(), "noreply@example.se");
        assert!(Sender::parse("noreply@example.se").is_ok());
        for bad in ["", "noreply", "Laddning <>", "a@b@c"] {
            assert!(Sender::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_message_carries_its_headers_and_swedish_text() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bytes = compose(&sender(), &mail(), "01JEQ3V3N7Q4G8W1Z5X2M9K0AB", at).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("From: Laddning <noreply@example.se>"),
            "{text}"
        );
        assert!(
            text.contains("To: \"Eva Lind\" <eva.lind@example.se>")
                || text.contains("To: Eva Lind <eva.lind@example.se>"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <01JEQ3V3N7Q4G8W1Z5X2M9K0AB@example.se>"),
            "{text}"
        );
        assert!(text.contains("X-CSMS-Kind: invitation"), "{text}");
        assert!(
            text.contains("Date: Mon, 07 Dec 2026 10:00:00 +0000"),
            "{text}"
        );
        // Non-ASCII subject and body are encoded, not mangled.
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(!text.contains("Välkommen"), "{text}");
        let bad = Mail {
            to: "not an address".into(),
            ..mail()
        };
        assert!(matches!(
            compose(&sender(), &bad, "x", at),
            Err(MailError::Invalid(_))
        ));
    }

    #[test]
    fn an_attachment_goes_after_the_text_base64_and_named() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let pdf: Vec<u8> = b"%PDF-1.3\n\x00\xff"
            .iter()
            .copied()
            .cycle()
            .take(300)
            .collect();
        let m = Mail {
            attachments: vec![Attachment {
                filename: "faktura-17.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: pdf.clone(),
            }],
            ..mail()
        };
        let text =
            String::from_utf8(compose(&sender(), &m, "01JEQ3V3N7Q4G8W1Z5X2M9K0AB", at).unwrap())
                .unwrap();
        assert!(text.contains("Content-Type: multipart/mixed"), "{text}");
        assert!(text.contains("Content-Type: application/pdf"), "{text}");
        assert!(
            text.contains("Content-Disposition: attachment; filename=\"faktura-17.pdf\""),
            "{text}"
        );
        assert!(text.contains("X-CSMS-Kind: invitation"), "{text}");
        // The file's bytes, base64 in lines, come back whole.
        use base64::Engine as _;
        let start = text.find("Content-Transfer-Encoding: base64").unwrap();
        let body: String = text[start..]
            .split("\r\n\r\n")
            .nth(1)
            .unwrap()
            .split("--")
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
            pdf
        );
        let bad = Mail {
            attachments: vec![Attachment {
                filename: "x".into(),
                content_type: "not a type".into(),
                bytes: Vec::new(),
            }],
            ..mail()
        };
        assert!(matches!(
            compose(&sender(), &bad, "x", at),
            Err(MailError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn the_file_outbox_keeps_messages_and_lists_them_newest_first() {
        let dir = std::env::temp_dir().join(format!("csms-outbox-{}", ulid::Ulid::new()));
        let outbox = FileOutbox::open(sender(), dir.clone()).unwrap();
        let first = outbox.send(&mail()).await.unwrap();
        let second = outbox
            .send(&Mail {
                subject: "Second".into(),
                kind: "passwordReset",
                ..mail()
            })
            .await
            .unwrap();
        let listed = outbox.list(10).await.unwrap();
        assert_eq!(
            listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            [second.as_str(), first.as_str()]
        );
        assert_eq!(listed[0].kind, "passwordReset");
        assert_eq!(listed[1].subject, "Välkommen till BRF Solsidan");
        assert_eq!(outbox.list(1).await.unwrap().len(), 1);
        let eml = outbox.message(&first).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&eml).contains("X-CSMS-Kind: invitation"));
        assert_eq!(outbox.message("../../etc/passwd").await.unwrap(), None);
        assert_eq!(
            outbox
                .message(&ulid::Ulid::new().to_string())
                .await
                .unwrap(),
            None
        );
        // A broken entry is skipped, not fatal.
        std::fs::write(dir.join(format!("{}.json", ulid::Ulid::new())), b"{").unwrap();
        assert_eq!(outbox.list(10).await.unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_unconfigured_mailer_says_what_is_missing() {
        let m = Unconfigured("set CSMS_MAIL_FROM".into());
        assert_eq!(
            m.send(&mail()).await,
            Err(MailError::NotConfigured("set CSMS_MAIL_FROM".into()))
        );
        assert!(m.outbox().is_none());
        assert!(m.ready().is_err());
    }
}
