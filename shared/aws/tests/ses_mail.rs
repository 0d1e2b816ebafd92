//! E-mail through SES v2 against moto: the raw message the mailer hands
//! SES is the one `compose` makes, and an address SES may not send from is
//! an error, not a silent loss.

mod support;

use csms_aws::mail::SesMailer;
use csms_notify::mail::{Mail, MailError, Mailer, Sender};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn mail(to: &str) -> Mail {
    Mail {
        to: to.into(),
        to_name: Some("Eva Lind".into()),
        subject: "Välj ett nytt lösenord".into(),
        text: "Hej Eva!\n\nhttps://csms.example.se/reset-password?token=x\n".into(),
        kind: "passwordReset",
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn a_mail_leaves_through_ses_as_composed() {
    let sdk = support::sdk_config().await;
    let domain = format!(
        "{}.example.se",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let from = Sender::parse(&format!("Laddning <noreply@{domain}>")).unwrap();
    let mailer = SesMailer::new(&sdk, from);

    // Not verified: SES refuses, and the mailer says so.
    match mailer.send(&mail("eva@example.se")).await {
        Err(MailError::Failed(m)) => assert!(m.contains("SES SendEmail"), "{m}"),
        other => panic!("an unverified sender was accepted: {other:?}"),
    }

    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .expect("verify the domain on moto");
    let to = format!(
        "eva-{}@example.se",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let id = mailer.send(&mail(&to)).await.expect("sent");
    assert!(!id.is_empty());

    // moto keeps what it was handed (its whole state, which other tests
    // fill: read without a size limit).
    let body = moto_state().await;
    let data: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let sent = data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .expect("the message is on moto");
    assert_eq!(sent["source"], format!("noreply@{domain}"));
    let raw = sent["raw_data"].as_str().unwrap();
    assert!(
        raw.contains(&format!("From: Laddning <noreply@{domain}>")),
        "{raw}"
    );
    assert!(raw.contains("X-CSMS-Kind: passwordReset"), "{raw}");
    assert!(raw.contains(&to), "{raw}");
}

/// `GET /moto-api/data.json` over a plain HTTP/1.0 connection, read to the end.
async fn moto_state() -> Vec<u8> {
    let endpoint = support::endpoint();
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut conn = tokio::net::TcpStream::connect(&authority).await.unwrap();
    conn.write_all(
        format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    assert!(answer.starts_with(b"HTTP/1.0 200") || answer.starts_with(b"HTTP/1.1 200"));
    answer.split_off(at + 4)
}
