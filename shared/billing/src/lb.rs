//! A payout as a Bankgirot supplier-payment file (*Leverantörsbetalningar*,
//! LB): the platform's client-funds Bankgiro pays the organisation's
//! Bankgiro. Swedish housing co-operatives often have a Bankgiro and no
//! IBAN they use; the LB file is what their bank and Bankgirot know.
//!
//! The file is written from Bankgirot's published record layout for
//! domestic payments in SEK (*Leverantörsbetalningar, teknisk manual*):
//! fixed-width records of 80 characters, each ended by CR LF, in ISO 8859-1
//! (the `Ö` of the product name is one byte), positions counted from 1:
//!
//! | record | positions | content |
//! |---|---|---|
//! | `TK11` opening | 1–2 | `11` |
//! | | 3–12 | the payer's Bankgiro, digits, right-aligned, zero-filled |
//! | | 13–18 | the writing date, `YYMMDD` |
//! | | 19–40 | `LEVERANTÖRSBETALNINGAR` |
//! | | 41–46 | a common payment date: blank (each payment carries its own) |
//! | | 47–59 | blank |
//! | | 60–62 | the currency, `SEK` |
//! | | 63–80 | blank |
//! | `TK14` payment | 1–2 | `14` |
//! | | 3–12 | the payee's Bankgiro, right-aligned, zero-filled |
//! | | 13–37 | the OCR number or reference, left-aligned, blank-filled |
//! | | 38–49 | the amount in öre, right-aligned, zero-filled |
//! | | 50–55 | the payment date, `YYMMDD` |
//! | | 56–60 | blank |
//! | | 61–80 | the payer's own note, left-aligned (here: blank) |
//! | `TK29` total | 1–2 | `29` |
//! | | 3–12 | the payer's Bankgiro |
//! | | 13–20 | the number of payment records, zero-filled |
//! | | 21–32 | the sum of the payments in öre, zero-filled |
//! | | 33 | `-` when the sum is negative, else blank (never here) |
//! | | 34–80 | blank |
//!
//! [`render`] refuses what the file cannot say honestly: no payment, an
//! amount of zero or less, an amount with fractions of an öre or beyond the
//! field's twelve digits, a total beyond it, a reference longer than the
//! field or outside the characters Bankgirot reads. A pure function of its
//! input: the same payout makes the same bytes.

use chrono::NaiveDate;
use csms_domain::tenant::Bankgiro;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// How the file is served: plain text in ISO 8859-1.
pub const CONTENT_TYPE: &str = "text/plain; charset=ISO-8859-1";
/// The length of every record, without its line end.
pub const RECORD_LEN: usize = 80;
/// The product name of the opening record (22 characters).
pub const PRODUCT: &str = "LEVERANTÖRSBETALNINGAR";
/// The largest amount a 12-digit öre field holds: 9 999 999 999.99.
const MAX_ORE: i128 = 999_999_999_999;

/// One payment to one Bankgiro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbPayment<'a> {
    pub to: &'a Bankgiro,
    /// The OCR number or reference the payee sees (at most 25 characters:
    /// letters A–Z, digits, space and `-`).
    pub reference: &'a str,
    pub amount: Decimal,
    pub date: NaiveDate,
}

/// Why a file was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LbError {
    #[error("a supplier-payment file needs at least one payment")]
    Empty,
    #[error("payment {index}: amount {amount} is not above zero")]
    NotPositive { index: usize, amount: Decimal },
    #[error("payment {index}: amount {amount} has fractions of an öre")]
    FractionOfOre { index: usize, amount: Decimal },
    #[error("payment {index}: amount {amount} is beyond the file's 12 digits of öre")]
    TooLarge { index: usize, amount: Decimal },
    #[error("the payments' total is beyond the file's 12 digits of öre")]
    TotalTooLarge,
    #[error("payment {index}: reference {reference:?} is not 1 to 25 of A-Z, 0-9, space and -")]
    Reference { index: usize, reference: String },
    #[error("date {0} is not of the years 2000 to 2099")]
    Date(NaiveDate),
}

