//! What the mails say, in Swedish and English: short, plain text, the link
//! on a line of its own, and when it stops working.

use super::Mail;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use csms_domain::tenant::Language;

/// The time zone of the times in mails: the product's people are in Sweden.
pub const MAIL_TZ: Tz = chrono_tz::Europe::Stockholm;

/// Times in mails, in `tz` (the callers pass [`MAIL_TZ`]).
fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// An issued invoice, its PDF attached. The amount comes formatted (the
/// PDF's way: `1 234,50 kr` in Swedish).
pub struct InvoiceLetter<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    /// The issuer's legal name.
    pub org_name: &'a str,
    pub number: &'a str,
    /// The month invoiced, `YYYY-MM`.
    pub period: &'a str,
    pub amount: &'a str,
    pub due_date: chrono::NaiveDate,
    pub ocr: &'a str,
    pub bankgiro: &'a str,
    pub language: Language,
    pub pdf: super::Attachment,
    /// The Peppol BIS Billing 3.0 file, for a driver who charges for a
    /// company (its accounts read it without retyping).
    pub peppol: Option<super::Attachment>,
}

pub fn invoice(l: &InvoiceLetter<'_>) -> Mail {
    let (subject, text) = match l.language {
        Language::Sv => (
            format!("Faktura {} från {}", l.number, l.org_name),
            format!(
                "Hej {}!\n\nHär är din faktura {} från {} för laddning under {}.\n\nAtt betala: {}\nFörfallodatum: {}\nBankgiro: {}\nOCR-nummer: {}\n\nAnge OCR-numret när du betalar, så hamnar betalningen rätt.\nFakturan finns som PDF i mejlet.\n",
                l.to_name, l.number, l.org_name, l.period, l.amount, l.due_date, l.bankgiro, l.ocr
            ),
        ),
        Language::En => (
            format!("Invoice {} from {}", l.number, l.org_name),
            format!(
                "Hello {}!\n\nHere is your invoice {} from {} for charging in {}.\n\nAmount due: {}\nDue date: {}\nBankgiro: {}\nOCR reference: {}\n\nQuote the OCR reference when you pay, so the payment finds the invoice.\nThe invoice is attached as a PDF.\n",
                l.to_name, l.number, l.org_name, l.period, l.amount, l.due_date, l.bankgiro, l.ocr
            ),
        ),
    };
    let text = match (&l.peppol, l.language) {
        (None, _) => text,
        (Some(_), Language::Sv) => {
            text + "Den finns också som Peppol-fil (e-faktura) för företagets bokföring.\n"
        }
        (Some(_), Language::En) => {
            text + "It is also attached as a Peppol file (e-invoice) for your company's accounts.\n"
        }
    };
    Mail {
        to: l.to.to_owned(),
        to_name: Some(l.to_name.to_owned()),
        subject,
        text,
        kind: "invoice",
        attachments: std::iter::once(l.pdf.clone())
            .chain(l.peppol.clone())
            .collect(),
    }
}

/// A credit note of an invoice, mailed to the driver with its PDF.
pub struct CreditNoteLetter<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    /// The issuer's legal name.
    pub org_name: &'a str,
    pub number: &'a str,
    /// The credited invoice's number.
    pub invoice_number: &'a str,
    /// What is credited, as a positive amount with its currency.
    pub amount: &'a str,
    pub reason: &'a str,
    pub language: Language,
    pub pdf: super::Attachment,
    /// The Peppol BIS Billing 3.0 `CreditNote`, when the invoice's buyer
    /// was a company (as the invoice's mail carries the invoice's file).
    pub peppol: Option<super::Attachment>,
}

