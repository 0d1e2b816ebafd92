//! What the mails say, in Swedish and English: short, plain text, the link
//! on a line of its own, and when it stops working.

use super::Mail;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use csms_domain::tenant::Language;

/// Times in mails are Swedish time: the product's people are in Sweden
/// (the organisation's own time zone where one is known is the caller's).
fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// An invitation to join `org_name` as `role` (its API name).
pub struct InvitationLetter<'a> {
    pub to: &'a str,
    pub to_name: Option<&'a str>,
    pub org_name: &'a str,
    pub role: &'a str,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
    pub tz: Tz,
    pub language: Language,
}

fn role_sv(role: &str) -> &str {
    match role {
        "platformAdmin" => "plattformsadministratör",
        "orgAdmin" => "administratör",
        "operator" => "drifttekniker",
        "accountant" => "ekonomiansvarig",
        "viewer" => "läsbehörig",
        "driver" => "förare",
        other => other,
    }
}

fn role_en(role: &str) -> &str {
    match role {
        "platformAdmin" => "platform administrator",
        "orgAdmin" => "administrator",
        "operator" => "operator",
        "accountant" => "accountant",
        "viewer" => "viewer",
        "driver" => "driver",
        other => other,
    }
}

pub fn invitation(l: &InvitationLetter<'_>) -> Mail {
    let until = local(l.expires_at, l.tz);
    let (subject, text) = match l.language {
        Language::Sv => (
            format!("Inbjudan till {}", l.org_name),
            format!(
                "Hej{}!\n\nDu är inbjuden till {} som {}.\n\nÖppna länken för att tacka ja:\n\n{}\n\nLänken gäller till {} och kan användas en gång.\nVäntade du dig inte detta mejl kan du bortse från det.\n",
                l.to_name.map(|n| format!(" {n}")).unwrap_or_default(),
                l.org_name,
                role_sv(l.role),
                l.link,
                until
            ),
        ),
        Language::En => (
            format!("Invitation to {}", l.org_name),
            format!(
                "Hello{}!\n\nYou are invited to {} as {}.\n\nOpen the link to accept:\n\n{}\n\nThe link works until {} and only once.\nIf you did not expect this e-mail, you can ignore it.\n",
                l.to_name.map(|n| format!(" {n}")).unwrap_or_default(),
                l.org_name,
                role_en(l.role),
                l.link,
                until
            ),
        ),
    };
    Mail {
        to: l.to.to_owned(),
        to_name: l.to_name.map(str::to_owned),
        subject,
        text,
        kind: "invitation",
    }
}

/// A link to choose a new password.
pub struct ResetLetter<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    pub link: &'a str,
    pub expires_at: DateTime<Utc>,
    pub tz: Tz,
    pub language: Language,
}

pub fn password_reset(l: &ResetLetter<'_>) -> Mail {
    let until = local(l.expires_at, l.tz);
    let (subject, text) = match l.language {
        Language::Sv => (
            "Välj ett nytt lösenord".to_owned(),
            format!(
                "Hej {}!\n\nNågon (förhoppningsvis du) bad om att få välja ett nytt lösenord.\nÖppna länken för att göra det:\n\n{}\n\nLänken gäller till {} och kan användas en gång. Alla dina inloggningar avslutas när lösenordet byts.\nBad du inte om detta kan du bortse från mejlet: ditt lösenord är oförändrat.\n",
                l.to_name, l.link, until
            ),
        ),
        Language::En => (
            "Choose a new password".to_owned(),
            format!(
                "Hello {}!\n\nSomeone (hopefully you) asked to choose a new password.\nOpen the link to do so:\n\n{}\n\nThe link works until {} and only once. Every session of yours is signed out when the password changes.\nIf you did not ask for this, ignore this e-mail: your password is unchanged.\n",
                l.to_name, l.link, until
            ),
        ),
    };
    Mail {
        to: l.to.to_owned(),
        to_name: Some(l.to_name.to_owned()),
        subject,
        text,
        kind: "passwordReset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_names_the_organisation_role_link_and_end_in_swedish_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-14T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = invitation(&InvitationLetter {
            to: "eva@example.se",
            to_name: Some("Eva"),
            org_name: "BRF Solsidan",
            role: "driver",
            link: "https://csms.example.se/invitation?token=t",
            expires_at: at,
            tz: chrono_tz::Europe::Stockholm,
            language: Language::Sv,
        });
        assert_eq!(m.subject, "Inbjudan till BRF Solsidan");
        assert!(m.text.starts_with("Hej Eva!"), "{}", m.text);
        assert!(m.text.contains("som förare"));
        assert!(m
            .text
            .contains("\nhttps://csms.example.se/invitation?token=t\n"));
        assert!(m.text.contains("2026-12-14 10:00"), "CET: {}", m.text);
        let en = invitation(&InvitationLetter {
            to_name: None,
            language: Language::En,
            role: "orgAdmin",
            ..InvitationLetter {
                to: "eva@example.se",
                to_name: None,
                org_name: "BRF Solsidan",
                role: "driver",
                link: "l",
                expires_at: at,
                tz: chrono_tz::Europe::Stockholm,
                language: Language::Sv,
            }
        });
        assert!(en.text.starts_with("Hello!"));
        assert!(en.text.contains("as administrator"));
    }

    #[test]
    fn a_reset_says_it_is_single_use_and_harmless_if_unasked() {
        let m = password_reset(&ResetLetter {
            to: "eva@example.se",
            to_name: "Eva",
            link: "https://x/reset?token=t",
            expires_at: Utc::now(),
            tz: chrono_tz::Europe::Stockholm,
            language: Language::En,
        });
        assert_eq!(m.kind, "passwordReset");
        assert!(m.text.contains("ignore this e-mail"));
    }
}
