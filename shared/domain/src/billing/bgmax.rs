//! Bankgirot's BgMax file: the reconciliation of payments received on a
//! bankgiro number (Bankgiro Inbetalningar), fixed-width records of 80
//! characters, each starting with its two-digit transaction code. Written
//! from the record descriptions of Bankgirot's technical manual:
//!
//! | code | record | fields (1-based positions) |
//! |------|--------|----------------------------|
//! | 01 | start | layout name `BGMAX` 3-22, version 23-24, timestamp `YYYYMMDDhhmmssµµµµµµ` 25-44, test mark `T`/`P` 45 |
//! | 05 | opening of a deposit | receiving bankgiro 3-12, plusgiro 13-22, currency 23-25 |
//! | 20 | payment | sender bankgiro 3-12, reference 13-37, amount in öre 38-55, reference code 56, channel code 57, BGC serial number 58-69, image mark 70 |
//! | 21 | deduction | as 20, with the deduction code 71 |
//! | 22, 23 | extra reference | as 20: another reference of the payment before it (23: a negative amount) |
//! | 25 | information | text 3-52 |
//! | 26 | name | name 3-37, extra name 38-72 |
//! | 27 | address 1 | address 3-37, postal code 38-46 |
//! | 28 | address 2 | city 3-37, country 38-72, country code 73-74 |
//! | 29 | organisation number | 3-14 |
//! | 15 | deposit | receiving account 3-37, payment date `YYYYMMDD` 38-45, deposit serial 46-50, amount in öre 51-68, currency 69-71, number of payments 72-79, deposit type 80 |
//! | 70 | end | payments 3-10, deductions 11-18, extra references 19-26, deposits 27-34 |
//!
//! The parser checks what a file promises: the end record's counts, and
//! each deposit's amount (its payments less its deductions) and number of
//! payments (payment and deduction records). A file that breaks a rule is
//! refused with the line and field that broke it.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use std::fmt;

/// Where and why a file is refused: its 1-based line and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BgMaxError {
    pub line: usize,
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for BgMaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// A payment (record 20).
    Payment,
    /// A deduction (record 21): the amount is negative.
    Deduction,
}

/// One payment or deduction with what followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgPayment {
    pub kind: PaymentKind,
    /// The file's line of its record 20 or 21.
    pub line: usize,
    pub sender_bankgiro: Option<String>,
    /// The reference as given (spaces trimmed), empty when none.
    pub reference: String,
    /// Bankgirot's reference code: 0/1 none, 2 a correct OCR, 3 several,
    /// 4 one reference, 5 a wrong one.
    pub reference_code: u8,
    /// In SEK (or the deposit's currency); negative for a deduction.
    pub amount: Decimal,
    pub channel: u8,
    /// Bankgirot's serial number of the payment (unique within a deposit).
    pub bgc_serial: String,
    pub image: bool,
    /// References of records 22 and 23 that came with it.
    pub extra_references: Vec<String>,
    pub information: Vec<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub organisation_number: Option<String>,
}

/// A deposit: the payments of one opening (05) … deposit (15) section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgDeposit {
    pub receiving_bankgiro: String,
    pub currency: String,
    pub account: String,
    pub payment_date: NaiveDate,
    /// The deposit's serial number.
    pub serial: u32,
    pub amount: Decimal,
    pub deposit_type: Option<char>,
    pub payments: Vec<BgPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgMaxFile {
    pub version: u8,
    pub written_at: NaiveDateTime,
    /// A test file (test mark `T`).
    pub test: bool,
    pub deposits: Vec<BgDeposit>,
}

const WIDTH: usize = 80;

/// One record's characters, padded with spaces to 80.
struct Record {
    line: usize,
    chars: Vec<char>,
}

impl Record {
    fn err(&self, field: &'static str, message: impl Into<String>) -> BgMaxError {
        BgMaxError {
            line: self.line,
            field,
            message: message.into(),
        }
    }

    /// Positions `from..=to` (1-based) as they are.
    fn raw(&self, from: usize, to: usize) -> String {
        self.chars[from - 1..to].iter().collect()
    }

