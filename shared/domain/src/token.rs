//! The id-token registry and the authorization decision.

use crate::user::UserId;
use crate::{IdTokenValue, OrgId, StationId, Timestamp};
use serde::{Deserialize, Serialize};

/// Kinds of identifiers (names of OCPP 2.0.1 `IdTokenEnumType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdTokenType {
    Central,
    #[serde(rename = "eMAID")]
    EMaid,
    ISO14443,
    ISO15693,
    KeyCode,
    Local,
    MacAddress,
    NoAuthorization,
    /// A person's e-mail address (normalised, lower case) as the identity
    /// a private garage charger starts for without a card: never sent to a
    /// charger (not an OCPP type), made by binding it to a station
    /// ([`crate::access::GarageIdentity`]).
    EMail,
}

impl IdTokenType {
    pub const ALL: [IdTokenType; 9] = [
        IdTokenType::Central,
        IdTokenType::EMaid,
        IdTokenType::ISO14443,
        IdTokenType::ISO15693,
        IdTokenType::KeyCode,
        IdTokenType::Local,
        IdTokenType::MacAddress,
        IdTokenType::NoAuthorization,
        IdTokenType::EMail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenType::Central => "Central",
            IdTokenType::EMaid => "eMAID",
            IdTokenType::ISO14443 => "ISO14443",
            IdTokenType::ISO15693 => "ISO15693",
            IdTokenType::KeyCode => "KeyCode",
            IdTokenType::Local => "Local",
            IdTokenType::MacAddress => "MacAddress",
            IdTokenType::NoAuthorization => "NoAuthorization",
            IdTokenType::EMail => "EMail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Status an operator gives a token in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStatus {
    Accepted,
    Blocked,
    Expired,
    Invalid,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Accepted => "Accepted",
            TokenStatus::Blocked => "Blocked",
            TokenStatus::Expired => "Expired",
            TokenStatus::Invalid => "Invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Accepted, Self::Blocked, Self::Expired, Self::Invalid]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Why and by whom a token was blocked, and when it was unblocked again.
/// The record keeps its last block: `unblocked_at` set means it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBlock {
    pub reason: String,
    /// The API key id that blocked it, or `admin` (the platform admin).
    pub by: String,
    pub at: Timestamp,
    pub unblocked_at: Option<Timestamp>,
    pub unblocked_by: Option<String>,
}

/// A block reason: required, trimmed, at most this many characters.
pub const BLOCK_REASON_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct IdTokenRecord {
    /// MAC addresses (`MacAddress`) are stored normalised, see [`normalise_mac`].
    pub token: IdTokenValue,
    pub token_type: IdTokenType,
    pub status: TokenStatus,
    /// Not accepted before this time (`None`: always was).
    pub valid_from: Option<Timestamp>,
    /// `Expired` from this time on (stored as the former `expires_at`).
    pub valid_to: Option<Timestamp>,
    pub org_id: OrgId,
    /// The user group whose tariffs apply to this token ("residents",
    /// "staff"); `None`: the public tariff.
    pub group: Option<String>,
    /// The parent (group) id answered to chargers: 1.6 `parentIdTag`,
    /// 2.0.1 `groupIdToken`.
    pub parent_id: Option<IdTokenValue>,
    /// A Plug&Charge contract id (eMAID) belonging to this identifier.
    pub emaid: Option<String>,
    /// The card payment that holds a visitor's money for the session this
    /// one-off identity starts (a Stripe PaymentIntent id, `pi_…`), captured
    /// when the session is priced; `None` for every other identifier.
    pub payment_hold: Option<String>,
    /// A label or holder name for operators.
    pub label: Option<String>,
    /// The person the identifier belongs to (a member of `org_id`): their
    /// sessions with it are theirs to see (`/me/sessions`).
    pub user_id: Option<UserId>,
    /// The current block, or the last one (then with `unblocked_at`).
    pub block: Option<TokenBlock>,
    pub created_at: Timestamp,
    /// `None` for records never changed since created (and older records).
    pub updated_at: Option<Timestamp>,
    /// For conditional writes: 1 when created, +1 each change; 0 for
    /// records stored before tokens had a version.
    pub version: u64,
}

/// How an authorization answers, before a protocol version's mapping:
/// 1.6 has no `NotAtThisTime` and answers `Invalid` for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationStatus {
    Accepted,
    Blocked,
    Expired,
    Invalid,
    /// Registered but not valid yet (`valid_from` in the future).
    NotAtThisTime,
}

impl AuthorizationStatus {
    /// The OCPP 2.0.1 `AuthorizationStatusEnumType` name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::Accepted => "Accepted",
            AuthorizationStatus::Blocked => "Blocked",
            AuthorizationStatus::Expired => "Expired",
            AuthorizationStatus::Invalid => "Invalid",
            AuthorizationStatus::NotAtThisTime => "NotAtThisTime",
        }
    }

    /// The OCPP 1.6 `AuthorizationStatus` name (no `NotAtThisTime` there).
    pub fn as_v16_str(self) -> &'static str {
        match self {
            AuthorizationStatus::NotAtThisTime => "Invalid",
            s => s.as_str(),
        }
    }
}

