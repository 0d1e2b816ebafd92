//! What the demo seeds: two organisations (a Swedish housing co-operative
//! and an English-speaking charge point operator), their sites, stations,
//! people, RFID tags and tariffs. Fixed data, so every newcomer sees the
//! same portal and the printed passwords are always the same.

use serde_json::{json, Value};

/// OCPP version a simulated charger speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V16,
    V201,
}

impl Version {
    pub fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => "ocpp1.6",
            Version::V201 => "ocpp2.0.1",
        }
    }
}

pub struct Organisation {
    pub id: &'static str,
    /// `POST /organisations`.
    pub body: fn() -> Value,
}

pub struct Site {
    pub id: &'static str,
    pub org: &'static str,
    pub name: &'static str,
    pub street: &'static str,
    pub postal_code: &'static str,
    pub city: &'static str,
    pub lat: f64,
    pub lon: f64,
}

pub struct Station {
    pub id: &'static str,
    pub org: &'static str,
    pub site: &'static str,
    pub name: &'static str,
    pub version: Version,
    /// Connectors (1.6) or EVSEs with one connector each (2.0.1).
    pub connectors: u32,
    /// The most a connector draws, W.
    pub max_w: u32,
    pub vendor: &'static str,
    pub model: &'static str,
}

pub struct Person {
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub language: &'static str,
    /// (organisation, role) — the first organisation makes the person.
    pub roles: &'static [(&'static str, &'static str)],
}

/// An RFID tag of a driver in one organisation.
pub struct Tag {
    pub value: &'static str,
    pub org: &'static str,
    pub holder: &'static str,
}

pub struct Tariff {
    pub org: &'static str,
    pub body: fn() -> Value,
}

pub const SOLROSEN: &str = "brf-solrosen";
pub const VOLTWAY: &str = "voltway";

pub const ORGANISATIONS: &[Organisation] = &[
    Organisation {
        id: SOLROSEN,
        body: || {
            json!({
                "id": SOLROSEN, "kind": "brf", "legalName": "Bostadsrättsföreningen Solrosen",
                "organisationNumber": "769600-1234", "vatNumber": "SE769600123401",
                "address": {"street": "Solrosvägen 12", "postalCode": "171 65", "city": "Solna"},
                "contactEmail": "styrelsen@solrosen.example.se", "language": "sv",
                "payoutAccount": {"bankgiro": "5050-1055"}, "paymentTermsDays": 30,
            })
        },
    },
    Organisation {
        id: VOLTWAY,
        body: || {
            json!({
                "id": VOLTWAY, "kind": "cpo", "legalName": "Voltway Charging AB",
                "organisationNumber": "556036-0793", "vatNumber": "SE556036079301",
                "address": {"street": "Kistagången 20", "postalCode": "164 40", "city": "Kista"},
                "contactEmail": "operations@voltway.example.com", "language": "en",
                "payoutAccount": {"iban": "SE45 5000 0000 0583 9825 7466", "bic": "ESSESESS"},
            })
        },
    },
];

pub const SITES: &[Site] = &[
    Site {
        id: "solrosen-garage",
        org: SOLROSEN,
        name: "Solrosens garage",
        street: "Solrosvägen 12",
        postal_code: "171 65",
        city: "Solna",
        lat: 59.3601,
        lon: 18.0003,
    },
    Site {
        id: "solrosen-gastparkering",
        org: SOLROSEN,
        name: "Gästparkeringen",
        street: "Solrosvägen 16",
        postal_code: "171 65",
        city: "Solna",
        lat: 59.3607,
        lon: 18.0016,
    },
    Site {
        id: "voltway-kista",
        org: VOLTWAY,
        name: "Kista Science Tower",
        street: "Färögatan 33",
        postal_code: "164 51",
        city: "Kista",
        lat: 59.4032,
        lon: 17.9446,
    },
    Site {
        id: "voltway-uppsala",
        org: VOLTWAY,
        name: "Uppsala Central Park & Ride",
        street: "Kungsgatan 95",
        postal_code: "753 18",
        city: "Uppsala",
        lat: 59.8586,
        lon: 17.6389,
    },
];

pub const STATIONS: &[Station] = &[
    Station {
        id: "SOLROSEN-G1",
        org: SOLROSEN,
        site: "solrosen-garage",
        name: "Garaget plats 1–2",
        version: Version::V16,
        connectors: 2,
        max_w: 11_000,
        vendor: "Demo Laddteknik",
        model: "Hemma-22",
    },
    Station {
        id: "SOLROSEN-G2",
        org: SOLROSEN,
        site: "solrosen-garage",
        name: "Garaget plats 3–4",
        version: Version::V16,
        connectors: 2,
        max_w: 11_000,
        vendor: "Demo Laddteknik",
        model: "Hemma-22",
    },
    Station {
        id: "SOLROSEN-P1",
        org: SOLROSEN,
        site: "solrosen-gastparkering",
        name: "Gästplatsen",
        version: Version::V201,
        connectors: 1,
        max_w: 22_000,
        vendor: "Demo Laddteknik",
        model: "Gäst-201",
    },
    Station {
        id: "VOLTWAY-K1",
        org: VOLTWAY,
        site: "voltway-kista",
        name: "Kista bay A",
        version: Version::V16,
        connectors: 2,
        max_w: 22_000,
        vendor: "Demo Power",
        model: "AC-44",
    },
    Station {
        id: "VOLTWAY-K2",
        org: VOLTWAY,
        site: "voltway-kista",
        name: "Kista bay B",
        version: Version::V201,
        connectors: 2,
        max_w: 22_000,
        vendor: "Demo Power",
        model: "AC-44-201",
    },
    Station {
        id: "VOLTWAY-U1",
        org: VOLTWAY,
        site: "voltway-uppsala",
        name: "Uppsala P&R 1",
        version: Version::V16,
        connectors: 2,
        max_w: 11_000,
        vendor: "Demo Power",
        model: "AC-22",
    },
];