pub fn credit_note(l: &CreditNoteLetter<'_>) -> Mail {
    let (subject, text) = match l.language {
        Language::Sv => (
            format!("Kreditfaktura {} från {}", l.number, l.org_name),
            format!(
                "Hej {}!\n\n{} har krediterat {} av faktura {}.\nOrsak: {}\n\nÄr fakturan obetald minskar beloppet att betala; är den betald har du ett tillgodohavande.\nKreditfakturan {} finns som PDF i mejlet.\n",
                l.to_name, l.org_name, l.amount, l.invoice_number, l.reason, l.number
            ),
        ),
        Language::En => (
            format!("Credit note {} from {}", l.number, l.org_name),
            format!(
                "Hello {}!\n\n{} has credited {} of invoice {}.\nReason: {}\n\nIf the invoice is unpaid, what you owe is less; if it is paid, the amount is yours to be refunded or set off.\nCredit note {} is attached as a PDF.\n",
                l.to_name, l.org_name, l.amount, l.invoice_number, l.reason, l.number
            ),
        ),
    };
    let text = match (&l.peppol, l.language) {
        (None, _) => text,
        (Some(_), Language::Sv) => {
            text + "Den finns också som Peppol-fil (e-kreditfaktura) för företagets bokföring.\n"
        }
        (Some(_), Language::En) => text
            + "It is also attached as a Peppol file (e-credit note) for your company's accounts.\n",
    };
    Mail {
        to: l.to.to_owned(),
        to_name: Some(l.to_name.to_owned()),
        subject,
        text,
        kind: "creditNote",
        attachments: std::iter::once(l.pdf.clone())
            .chain(l.peppol.clone())
            .collect(),
    }
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
        attachments: Vec::new(),
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
        attachments: Vec::new(),
    }
}

/// A booking the station would not hold.
pub struct BookingRefusedLetter<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    pub station: &'a str,
    pub evse: u32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The station's answer (`Rejected`, `Occupied`, `Faulted`,
    /// `Unavailable`) or what happened instead (`offline`, `timeout`,
    /// `failed`, `notSent`).
    pub answer: &'a str,
    pub tz: Tz,
    pub language: Language,
}

fn answer_sv(answer: &str) -> &str {
    match answer {
        "Occupied" => "laddpunkten är upptagen",
        "Faulted" => "laddpunkten har ett fel",
        "Unavailable" => "laddpunkten är ur drift",
        "Rejected" | "rejected" => "laddaren tog inte emot bokningen",
        "offline" | "notSent" => "laddaren är inte ansluten",
        "timeout" => "laddaren svarade inte",
        _ => "laddaren kunde inte reservera laddpunkten",
    }
}

fn answer_en(answer: &str) -> &str {
    match answer {
        "Occupied" => "the charging point is occupied",
        "Faulted" => "the charging point has a fault",
        "Unavailable" => "the charging point is out of service",
        "Rejected" | "rejected" => "the charger rejected the booking",
        "offline" | "notSent" => "the charger is not connected",
        "timeout" => "the charger did not answer",
        _ => "the charger could not reserve the charging point",
    }
}

pub fn booking_refused(l: &BookingRefusedLetter<'_>) -> Mail {
    let (from, until) = (local(l.start, l.tz), local(l.end, l.tz));
    let (subject, text) = match l.language {
        Language::Sv => (
            format!("Din bokning {from} kunde inte hållas"),
            format!(
                "Hej {}!\n\nDin bokning av laddpunkt {} på {} ({} – {}) kunde inte reserveras: {}.\nDu kan försöka starta laddningen ändå, eller boka en annan tid eller laddpunkt.\n",
                l.to_name, l.evse, l.station, from, until, answer_sv(l.answer)
            ),
        ),
        Language::En => (
            format!("Your booking at {from} could not be held"),
            format!(
                "Hello {}!\n\nYour booking of charging point {} at {} ({} – {}) could not be reserved: {}.\nYou may still try to start charging, or book another time or charging point.\n",
                l.to_name, l.evse, l.station, from, until, answer_en(l.answer)
            ),
        ),
    };
    Mail {
        to: l.to.to_owned(),
        to_name: Some(l.to_name.to_owned()),
        subject,
        text,
        kind: "bookingRefused",
        attachments: Vec::new(),
    }
}

/// An alarm opened or resolved, to someone on duty.
pub struct AlarmLetter<'a> {
    pub to: &'a str,
    pub alarm: &'a csms_domain::alarm::Alarm,
    pub opened: bool,
    pub tz: Tz,
    pub language: Language,
}