fn digits(bg: &Bankgiro) -> String {
    bg.as_str().chars().filter(char::is_ascii_digit).collect()
}

fn yymmdd(d: NaiveDate) -> Result<String, LbError> {
    use chrono::Datelike;
    if !(2000..=2099).contains(&d.year()) {
        return Err(LbError::Date(d));
    }
    Ok(d.format("%y%m%d").to_string())
}

fn ore(index: usize, amount: Decimal) -> Result<i128, LbError> {
    if amount <= Decimal::ZERO {
        return Err(LbError::NotPositive { index, amount });
    }
    let hundredfold = amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(LbError::TooLarge { index, amount })?;
    if hundredfold.fract() != Decimal::ZERO {
        return Err(LbError::FractionOfOre { index, amount });
    }
    let ore = hundredfold
        .to_i128()
        .filter(|o| *o <= MAX_ORE)
        .ok_or(LbError::TooLarge { index, amount })?;
    Ok(ore)
}

fn reference_ok(r: &str) -> bool {
    (1..=25).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-')
}

/// One record, padded to 80 characters (every field was sized before).
fn record(out: &mut String, fields: &str) {
    debug_assert!(fields.chars().count() <= RECORD_LEN, "{fields}");
    let _ = write!(out, "{fields:<width$}\r\n", width = RECORD_LEN);
}