impl From<TokenStatus> for AuthorizationStatus {
    fn from(s: TokenStatus) -> Self {
        match s {
            TokenStatus::Accepted => AuthorizationStatus::Accepted,
            TokenStatus::Blocked => AuthorizationStatus::Blocked,
            TokenStatus::Expired => AuthorizationStatus::Expired,
            TokenStatus::Invalid => AuthorizationStatus::Invalid,
        }
    }
}

/// The answer to "may this token charge?", common to both OCPP versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub status: AuthorizationStatus,
    pub expires_at: Option<Timestamp>,
    /// 1.6 `parentIdTag` / 2.0.1 `groupIdToken`.
    pub parent_id: Option<IdTokenValue>,
}

/// Decide authorization from the registry entry at a station of
/// `station_org`. Unknown tokens, and tokens of another organisation, are
/// `Invalid`; a blocked token is `Blocked` whatever its dates; a token before
/// its `valid_from` is `NotAtThisTime`; an accepted token at or past its
/// `valid_to` is `Expired`.
pub fn authorize(
    record: Option<&IdTokenRecord>,
    station_org: &OrgId,
    now: Timestamp,
) -> Authorization {
    authorize_registered(record.filter(|r| &r.org_id == station_org), now)
}

/// The token's own answer, whichever organisation it belongs to: whether a
/// station may take it is the access mode's question
/// ([`crate::access::admits`]). `None` (unknown) is `Invalid`.
pub fn authorize_registered(record: Option<&IdTokenRecord>, now: Timestamp) -> Authorization {
    let invalid = Authorization {
        status: AuthorizationStatus::Invalid,
        expires_at: None,
        parent_id: None,
    };
    let Some(r) = record else {
        return invalid;
    };
    let status = match r.status {
        TokenStatus::Accepted => match (r.valid_from, r.valid_to) {
            (Some(from), _) if from > now => AuthorizationStatus::NotAtThisTime,
            (_, Some(to)) if to <= now => AuthorizationStatus::Expired,
            _ => AuthorizationStatus::Accepted,
        },
        s => s.into(),
    };
    Authorization {
        status,
        expires_at: r.valid_to,
        parent_id: r.parent_id.clone(),
    }
}

/// The AutoCharge rule: an EV's MAC address (its EVCC-ID), as 1.6 chargers
/// send it in an idTag (`VID:0123456789AB`, `VID:01:23:45:67:89:ab`,
/// `vid-01-23-…`) or 2.0.1 ones as a `MacAddress` token, is the 12 hex
/// digits upper-cased without separators: `0123456789AB`. Accepted: an
/// optional `VID` prefix (any case), optionally followed by `:`, `-` or `_`; then 12 hex
/// digits, optionally in pairs separated by `:` or `-` (or groups of four
/// separated by `.`). `None`: not a MAC address.
pub fn normalise_mac(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = match s.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("VID") => {
            let rest = &s[3..];
            rest.strip_prefix([':', '-', '_']).unwrap_or(rest)
        }
        _ => s,
    };
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // Separators, if any, must sit between whole groups (not `0-123…`).
    let groups: Vec<&str> = s.split([':', '-', '.']).collect();
    let sizes_ok = groups.len() == 1
        || groups.iter().all(|g| g.len() == 2) && groups.len() == 6
        || groups.iter().all(|g| g.len() == 4) && groups.len() == 3;
    sizes_ok.then(|| hex.to_ascii_uppercase())
}

/// The value a charger's identifier is looked up by: a 1.6 idTag that
/// starts with `VID` and holds a MAC address, and any 2.0.1 `MacAddress`
/// token, normalised by [`normalise_mac`] (with the type it then has);
/// anything else as it came.
pub fn lookup_value(raw: &str, declared: Option<IdTokenType>) -> (String, Option<IdTokenType>) {
    let vid = raw.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("VID"));
    if declared == Some(IdTokenType::MacAddress) || (declared.is_none() && vid) {
        if let Some(mac) = normalise_mac(raw) {
            return (mac, Some(IdTokenType::MacAddress));
        }
    }
    (raw.to_owned(), declared)
}

/// An identifier a station presented that the registry does not know
/// ("seen, not registered"): one record per (organisation of the station,
/// normalised value), updated on each sighting at most once a
/// [`UNREGISTERED_MIN_GAP`].
#[derive(Debug, Clone, PartialEq)]
pub struct UnregisteredToken {
    pub org_id: OrgId,
    /// As looked up: MAC addresses normalised by [`normalise_mac`].
    pub token: IdTokenValue,
    /// The type the station gave (2.0.1) or the one the value implies
    /// (a 1.6 `VID:` tag: `MacAddress`); `None`: a 1.6 tag, no type.
    pub token_type: Option<IdTokenType>,
    /// The station it was last seen at.
    pub station_id: StationId,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Sightings counted: presentations at least [`UNREGISTERED_MIN_GAP`] apart.
    pub count: u64,
}