    /// Positions `from..=to`, spaces trimmed.
    fn text(&self, from: usize, to: usize) -> String {
        self.raw(from, to).trim().to_owned()
    }

    fn optional(&self, from: usize, to: usize) -> Option<String> {
        Some(self.text(from, to)).filter(|s| !s.is_empty())
    }

    /// A number of digits only (zero-filled), at most 18 of them.
    fn number(&self, from: usize, to: usize, field: &'static str) -> Result<u64, BgMaxError> {
        let raw = self.raw(from, to);
        if raw.is_empty() || !raw.chars().all(|c| c.is_ascii_digit()) {
            return Err(self.err(
                field,
                format!("positions {from}-{to} hold {raw:?}, not digits"),
            ));
        }
        raw.parse()
            .map_err(|e| self.err(field, format!("{raw:?}: {e}")))
    }

    /// An amount in öre, as a decimal of the currency.
    fn amount(&self, from: usize, to: usize, field: &'static str) -> Result<Decimal, BgMaxError> {
        let ore = self.number(from, to, field)?;
        let ore = i64::try_from(ore).map_err(|_| self.err(field, "the amount is too large"))?;
        Ok(Decimal::new(ore, 2))
    }
}

/// Reads a BgMax file (its text; lines may lack their trailing spaces).
pub fn parse(text: &str) -> Result<BgMaxFile, BgMaxError> {
    let mut records = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let mut chars: Vec<char> = raw.chars().collect();
        if chars.len() > WIDTH {
            return Err(BgMaxError {
                line,
                field: "record",
                message: format!("{} characters, more than {WIDTH}", chars.len()),
            });
        }
        chars.resize(WIDTH, ' ');
        records.push(Record { line, chars });
    }
    Parser::default().run(&records)
}

#[derive(Default)]
struct Parser {
    file: Option<BgMaxFile>,
    /// The open deposit (after its 05) and the line of its 05.
    open: Option<BgDeposit>,
    payments: u64,
    deductions: u64,
    extra_references: u64,
    deposits: u64,
    ended: bool,
}

impl Parser {
    fn run(mut self, records: &[Record]) -> Result<BgMaxFile, BgMaxError> {
        let Some(first) = records.first() else {
            return Err(BgMaxError {
                line: 1,
                field: "record",
                message: "the file is empty".into(),
            });
        };
        if first.raw(1, 2) != "01" {
            return Err(first.err("transactionCode", "a BgMax file starts with record 01"));
        }
        for record in records {
            if self.ended {
                return Err(record.err("record", "a record after the end record 70"));
            }
            self.record(record)?;
        }
        let last = records.last().expect("not empty");
        if !self.ended {
            return Err(last.err("record", "the file has no end record 70"));
        }
        Ok(self.file.expect("started"))
    }