/// The file paying `payments` from `payer`, written on `written`, as
/// ISO 8859-1 bytes.
pub fn render(
    payer: &Bankgiro,
    written: NaiveDate,
    payments: &[LbPayment<'_>],
) -> Result<Vec<u8>, LbError> {
    if payments.is_empty() {
        return Err(LbError::Empty);
    }
    let payer = digits(payer);
    let mut text = String::new();
    record(
        &mut text,
        &format!(
            "11{payer:0>10}{}{PRODUCT}{:6}{:13}SEK",
            yymmdd(written)?,
            "",
            ""
        ),
    );
    let mut total: i128 = 0;
    for (index, p) in payments.iter().enumerate() {
        let amount = ore(index, p.amount)?;
        if !reference_ok(p.reference) {
            return Err(LbError::Reference {
                index,
                reference: p.reference.to_owned(),
            });
        }
        total = total
            .checked_add(amount)
            .filter(|t| *t <= MAX_ORE)
            .ok_or(LbError::TotalTooLarge)?;
        record(
            &mut text,
            &format!(
                "14{:0>10}{:<25}{amount:012}{}",
                digits(p.to),
                p.reference,
                yymmdd(p.date)?
            ),
        );
    }
    record(
        &mut text,
        &format!("29{payer:0>10}{:08}{total:012} ", payments.len()),
    );
    // Every character written is ASCII but the product name's `Ö`, which
    // ISO 8859-1 holds as one byte (U+00D6 = 0xD6).
    Ok(text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1 only"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Positions as the manual counts them: from 1, both ends included.
    fn at(line: &str, from: usize, to: usize) -> String {
        line.chars().skip(from - 1).take(to + 1 - from).collect()
    }

    fn lines(bytes: &[u8]) -> Vec<String> {
        let text: String = bytes.iter().map(|b| char::from(*b)).collect();
        assert!(text.ends_with("\r\n"));
        text.trim_end_matches("\r\n")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_file_reads_back_by_position_and_its_total_is_its_payments() {
        let payer = Bankgiro::parse("5050-1055").unwrap();
        let a = Bankgiro::parse("991-2346").unwrap();
        let b = Bankgiro::parse("5050-1055").unwrap();
        let bytes = render(
            &payer,
            date("2026-12-25"),
            &[
                LbPayment {
                    to: &a,
                    reference: "SF-2026-11",
                    amount: d("1234.5"),
                    date: date("2026-12-25"),
                },
                LbPayment {
                    to: &b,
                    reference: "3000001705",
                    amount: d("0.01"),
                    date: date("2026-12-28"),
                },
            ],
        )
        .unwrap();
        // ISO 8859-1: the product's Ö is the one byte 0xD6.
        assert!(bytes.contains(&0xD6));
        assert_eq!(bytes.len(), 4 * (RECORD_LEN + 2));
        let l = lines(&bytes);
        assert_eq!(l.len(), 4);
        assert!(l.iter().all(|r| r.chars().count() == RECORD_LEN), "{l:?}");
        let open = &l[0];
        assert_eq!(at(open, 1, 2), "11");
        assert_eq!(at(open, 3, 12), "0050501055");
        assert_eq!(at(open, 13, 18), "261225");
        assert_eq!(at(open, 19, 40), PRODUCT);
        assert_eq!(at(open, 41, 59).trim(), "");
        assert_eq!(at(open, 60, 62), "SEK");
        assert_eq!(at(open, 63, 80).trim(), "");
        let p1 = &l[1];
        assert_eq!(at(p1, 1, 2), "14");
        assert_eq!(at(p1, 3, 12), "0009912346");
        assert_eq!(at(p1, 13, 37), format!("{:<25}", "SF-2026-11"));
        assert_eq!(at(p1, 38, 49), "000000123450");
        assert_eq!(at(p1, 50, 55), "261225");
        assert_eq!(at(p1, 56, 80).trim(), "");
        let p2 = &l[2];
        assert_eq!(at(p2, 3, 12), "0050501055");
        assert_eq!(at(p2, 38, 49), "000000000001");
        assert_eq!(at(p2, 50, 55), "261228");
        let total = &l[3];
        assert_eq!(at(total, 1, 2), "29");
        assert_eq!(at(total, 3, 12), "0050501055");
        assert_eq!(at(total, 13, 20), "00000002");
        let sum: u64 = [p1, p2]
            .iter()
            .map(|p| at(p, 38, 49).parse::<u64>().unwrap())
            .sum();
        assert_eq!(at(total, 21, 32).parse::<u64>().unwrap(), sum);
        assert_eq!(at(total, 33, 80).trim(), "");
        // The same payout, the same bytes.
        let again = render(
            &payer,
            date("2026-12-25"),
            &[
                LbPayment {
                    to: &a,
                    reference: "SF-2026-11",
                    amount: d("1234.50"),
                    date: date("2026-12-25"),
                },
                LbPayment {
                    to: &b,
                    reference: "3000001705",
                    amount: d("0.01"),
                    date: date("2026-12-28"),
                },
            ],
        )
        .unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn what_the_file_cannot_say_is_refused() {
        let bg = Bankgiro::parse("5050-1055").unwrap();
        let day = date("2026-12-25");
        let one = |reference: &'static str, amount: &str| -> Result<Vec<u8>, LbError> {
            render(
                &bg,
                day,
                &[LbPayment {
                    to: &bg,
                    reference,
                    amount: d(amount),
                    date: day,
                }],
            )
        };
        assert_eq!(render(&bg, day, &[]), Err(LbError::Empty));
        assert!(matches!(one("SF", "0"), Err(LbError::NotPositive { .. })));
        assert!(matches!(one("SF", "-5"), Err(LbError::NotPositive { .. })));
        assert!(matches!(
            one("SF", "1.005"),
            Err(LbError::FractionOfOre { .. })
        ));
        assert!(matches!(
            one("SF", "10000000000"),
            Err(LbError::TooLarge { .. })
        ));
        assert!(one("SF", "9999999999.99").is_ok());
        for bad in ["", "sf-2026-11", "SF/2026", "12345678901234567890123456"] {
            assert!(
                matches!(one(bad, "1"), Err(LbError::Reference { .. })),
                "{bad:?}"
            );
        }
        let half = d("6000000000");
        let two = [
            LbPayment {
                to: &bg,
                reference: "A",
                amount: half,
                date: day,
            },
            LbPayment {
                to: &bg,
                reference: "B",
                amount: half,
                date: day,
            },
        ];
        assert_eq!(render(&bg, day, &two), Err(LbError::TotalTooLarge));
        assert_eq!(
            render(&bg, date("1999-12-31"), &two[..1]),
            Err(LbError::Date(date("1999-12-31")))
        );
    }
}