/// A sighting less than this after the last one is not written (bounded
/// writes on the Authorize path).
pub const UNREGISTERED_MIN_GAP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn rec(status: TokenStatus, exp: Option<Timestamp>) -> IdTokenRecord {
        IdTokenRecord {
            user_id: None,
            token: IdTokenValue::parse("T").unwrap(),
            token_type: IdTokenType::ISO14443,
            status,
            valid_from: None,
            valid_to: exp,
            org_id: OrgId::default_org(),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: None,
            block: None,
            created_at: chrono::Utc::now(),
            updated_at: None,
            version: 1,
        }
    }

    fn status(r: &IdTokenRecord, now: Timestamp) -> AuthorizationStatus {
        authorize(Some(r), &OrgId::default_org(), now).status
    }

    #[test]
    fn decisions() {
        let now = chrono::Utc::now();
        let org = OrgId::default_org();
        assert_eq!(
            authorize(None, &org, now).status,
            AuthorizationStatus::Invalid
        );
        assert_eq!(
            status(&rec(TokenStatus::Accepted, None), now),
            AuthorizationStatus::Accepted
        );
        let past = Some(now - TimeDelta::seconds(1));
        assert_eq!(
            status(&rec(TokenStatus::Accepted, past), now),
            AuthorizationStatus::Expired
        );
        let future = Some(now + TimeDelta::days(1));
        assert_eq!(
            status(&rec(TokenStatus::Accepted, future), now),
            AuthorizationStatus::Accepted
        );
        assert_eq!(
            status(&rec(TokenStatus::Blocked, future), now),
            AuthorizationStatus::Blocked
        );
        // Blocked wins over the dates.
        assert_eq!(
            status(&rec(TokenStatus::Blocked, past), now),
            AuthorizationStatus::Blocked
        );
    }

    #[test]
    fn not_valid_yet_is_not_at_this_time_and_invalid_in_1_6() {
        let now = chrono::Utc::now();
        let mut r = rec(TokenStatus::Accepted, None);
        r.valid_from = Some(now + TimeDelta::minutes(1));
        let s = status(&r, now);
        assert_eq!(s, AuthorizationStatus::NotAtThisTime);
        assert_eq!((s.as_str(), s.as_v16_str()), ("NotAtThisTime", "Invalid"));
        r.valid_from = Some(now);
        assert_eq!(status(&r, now), AuthorizationStatus::Accepted);
    }

    #[test]
    fn another_organisations_token_is_invalid_and_gives_no_parent() {
        let now = chrono::Utc::now();
        let mut r = rec(TokenStatus::Accepted, None);
        r.parent_id = Some(IdTokenValue::parse("FLEET").unwrap());
        let other = OrgId::parse("other").unwrap();
        let a = authorize(Some(&r), &other, now);
        assert_eq!(
            (a.status, a.parent_id),
            (AuthorizationStatus::Invalid, None)
        );
        let a = authorize(Some(&r), &OrgId::default_org(), now);
        assert_eq!(a.parent_id.unwrap().as_str(), "FLEET");
    }

    #[test]
    fn mac_addresses_in_real_world_spellings_normalise_alike() {
        for raw in [
            "VID:0123456789AB",
            "VID:0123456789ab",
            "vid:01:23:45:67:89:ab",
            "VID:01-23-45-67-89-AB",
            "Vid-0123456789aB",
            "VID0123456789AB",
            "01:23:45:67:89:AB",
            "01-23-45-67-89-ab",
            "0123.4567.89ab",
            "0123456789ab",
            " VID:0123456789AB ",
        ] {
            assert_eq!(normalise_mac(raw).as_deref(), Some("0123456789AB"), "{raw}");
        }
        for raw in [
            "VID:0123456789A",
            "VID:0123456789ABC",
            "VID:0123456789AG",
            "0-123456789AB",
            "01:23:45:67:89AB",
            "VIDX0123456789AB",
            "04A1B2C3D4",
            "",
        ] {
            assert_eq!(normalise_mac(raw), None, "{raw}");
        }
    }

    #[test]
    fn lookup_values() {
        let mac = Some(IdTokenType::MacAddress);
        assert_eq!(
            lookup_value("VID:01:23:45:67:89:ab", None),
            ("0123456789AB".to_owned(), mac)
        );
        assert_eq!(
            lookup_value("01-23-45-67-89-ab", mac),
            ("0123456789AB".to_owned(), mac)
        );
        // A 1.6 tag without the prefix, or an RFID type, stays as it came.
        assert_eq!(
            lookup_value("0123456789ab", None),
            ("0123456789ab".to_owned(), None)
        );
        let rfid = Some(IdTokenType::ISO14443);
        assert_eq!(
            lookup_value("VID:0123456789AB", rfid),
            ("VID:0123456789AB".to_owned(), rfid)
        );
        // Not a MAC after all: as it came.
        assert_eq!(
            lookup_value("VIDEO-CARD", None),
            ("VIDEO-CARD".to_owned(), None)
        );
    }
}