/// The person in both organisations: a driver in each.
pub const SHARED_DRIVER: &str = "maria@demo.example.se";

pub const PEOPLE: &[Person] = &[
    Person {
        email: "karin@solrosen.example.se",
        name: "Karin Lind",
        password: "demo-solrosen-admin",
        language: "sv",
        roles: &[(SOLROSEN, "orgAdmin")],
    },
    Person {
        email: "per@solrosen.example.se",
        name: "Per Ek",
        password: "demo-solrosen-operator",
        language: "sv",
        roles: &[(SOLROSEN, "operator")],
    },
    Person {
        email: "sara@solrosen.example.se",
        name: "Sara Nilsson",
        password: "demo-sara-driver",
        language: "sv",
        roles: &[(SOLROSEN, "driver")],
    },
    Person {
        email: "johan@solrosen.example.se",
        name: "Johan Berg",
        password: "demo-johan-driver",
        language: "sv",
        roles: &[(SOLROSEN, "driver")],
    },
    Person {
        email: SHARED_DRIVER,
        name: "Maria Andersson",
        password: "demo-maria-driver",
        language: "sv",
        roles: &[(SOLROSEN, "driver"), (VOLTWAY, "driver")],
    },
    Person {
        email: "emma@voltway.example.com",
        name: "Emma Clarke",
        password: "demo-voltway-admin",
        language: "en",
        roles: &[(VOLTWAY, "orgAdmin")],
    },
    Person {
        email: "liam@voltway.example.com",
        name: "Liam Patel",
        password: "demo-voltway-operator",
        language: "en",
        roles: &[(VOLTWAY, "operator")],
    },
    Person {
        email: "olivia@voltway.example.com",
        name: "Olivia Brown",
        password: "demo-olivia-driver",
        language: "en",
        roles: &[(VOLTWAY, "driver")],
    },
    Person {
        email: "noah@voltway.example.com",
        name: "Noah Wilson",
        password: "demo-noah-driver",
        language: "en",
        roles: &[(VOLTWAY, "driver")],
    },
];

pub const TAGS: &[Tag] = &[
    Tag {
        value: "04A1B2C3D4E501",
        org: SOLROSEN,
        holder: "sara@solrosen.example.se",
    },
    Tag {
        value: "04A1B2C3D4E502",
        org: SOLROSEN,
        holder: "johan@solrosen.example.se",
    },
    Tag {
        value: "04A1B2C3D4E503",
        org: SOLROSEN,
        holder: SHARED_DRIVER,
    },
    Tag {
        value: "04F6E5D4C3B201",
        org: VOLTWAY,
        holder: "olivia@voltway.example.com",
    },
    Tag {
        value: "04F6E5D4C3B202",
        org: VOLTWAY,
        holder: "noah@voltway.example.com",
    },
    Tag {
        value: "04F6E5D4C3B203",
        org: VOLTWAY,
        holder: SHARED_DRIVER,
    },
];

/// One tariff per organisation, assigned to the whole organisation: a fixed
/// price per kWh (no spot prices: the demo does not fetch them), and at the
/// operator a time fee after three hours so a car left standing costs.
pub const TARIFFS: &[Tariff] = &[
    Tariff {
        org: SOLROSEN,
        body: || {
            json!({"name": "Boende", "elements": [
                {"components": [{"type": "energy", "price": {"kind": "fixed", "perKwh": "2.40"}}]}
            ]})
        },
    },
    Tariff {
        org: VOLTWAY,
        body: || {
            json!({"name": "Public AC", "elements": [
                {"components": [
                    {"type": "energy", "price": {"kind": "fixed", "perKwh": "4.20"}},
                    {"type": "time", "price": "6.00", "per": "hour", "freeMinutes": 180}
                ]}
            ]})
        },
    },
];

impl Site {
    pub fn body(&self) -> Value {
        json!({
            "id": self.id, "name": self.name,
            "address": {"street": self.street, "postalCode": self.postal_code, "city": self.city},
            "coordinates": {"lat": self.lat, "lon": self.lon},
            "timeZone": "Europe/Stockholm", "biddingZone": "SE3",
            "openingHours": {"alwaysOpen": true},
        })
    }
}

/// The tags of `org`'s drivers.
pub fn tags_of(org: &str) -> Vec<&'static str> {
    TAGS.iter()
        .filter(|t| t.org == org)
        .map(|t| t.value)
        .collect()
}
