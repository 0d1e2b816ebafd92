//! An EVSE's charging key: the unguessable part of the start link a QR code
//! on the charger encodes, and the one-off identity a start through that
//! link charges with when the driver is not signed in.
//!
//! The key is made of random bytes the caller draws (this crate draws
//! nothing: it stays pure), written as lowercase base 32 so it is safe in a
//! URL path and unambiguous to read aloud. Rotating an EVSE's key replaces
//! it: the old link stops working.

use crate::{IdTokenValue, OrgId, StationId, Timestamp};
use std::fmt;

/// Random bytes in a key: 160 bits.
pub const KEY_BYTES: usize = 20;
/// Characters of a key: [`KEY_BYTES`] in base 32.
pub const KEY_LEN: usize = KEY_BYTES * 8 / 5;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Base 32 (RFC 4648 alphabet, lowercase, no padding) of `bytes`, whose
/// length is a multiple of 5.
fn base32(bytes: &[u8]) -> String {
    debug_assert!(bytes.len().is_multiple_of(5));
    let mut out = String::with_capacity(bytes.len() * 8 / 5);
    for chunk in bytes.chunks(5) {
        let mut n: u64 = 0;
        for b in chunk {
            n = (n << 8) | u64::from(*b);
        }
        for i in (0..8).rev() {
            out.push(ALPHABET[((n >> (i * 5)) & 31) as usize] as char);
        }
    }
    out
}

/// A charging key as it appears in a start link.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ChargingKey(String);

impl ChargingKey {
    /// The key of `bytes` (drawn from a cryptographic random source).
    pub fn from_random(bytes: [u8; KEY_BYTES]) -> Self {
        ChargingKey(base32(&bytes))
    }

    /// Exactly [`KEY_LEN`] characters of the key alphabet (`a`–`z`,
    /// `2`–`7`); anything else is not a key.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() == KEY_LEN && s.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(ChargingKey(s.to_owned()))
        } else {
            Err("not a charging key (32 characters a-z and 2-7)")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChargingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChargingKey {
    /// Only the start: a key in a log line is as good as the link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChargingKey({}…)", &self.0[..4.min(self.0.len())])
    }
}

/// The charging key of one EVSE, as stored: looked up by the key (the
/// start link) and by the EVSE (the operator's routes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvseChargingKey {
    pub key: ChargingKey,
    pub station_id: StationId,
    pub org_id: OrgId,
    pub evse_id: u32,
    pub created_at: Timestamp,
}

/// Random bytes in a one-off identity: 90 of their bits are used.
pub const ONE_OFF_BYTES: usize = 15;
/// The prefix of the identities the start link makes up: what tells an
/// operator reading a session or an attempt where it came from.
pub const ONE_OFF_PREFIX: &str = "SL";

/// The central one-off identity of a start through the start link: `SL`
/// and 18 base-32 characters, 20 in all, within an OCPP 1.6 `idTag`.
pub fn one_off_token(bytes: [u8; ONE_OFF_BYTES]) -> IdTokenValue {
    let tail = base32(&bytes).to_uppercase();
    IdTokenValue::parse(format!("{ONE_OFF_PREFIX}{}", &tail[..18]))
        .expect("20 letters and digits are an id token")
}

/// How long a one-off identity stays valid: the charger may authorise it
/// again during the transaction (2.0.1 `TransactionEvent` with the token).
pub const ONE_OFF_VALIDITY: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_url_safe_characters_of_160_bits() {
        let k = ChargingKey::from_random([0xff; KEY_BYTES]);
        assert_eq!(k.as_str(), "7".repeat(32));
        let k = ChargingKey::from_random([0; KEY_BYTES]);
        assert_eq!(k.as_str(), "a".repeat(32));
        let mut bytes = [0u8; KEY_BYTES];
        bytes[0] = 0b0000_1000;
        assert_eq!(&ChargingKey::from_random(bytes).as_str()[..2], "ba");
        assert_eq!(KEY_LEN, 32);
        for i in 0..=255u8 {
            let k = ChargingKey::from_random([i; KEY_BYTES]);
            assert_eq!(ChargingKey::parse(k.as_str()), Ok(k.clone()));
            assert!(k
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
        }
    }

    #[test]
    fn anything_but_a_key_is_refused() {
        let good = "a".repeat(32);
        assert!(ChargingKey::parse(&good).is_ok());
        for bad in [
            "",
            &"a".repeat(31),
            &"a".repeat(33),
            &format!("{}1", "a".repeat(31)),
            &format!("{}A", "a".repeat(31)),
            &format!("{}/", "a".repeat(31)),
        ] {
            assert!(ChargingKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_key_is_not_printed_whole_in_debug_output() {
        let k = ChargingKey::from_random([7; KEY_BYTES]);
        assert!(!format!("{k:?}").contains(k.as_str()));
    }

    #[test]
    fn one_off_identities_fit_a_1_6_id_tag_and_say_where_they_came_from() {
        let t = one_off_token([0xab; ONE_OFF_BYTES]);
        assert_eq!(t.as_str().len(), 20);
        assert!(t.as_str().starts_with("SL"));
        assert_ne!(t, one_off_token([0xac; ONE_OFF_BYTES]));
    }
}