    fn record(&mut self, r: &Record) -> Result<(), BgMaxError> {
        let code = r.raw(1, 2);
        match code.as_str() {
            "01" => self.start(r),
            "05" => {
                if self.open.is_some() {
                    return Err(r.err("transactionCode", "an opening record 05 inside a deposit"));
                }
                let bankgiro = r.number(3, 12, "receivingBankgiro")?;
                let currency = r.text(23, 25);
                if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                    return Err(r.err("currency", format!("{currency:?} is not a currency code")));
                }
                self.open = Some(BgDeposit {
                    receiving_bankgiro: bankgiro.to_string(),
                    currency,
                    account: String::new(),
                    payment_date: NaiveDate::MIN,
                    serial: 0,
                    amount: Decimal::ZERO,
                    deposit_type: None,
                    payments: Vec::new(),
                });
                Ok(())
            }
            "20" | "21" => self.payment(r, code == "21"),
            "22" | "23" => {
                let payment = self.last_payment(r)?;
                payment.extra_references.push(r.text(13, 37));
                self.extra_references += 1;
                Ok(())
            }
            "25" => {
                let text = r.text(3, 52);
                self.last_payment(r)?.information.push(text);
                Ok(())
            }
            "26" => {
                let name = [r.text(3, 37), r.text(38, 72)]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.last_payment(r)?.name = Some(name).filter(|s| !s.is_empty());
                Ok(())
            }
            "27" => {
                let (address, postal) = (r.optional(3, 37), r.optional(38, 46));
                let p = self.last_payment(r)?;
                p.address = address;
                p.postal_code = postal;
                Ok(())
            }
            "28" => {
                let (city, country) = (r.optional(3, 37), r.optional(38, 72));
                let p = self.last_payment(r)?;
                p.city = city;
                p.country = country;
                Ok(())
            }
            "29" => {
                let number = r.optional(3, 14);
                self.last_payment(r)?.organisation_number = number;
                Ok(())
            }
            "15" => self.deposit(r),
            "70" => self.end(r),
            other => Err(r.err(
                "transactionCode",
                format!("{other:?} is not a BgMax record"),
            )),
        }
    }

    fn start(&mut self, r: &Record) -> Result<(), BgMaxError> {
        if self.file.is_some() {
            return Err(r.err("transactionCode", "a second start record 01"));
        }
        let layout = r.text(3, 22);
        if layout != "BGMAX" {
            return Err(r.err("layoutName", format!("{layout:?} is not BGMAX")));
        }
        let version = r.number(23, 24, "version")?;
        let stamp = r.raw(25, 44);
        let bad_stamp = || {
            r.err(
                "timestamp",
                format!("{stamp:?} is not YYYYMMDDhhmmss and microseconds"),
            )
        };
        if !stamp.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad_stamp());
        }
        let written_at = NaiveDateTime::parse_from_str(&stamp[..14], "%Y%m%d%H%M%S")
            .ok()
            .zip(stamp[14..].parse::<u32>().ok())
            .and_then(|(at, micros)| {
                at.checked_add_signed(chrono::Duration::microseconds(micros.into()))
            })
            .ok_or_else(bad_stamp)?;
        let test = match r.raw(45, 45).as_str() {
            "T" => true,
            "P" => false,
            other => return Err(r.err("testMark", format!("{other:?} is neither T nor P"))),
        };
        self.file = Some(BgMaxFile {
            version: version as u8,
            written_at,
            test,
            deposits: Vec::new(),
        });
        Ok(())
    }

    fn payment(&mut self, r: &Record, deduction: bool) -> Result<(), BgMaxError> {
        let Some(deposit) = self.open.as_mut() else {
            return Err(r.err(
                "transactionCode",
                "a payment outside a deposit (no record 05 before it)",
            ));
        };
        let sender = r.number(3, 12, "senderBankgiro")?;
        let amount = r.amount(38, 55, "amount")?;
        let reference_code = r.number(56, 56, "referenceCode")? as u8;
        let channel = r.number(57, 57, "channel")? as u8;
        r.number(58, 69, "bgcSerial")?;
        let bgc_serial = r.raw(58, 69);
        let image = r.raw(70, 70) == "1";
        deposit.payments.push(BgPayment {
            kind: if deduction {
                PaymentKind::Deduction
            } else {
                PaymentKind::Payment
            },
            line: r.line,
            sender_bankgiro: (sender != 0).then(|| sender.to_string()),
            reference: r.text(13, 37),
            reference_code,
            amount: if deduction { -amount } else { amount },
            channel,
            bgc_serial,
            image,
            extra_references: Vec::new(),
            information: Vec::new(),
            name: None,
            address: None,
            postal_code: None,
            city: None,
            country: None,
            organisation_number: None,
        });
        if deduction {
            self.deductions += 1;
        } else {
            self.payments += 1;
        }
        Ok(())
    }

    fn last_payment(&mut self, r: &Record) -> Result<&mut BgPayment, BgMaxError> {
        self.open
            .as_mut()
            .and_then(|d| d.payments.last_mut())
            .ok_or_else(|| {
                r.err(
                    "transactionCode",
                    "a record of a payment with no payment record 20/21 before it",
                )
            })
    }

    fn deposit(&mut self, r: &Record) -> Result<(), BgMaxError> {
        let Some(mut deposit) = self.open.take() else {
            return Err(r.err(
                "transactionCode",
                "a deposit record 15 with no opening record 05",
            ));
        };
        deposit.account = r.text(3, 37);
        let date = r.raw(38, 45);
        deposit.payment_date = NaiveDate::parse_from_str(&date, "%Y%m%d")
            .map_err(|_| r.err("paymentDate", format!("{date:?} is not a date YYYYMMDD")))?;
        deposit.serial = r.number(46, 50, "depositSerial")? as u32;
        deposit.amount = r.amount(51, 68, "depositAmount")?;
        let currency = r.text(69, 71);
        if currency != deposit.currency {
            return Err(r.err(
                "currency",
                format!(
                    "{currency:?}, but the deposit opened in {:?}",
                    deposit.currency
                ),
            ));
        }
        let count = r.number(72, 79, "numberOfPayments")?;
        deposit.deposit_type = r.raw(80, 80).chars().next().filter(|c| *c != ' ');
        let sum = deposit
            .payments
            .iter()
            .try_fold(Decimal::ZERO, |sum, p| sum.checked_add(p.amount))
            .ok_or_else(|| r.err("depositAmount", "the payments' sum overflows"))?;
        if sum != deposit.amount {
            return Err(r.err(
                "depositAmount",
                format!(
                    "{} is not the payments less deductions, {sum}",
                    deposit.amount
                ),
            ));
        }
        if count != deposit.payments.len() as u64 {
            return Err(r.err(
                "numberOfPayments",
                format!(
                    "{count}, but the deposit has {} payment and deduction records",
                    deposit.payments.len()
                ),
            ));
        }
        self.deposits += 1;
        self.file
            .as_mut()
            .expect("the file started")
            .deposits
            .push(deposit);
        Ok(())
    }

    fn end(&mut self, r: &Record) -> Result<(), BgMaxError> {
        if self.open.is_some() {
            return Err(r.err(
                "transactionCode",
                "the end record 70 inside a deposit (no record 15)",
            ));
        }
        for (from, field, counted) in [
            (3, "numberOfPayments", self.payments),
            (11, "numberOfDeductions", self.deductions),
            (19, "numberOfExtraReferences", self.extra_references),
            (27, "numberOfDeposits", self.deposits),
        ] {
            let stated = r.number(from, from + 7, field)?;
            if stated != counted {
                return Err(r.err(field, format!("{stated}, but the file has {counted}")));
            }
        }
        self.ended = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record: fields placed at their 1-based positions, padded to 80.
    fn rec(fields: &[(usize, &str)]) -> String {
        let mut line = vec![' '; WIDTH];
        for (at, text) in fields {
            for (i, c) in text.chars().enumerate() {
                line[at - 1 + i] = c;
            }
        }
        line.into_iter().collect::<String>().trim_end().to_owned()
    }

    fn payment(code: &str, reference: &str, ore: u64, serial: &str) -> String {
        rec(&[
            (1, code),
            (3, "0009912346"),
            (13, reference),
            (38, &format!("{ore:018}")),
            (56, "2"),
            (57, "1"),
            (58, serial),
            (70, "0"),
        ])
    }

    fn sample() -> Vec<String> {
        vec![
            rec(&[
                (1, "01"),
                (3, "BGMAX"),
                (23, "01"),
                (25, "20261205083012345678"),
                (45, "T"),
            ]),
            rec(&[(1, "05"), (3, "0009912346"), (23, "SEK")]),
            payment("20", "3000001705", 16625, "000000000001"),
            rec(&[(1, "26"), (3, "Eva Lind")]),
            rec(&[(1, "27"), (3, "Solvägen 1"), (38, "12345")]),
            rec(&[(1, "28"), (3, "Solna")]),
            payment("22", "3000001803", 0, "000000000001"),
            payment("20", "", 5000, "000000000002"),
            rec(&[(1, "25"), (3, "Laddning november")]),
            payment("21", "3000001705", 1000, "000000000003"),
            rec(&[
                (1, "15"),
                (3, "12345678901"),
                (38, "20261204"),
                (46, "00017"),
                (51, &format!("{:018}", 16625 + 5000 - 1000)),
                (69, "SEK"),
                (72, "00000003"),
                (80, "K"),
            ]),
            rec(&[
                (1, "70"),
                (3, "00000002"),
                (11, "00000001"),
                (19, "00000001"),
                (27, "00000001"),
            ]),
        ]
    }

    fn text(lines: &[String]) -> String {
        lines.join("\r\n") + "\r\n"
    }

    #[test]
    fn a_file_reads_with_its_deposits_and_payments() {
        let file = parse(&text(&sample())).unwrap();
        assert!(file.test);
        assert_eq!(file.version, 1);
        assert_eq!(file.written_at.to_string(), "2026-12-05 08:30:12.345678");
        let [deposit] = file.deposits.as_slice() else {
            panic!("one deposit");
        };
        assert_eq!(deposit.serial, 17);
        assert_eq!(deposit.receiving_bankgiro, "9912346");
        assert_eq!(deposit.payment_date.to_string(), "2026-12-04");
        assert_eq!(deposit.amount, Decimal::new(20625, 2));
        assert_eq!(deposit.deposit_type, Some('K'));
        let [full, anonymous, deduction] = deposit.payments.as_slice() else {
            panic!("three payments");
        };
        assert_eq!(full.reference, "3000001705");
        assert_eq!(full.amount, Decimal::new(16625, 2));
        assert_eq!(full.line, 3);
        assert_eq!(full.bgc_serial, "000000000001");
        assert_eq!(full.name.as_deref(), Some("Eva Lind"));
        assert_eq!(full.address.as_deref(), Some("Solvägen 1"));
        assert_eq!(full.city.as_deref(), Some("Solna"));
        assert_eq!(full.extra_references, ["3000001803"]);
        assert_eq!(anonymous.reference, "");
        assert_eq!(anonymous.information, ["Laddning november"]);
        assert_eq!(deduction.kind, PaymentKind::Deduction);
        assert_eq!(deduction.amount, Decimal::new(-1000, 2));
    }

    fn refused(lines: &[String]) -> BgMaxError {
        parse(&text(lines)).unwrap_err()
    }

    #[test]
    fn broken_counts_and_totals_name_their_line_and_field() {
        let mut lines = sample();
        lines[10] = lines[10].replace("000000000020625", "000000000020626");
        let e = refused(&lines);
        assert_eq!((e.line, e.field), (11, "depositAmount"), "{e}");

        let mut lines = sample();
        lines[10] = lines[10].replace("00000003", "00000004");
        let e = refused(&lines);
        assert_eq!((e.line, e.field), (11, "numberOfPayments"), "{e}");

        for (at, field) in [
            (3, "numberOfPayments"),
            (11, "numberOfDeductions"),
            (19, "numberOfExtraReferences"),
            (27, "numberOfDeposits"),
        ] {
            let mut lines = sample();
            let mut end: Vec<char> = lines[11].chars().collect();
            end[at + 6] = '9';
            lines[11] = end.into_iter().collect();
            let e = refused(&lines);
            assert_eq!((e.line, e.field), (12, field), "{e}");
        }
    }

    #[test]
    fn malformed_records_are_refused() {
        let mut lines = sample();
        lines[0] = lines[0].replace("BGMAX", "BGMIN");
        assert_eq!(refused(&lines).field, "layoutName");

        let mut lines = sample();
        lines[2] = lines[2].replace("000000000000016625", "0000000000000166x5");
        let e = refused(&lines);
        assert_eq!((e.line, e.field), (3, "amount"));

        let mut lines = sample();
        lines[2].push_str(&" ".repeat(60));
        assert_eq!(refused(&lines).field, "record");

        let mut lines = sample();
        lines.pop();
        assert_eq!(refused(&lines).message, "the file has no end record 70");

        let mut lines = sample();
        lines.remove(1);
        let e = refused(&lines);
        assert_eq!((e.line, e.field), (2, "transactionCode"));

        let mut lines = sample();
        lines.insert(3, rec(&[(1, "99")]));
        assert_eq!(refused(&lines).line, 4);

        let mut lines = sample();
        lines[0] = lines[0].replace("20261205083012345678", "2026120508301234567ä");
        assert_eq!(refused(&lines).field, "timestamp");

        assert_eq!(parse("").unwrap_err().message, "the file is empty");
    }
}
