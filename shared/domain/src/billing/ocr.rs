//! Swedish OCR references (Bankgirot's "OCR-referens" with length and check
//! digit): the base number, then a length digit (the whole reference's
//! length, both added digits included, modulo 10), then a Luhn (modulo 10)
//! check digit over everything before it. Bankgirot accepts 2 to 25 digits.

use super::Invalid;
use std::fmt;

/// A checked OCR reference: digits only, its length digit and check digit right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OcrReference(String);

impl OcrReference {
    pub const MIN_LEN: usize = 2;
    pub const MAX_LEN: usize = 25;

    /// The reference for `base` (e.g. an invoice's sequence number): `base`,
    /// its length digit, its check digit.
    pub fn from_base(base: u64) -> Self {
        Self::from_digits(&base.to_string())
    }

    /// The digits of the invoice sequence number in an OCR reference made
    /// by [`OcrReference::for_invoice`].
    pub const SEQ_DIGITS: usize = 7;

    /// The platform-wide reference of an organisation's invoice: its
    /// billing code (assigned once per organisation, from 1) followed by
    /// the invoice's sequence number zero-padded to seven digits, then the
    /// length and check digits. Two organisations' codes differ, and the
    /// sequence's fixed width keeps `code 1, seq 12` apart from `code 11,
    /// seq 2`, so no two invoices of the platform share one. Refuses a code
    /// of 0, a sequence beyond 9,999,999 and a reference over 25 digits.
    pub fn for_invoice(billing_code: u64, seq: u64) -> Result<Self, Invalid> {
        if billing_code == 0 {
            return Err(Invalid("a billing code starts at 1".into()));
        }
        if seq >= 10u64.pow(Self::SEQ_DIGITS as u32) {
            return Err(Invalid(format!(
                "invoice sequence {seq} has more than {} digits for its OCR reference",
                Self::SEQ_DIGITS
            )));
        }
        let base = format!("{billing_code}{seq:0width$}", width = Self::SEQ_DIGITS);
        if base.len() + 2 > Self::MAX_LEN {
            return Err(Invalid(format!(
                "billing code {billing_code} makes an OCR reference over {} digits",
                Self::MAX_LEN
            )));
        }
        Ok(Self::from_digits(&base))
    }

    /// `base` (ASCII digits, at most 23) with its length and check digits.
    fn from_digits(base: &str) -> Self {
        let length = (base.len() + 2) % 10;
        let without_check = format!("{base}{length}");
        let check = luhn_check_digit(&without_check);
        OcrReference(format!("{without_check}{check}"))
    }

    /// Accepts a reference whose length digit and Luhn check digit are right.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(Invalid(format!(
                "an OCR reference has {} to {} digits",
                Self::MIN_LEN,
                Self::MAX_LEN
            )));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid("an OCR reference has digits only".into()));
        }
        if !luhn_valid(s) {
            return Err(Invalid("the OCR reference's check digit is wrong".into()));
        }
        let length_digit = s.as_bytes()[s.len() - 2] - b'0';
        if usize::from(length_digit) != s.len() % 10 {
            return Err(Invalid(
                "the OCR reference's length digit is not its length".into(),
            ));
        }
        Ok(OcrReference(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OcrReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Luhn sum of `digits` (ASCII digits), doubling every second digit
/// from the right starting with the rightmost when `double_first`.
fn luhn_sum(digits: &str, double_first: bool) -> u32 {
    digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if (i % 2 == 0) == double_first {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                d
            }
        })
        .sum()
}

/// The digit that makes `digits` followed by it pass the Luhn check.
pub fn luhn_check_digit(digits: &str) -> u8 {
    ((10 - luhn_sum(digits, true) % 10) % 10) as u8
}

/// Whether `digits` (ending in its check digit) passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    !digits.is_empty() && luhn_sum(digits, false).is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_of_the_textbook_number() {
        // The worked example of the Luhn algorithm (ISO/IEC 7812-1, Wikipedia).
        assert_eq!(luhn_check_digit("7992739871"), 3);
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
    }

    #[test]
    fn bankgirots_example_with_length_digit() {
        // Bankgirot's example: reference 123456, length digit 8 (eight
        // digits in all), check digit 2.
        assert_eq!(OcrReference::from_base(123456).as_str(), "12345682");
        assert!(OcrReference::parse("12345682").is_ok());
    }

    #[test]
    fn a_wrong_check_digit_or_length_digit_is_refused() {
        let e = OcrReference::parse("12345683").unwrap_err();
        assert!(e.0.contains("check digit"), "{e}");
        // Luhn-valid but with a wrong length digit: 1234567 + check digit.
        let bad_length = format!("1234567{}", luhn_check_digit("1234567"));
        let e = OcrReference::parse(&bad_length).unwrap_err();
        assert!(e.0.contains("length digit"), "{e}");
        assert!(OcrReference::parse("12a45682").is_err());
        assert!(OcrReference::parse("1").is_err());
        assert!(OcrReference::parse(&"1".repeat(26)).is_err());
    }

    #[test]
    fn invoice_references_are_unique_across_organisations() {
        let a = OcrReference::for_invoice(1, 12).unwrap();
        let b = OcrReference::for_invoice(11, 2).unwrap();
        assert_ne!(a, b);
        assert_eq!(&a.as_str()[..8], "10000012");
        assert_eq!(&b.as_str()[..9], "110000002");
        for ocr in [&a, &b] {
            assert_eq!(OcrReference::parse(ocr.as_str()).as_ref(), Ok(ocr));
        }
        let mut seen = std::collections::HashSet::new();
        for code in [1, 2, 9, 10, 11, 99, 100, 12345] {
            for seq in [1, 2, 10, 99, 1000, 9_999_999] {
                let ocr = OcrReference::for_invoice(code, seq).unwrap();
                assert!(seen.insert(ocr.clone()), "{code} {seq} repeats {ocr}");
            }
        }
        assert!(OcrReference::for_invoice(0, 1).is_err());
        assert!(OcrReference::for_invoice(1, 10_000_000).is_err());
        assert!(OcrReference::for_invoice(10u64.pow(16), 1).is_err());
        assert!(OcrReference::for_invoice(10u64.pow(15), 1).is_ok());
    }

    #[test]
    fn every_generated_reference_parses_back() {
        for base in [0, 1, 9, 10, 99, 12345, 99999999, u64::MAX] {
            let ocr = OcrReference::from_base(base);
            assert_eq!(OcrReference::parse(ocr.as_str()), Ok(ocr.clone()), "{base}");
            assert!(ocr.as_str().starts_with(&base.to_string()));
        }
        // Ten digits in all: the length digit wraps to 0.
        assert_eq!(&OcrReference::from_base(12345678).as_str()[8..9], "0");
    }
}
