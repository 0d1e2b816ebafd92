//! E-mail through SES v2 against moto: the raw message the mailer hands
//! SES is the one `compose` makes, and an address SES may not send from is
//! an error, not a silent loss.

mod support;

use csms_aws::mail::SesMailer;
use csms_notify::mail::{Mail, MailError, Mailer, Sender};
use csms_pricing::spot::HttpGet;

fn mail(to: &str) -> Mail {
    Mail {
        to: to.into(),
        to_name: Some("Eva Lind".into()),
        subject: "Välj ett nytt lösenord".into(),
        text: "Hej Eva!\n\nhttps://csms.example.se/reset-password?token=x\n".into(),
        kind: "passwordReset",
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

    // moto keeps what it was handed.
    let (status, body) = csms_http_out::HyperTransport::default()
        .get(&format!("{}/moto-api/data.json", support::endpoint()))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let data: serde_json::Value = serde_json::from_str(&body).unwrap();
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