pub fn alarm(l: &AlarmLetter<'_>) -> Mail {
    use csms_domain::alarm::Severity;
    let a = l.alarm;
    let title = a.title.as_deref().unwrap_or(&a.message);
    let at = local(
        if l.opened {
            a.raised_at
        } else {
            a.resolved_at.unwrap_or(a.raised_at)
        },
        l.tz,
    );
    let evidence = serde_json::to_string_pretty(&a.details).unwrap_or_default();
    let (subject, text) = match l.language {
        Language::Sv => {
            let severity = match a.severity {
                Severity::Critical => "KRITISKT",
                Severity::Warning => "Varning",
            };
            if l.opened {
                (
                    format!("[{severity}] {title}"),
                    format!(
                        "Larm {} öppnades {at}.\n\n{}\n\nÅtgärd: {}\n\nUnderlag:\n{evidence}\n\nLarmet stängs av sig självt när felet är borta, eller för hand (POST /alarms/{}/resolve).\n",
                        a.id,
                        a.message,
                        a.action.as_deref().unwrap_or("se larmet"),
                        a.id
                    ),
                )
            } else {
                (
                    format!("[Åtgärdat] {title}"),
                    format!("Larm {} stängdes {at}.\n\n{}\n", a.id, a.message),
                )
            }
        }
        Language::En => {
            let severity = match a.severity {
                Severity::Critical => "CRITICAL",
                Severity::Warning => "Warning",
            };
            if l.opened {
                (
                    format!("[{severity}] {title}"),
                    format!(
                        "Alarm {} opened at {at}.\n\n{}\n\nAction: {}\n\nEvidence:\n{evidence}\n\nThe alarm resolves itself when the condition clears, or by hand (POST /alarms/{}/resolve).\n",
                        a.id,
                        a.message,
                        a.action.as_deref().unwrap_or("see the alarm"),
                        a.id
                    ),
                )
            } else {
                (
                    format!("[Resolved] {title}"),
                    format!("Alarm {} resolved at {at}.\n\n{}\n", a.id, a.message),
                )
            }
        }
    };
    Mail {
        to: l.to.to_owned(),
        to_name: None,
        subject,
        text,
        kind: if l.opened {
            "alarmOpened"
        } else {
            "alarmResolved"
        },
        attachments: Vec::new(),
    }
}

/// The warnings that waited for the digest: those opened from `from` to
/// `through`, each with its state now.
pub struct DigestLetter<'a> {
    pub to: &'a str,
    pub alarms: &'a [csms_domain::alarm::Alarm],
    pub from: DateTime<Utc>,
    pub through: DateTime<Utc>,
    pub tz: Tz,
    pub language: Language,
}

pub fn alarm_digest(l: &DigestLetter<'_>) -> Mail {
    let (from, through) = (local(l.from, l.tz), local(l.through, l.tz));
    let n = l.alarms.len();
    let mut lines = String::new();
    for a in l.alarms {
        let title = a.title.as_deref().unwrap_or(&a.message);
        let state = match (l.language, a.resolved_at) {
            (Language::Sv, Some(at)) => format!("stängt {}", local(at, l.tz)),
            (Language::Sv, None) => "öppet".to_owned(),
            (Language::En, Some(at)) => format!("resolved {}", local(at, l.tz)),
            (Language::En, None) => "open".to_owned(),
        };
        lines.push_str(&format!(
            "- {} {title} ({state})\n  {}\n  {}\n",
            local(a.raised_at, l.tz),
            a.message,
            a.id
        ));
    }
    let (subject, text) = match l.language {
        Language::Sv => (
            format!("Sammanfattning: {n} varningar {from} – {through}"),
            format!(
                "Varningar som öppnades {from} – {through}, samlade i stället för ett brev vardera:\n\n{lines}\nKritiska larm skickas alltid direkt.\n"
            ),
        ),
        Language::En => (
            format!("Digest: {n} warnings {from} – {through}"),
            format!(
                "Warnings that opened {from} – {through}, gathered instead of a mail each:\n\n{lines}\nCritical alarms are always mailed at once.\n"
            ),
        ),
    };
    Mail {
        to: l.to.to_owned(),
        to_name: None,
        subject,
        text,
        kind: "alarmDigest",
        attachments: Vec::new(),
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
    fn a_refused_booking_says_when_where_and_why() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let m = booking_refused(&BookingRefusedLetter {
            to: "eva@example.se",
            to_name: "Eva",
            station: "Garaget plats 4",
            evse: 1,
            start: t("2026-12-07T17:00:00Z"),
            end: t("2026-12-07T19:00:00Z"),
            answer: "offline",
            tz: chrono_tz::Europe::Stockholm,
            language: Language::Sv,
        });
        assert_eq!(m.subject, "Din bokning 2026-12-07 18:00 kunde inte hållas");
        assert!(
            m.text
                .contains("laddpunkt 1 på Garaget plats 4 (2026-12-07 18:00 – 2026-12-07 20:00)"),
            "{}",
            m.text
        );
        assert!(m.text.contains("laddaren är inte ansluten"));
        assert_eq!(m.kind, "bookingRefused");
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
