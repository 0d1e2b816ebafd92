//! A payout as a bank file: an ISO 20022 credit transfer initiation
//! (`pain.001.001.09`, the version the Swedish banks' common guidelines
//! for ISO 20022 payments take), from the client-funds account to the
//! organisation's Bankgiro or IBAN. A pure function of the payout: the same
//! payout makes the same bytes, so the file can be made again on demand.
//!
//! - A Bankgiro is given as the creditor account's proprietary scheme
//!   `BGNR` with Bankgirot's clearing member 9900 as the creditor's agent,
//!   as the Swedish guidelines ask for domestic Bankgiro payments.
//! - An IBAN is given as itself, with its BIC when the organisation gave
//!   one.
//! - The remittance text names the self-invoice (`SF-{period}`) so the
//!   organisation's bookkeeping finds what the money is for.

use chrono::NaiveDate;
use csms_domain::tenant::{Bic, Iban, PayoutAccount};
use csms_domain::Timestamp;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;
use std::io;

pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
pub const CONTENT_TYPE: &str = "application/xml";

/// The account payouts are made from: the platform's client funds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debtor {
    pub name: String,
    pub iban: Iban,
    pub bic: Option<Bic>,
}

/// One payout to one organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer<'a> {
    /// The message's id, unique per debtor (at most 35 characters).
    pub message_id: &'a str,
    /// The payment's end-to-end id (at most 35 characters).
    pub end_to_end_id: &'a str,
    pub created_at: Timestamp,
    pub execution_date: NaiveDate,
    pub amount: Decimal,
    pub currency: &'a str,
    pub creditor_name: &'a str,
    pub creditor_account: &'a PayoutAccount,
    /// Text for the creditor (at most 140 characters; cut if longer).
    pub remittance: &'a str,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn text<W: io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn agent_bic<W: io::Write>(w: &mut Writer<W>, bic: Option<&Bic>) -> io::Result<()> {
    w.create_element("FinInstnId").write_inner_content(|w| {
        match bic {
            Some(bic) => text(w, "BICFI", bic.as_str())?,
            None => {
                w.create_element("Othr")
                    .write_inner_content(|w| text(w, "Id", "NOTPROVIDED"))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// The file of `t`, from `debtor`.
pub fn render(debtor: &Debtor, t: &Transfer<'_>) -> Vec<u8> {
    let amount = t.amount.round_dp(2).to_string();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written: io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("Document")
            .with_attribute(("xmlns", NAMESPACE))
            .write_inner_content(|w| {
                w.create_element("CstmrCdtTrfInitn")
                    .write_inner_content(|w| {
                        w.create_element("GrpHdr").write_inner_content(|w| {
                            text(w, "MsgId", &cut(t.message_id, 35))?;
                            text(
                                w,
                                "CreDtTm",
                                &t.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                            )?;
                            text(w, "NbOfTxs", "1")?;
                            text(w, "CtrlSum", &amount)?;
                            w.create_element("InitgPty")
                                .write_inner_content(|w| text(w, "Nm", &cut(&debtor.name, 140)))?;
                            Ok(())
                        })?;
                        w.create_element("PmtInf").write_inner_content(|w| {
                            text(w, "PmtInfId", &cut(t.message_id, 35))?;
                            text(w, "PmtMtd", "TRF")?;
                            text(w, "NbOfTxs", "1")?;
                            text(w, "CtrlSum", &amount)?;
                            w.create_element("ReqdExctnDt").write_inner_content(|w| {
                                text(w, "Dt", &t.execution_date.to_string())
                            })?;
                            w.create_element("Dbtr")
                                .write_inner_content(|w| text(w, "Nm", &cut(&debtor.name, 140)))?;
                            w.create_element("DbtrAcct").write_inner_content(|w| {
                                w.create_element("Id").write_inner_content(|w| {
                                    text(w, "IBAN", debtor.iban.as_str())
                                })?;
                                text(w, "Ccy", t.currency)
                            })?;
                            w.create_element("DbtrAgt")
                                .write_inner_content(|w| agent_bic(w, debtor.bic.as_ref()))?;
                            w.create_element("CdtTrfTxInf").write_inner_content(|w| {
                                w.create_element("PmtId").write_inner_content(|w| {
                                    text(w, "InstrId", &cut(t.end_to_end_id, 35))?;
                                    text(w, "EndToEndId", &cut(t.end_to_end_id, 35))
                                })?;
                                w.create_element("Amt").write_inner_content(|w| {
                                    w.create_element("InstdAmt")
                                        .with_attribute(("Ccy", t.currency))
                                        .write_text_content(BytesText::new(&amount))?;
                                    Ok(())
                                })?;
                                match t.creditor_account {
                                    PayoutAccount::Bankgiro(_) => {
                                        w.create_element("CdtrAgt").write_inner_content(|w| {
                                            w.create_element("FinInstnId").write_inner_content(
                                                |w| {
                                                    w.create_element("ClrSysMmbId")
                                                        .write_inner_content(|w| {
                                                            w.create_element("ClrSysId")
                                                                .write_inner_content(|w| {
                                                                    text(w, "Cd", "SESBA")
                                                                })?;
                                                            text(w, "MmbId", "9900")
                                                        })?;
                                                    Ok(())
                                                },
                                            )?;
                                            Ok(())
                                        })?;
                                    }
                                    PayoutAccount::Iban { bic: Some(bic), .. } => {
                                        w.create_element("CdtrAgt")
                                            .write_inner_content(|w| agent_bic(w, Some(bic)))?;
                                    }
                                    PayoutAccount::Iban { bic: None, .. } => {}
                                }
                                w.create_element("Cdtr").write_inner_content(|w| {
                                    text(w, "Nm", &cut(t.creditor_name, 140))
                                })?;
                                w.create_element("CdtrAcct").write_inner_content(|w| {
                                    w.create_element("Id").write_inner_content(|w| {
                                        match t.creditor_account {
                                            PayoutAccount::Bankgiro(bg) => {
                                                let digits: String = bg
                                                    .as_str()
                                                    .chars()
                                                    .filter(char::is_ascii_digit)
                                                    .collect();
                                                w.create_element("Othr").write_inner_content(
                                                    |w| {
                                                        text(w, "Id", &digits)?;
                                                        w.create_element("SchmeNm")
                                                            .write_inner_content(|w| {
                                                                text(w, "Prtry", "BGNR")
                                                            })?;
                                                        Ok(())
                                                    },
                                                )?;
                                            }
                                            PayoutAccount::Iban { iban, .. } => {
                                                text(w, "IBAN", iban.as_str())?
                                            }
                                        }
                                        Ok(())
                                    })?;
                                    Ok(())
                                })?;
                                w.create_element("RmtInf").write_inner_content(|w| {
                                    text(w, "Ustrd", &cut(t.remittance, 140))
                                })?;
                                Ok(())
                            })?;
                            Ok(())
                        })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })();
    written.expect("writing to a Vec does not fail");
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::tenant::Bankgiro;

    fn debtor() -> Debtor {
        Debtor {
            name: "Laddplattformen AB klientmedel".into(),
            iban: Iban::parse("SE4550000000058398257466").unwrap(),
            bic: Some(Bic::parse("ESSESESS").unwrap()),
        }
    }

    fn transfer(account: &PayoutAccount) -> Vec<u8> {
        render(
            &debtor(),
            &Transfer {
                message_id: "PO202611ABCDEF0123456789",
                end_to_end_id: "SF-2026-11",
                created_at: "2026-12-25T06:00:00Z".parse().unwrap(),
                execution_date: "2026-12-25".parse().unwrap(),
                amount: "543.75".parse().unwrap(),
                currency: "SEK",
                creditor_name: "Brf Solsidan & Co <styrelsen>",
                creditor_account: account,
                remittance: "Utbetalning november 2026, självfaktura SF-2026-11",
            },
        )
    }

    #[test]
    fn a_bankgiro_payout_names_bgnr_and_bankgirot() {
        let xml = String::from_utf8(transfer(&PayoutAccount::Bankgiro(
            Bankgiro::parse("5050-1055").unwrap(),
        )))
        .unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(xml.contains(NAMESPACE));
        for want in [
            "<CtrlSum>543.75</CtrlSum>",
            "<InstdAmt Ccy=\"SEK\">543.75</InstdAmt>",
            "<Id>50501055</Id>",
            "<Prtry>BGNR</Prtry>",
            "<MmbId>9900</MmbId>",
            "<IBAN>SE4550000000058398257466</IBAN>",
            "<BICFI>ESSESESS</BICFI>",
            "<Dt>2026-12-25</Dt>",
            // Escaped, never raw.
            "Brf Solsidan &amp; Co &lt;styrelsen&gt;",
        ] {
            assert!(xml.contains(want), "{want} in {xml}");
        }
    }

    #[test]
    fn an_iban_payout_carries_its_bic_or_none() {
        let with = String::from_utf8(transfer(&PayoutAccount::Iban {
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
        }))
        .unwrap();
        assert!(with.contains("<IBAN>DE89370400440532013000</IBAN>"));
        assert!(with.contains("<BICFI>COBADEFFXXX</BICFI>"));
        let without = String::from_utf8(transfer(&PayoutAccount::Iban {
            iban: Iban::parse("DE89370400440532013000").unwrap(),
            bic: None,
        }))
        .unwrap();
        assert!(!without.contains("<CdtrAgt>"));
        assert_eq!(
            transfer(&PayoutAccount::Iban {
                iban: Iban::parse("DE89370400440532013000").unwrap(),
                bic: None,
            }),
            without.into_bytes(),
            "the same payout, the same bytes"
        );
    }
}
