//! Validation against the official OCPP JSON schemas.
//!
//! Schemas are embedded at build time and compiled on first use (a Lambda
//! cold start pays only for the actions it sees). A violation is mapped to the
//! CALLERROR code the specifications define for it:
//!
//! | schema keyword                         | error code                        |
//! |----------------------------------------|-----------------------------------|
//! | `additionalProperties`                 | FormatViolation (1.6: FormationViolation) |
//! | `required`, `minItems`, `maxItems`     | OccurrenceConstraintViolation (1.6: OccurenceConstraintViolation) |
//! | `type`                                 | TypeConstraintViolation           |
//! | `enum`, `maxLength`, `minimum`, …      | PropertyConstraintViolation       |
//!
//! When a payload breaks several rules the structural ones win, in the order
//! of the table, so the charger learns about the most basic mistake first.
//!
//! `format: date-time` is deliberately not enforced here: chargers in the field
//! send timestamps without offset or with odd fractions, and refusing every
//! message of such a charger helps nobody. Timestamps are parsed leniently
//! where they are used.

use crate::error::ErrorCode;
use crate::Version;
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Request,
    Response,
}

/// A payload that breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub code: ErrorCode,
    pub description: String,
    /// JSON pointer to the offending value.
    pub path: String,
}

impl Violation {
    pub fn details(&self) -> Value {
        json!({ "path": self.path })
    }
}

fn schema_name(version: Version, action: &str, kind: Kind) -> String {
    match (version, kind) {
        (Version::V16, Kind::Request) => action.to_owned(),
        (Version::V201, Kind::Request) => format!("{action}Request"),
        (_, Kind::Response) => format!("{action}Response"),
    }
}

fn source(version: Version, name: &str) -> Option<&'static str> {
    let table = match version {
        Version::V16 => V16_SCHEMAS,
        Version::V201 => V201_SCHEMAS,
    };
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| table[i].1)
}

pub fn has_request_schema(version: Version, action: &str) -> bool {
    // An action name is an identifier; anything else cannot name a schema file.
    // 1.6 names response files `ActionResponse.json`: such a name is no action.
    !action.is_empty()
        && !action.ends_with("Response")
        && action.bytes().all(|b| b.is_ascii_alphanumeric())
        && source(version, &schema_name(version, action, Kind::Request)).is_some()
}

type Cache = RwLock<HashMap<(Version, String), Arc<Validator>>>;

fn validator(version: Version, action: &str, kind: Kind) -> Option<Arc<Validator>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let name = schema_name(version, action, kind);
    if let Some(v) = cache
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(version, name.clone()))
    {
        return Some(v.clone());
    }
    let src = source(version, &name)?;
    let schema: Value = serde_json::from_str(src).expect("embedded schema is valid JSON");
    let compiled = Arc::new(
        jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .unwrap_or_else(|e| panic!("embedded schema {name} compiles: {e}")),
    );
    cache
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert((version, name), compiled.clone());
    Some(compiled)
}

fn rank(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::FormatViolation => 0,
        ErrorCode::OccurrenceConstraintViolation => 1,
        ErrorCode::TypeConstraintViolation => 2,
        _ => 3,
    }
}

fn code_for(kind: &ValidationErrorKind) -> ErrorCode {
    match kind {
        ValidationErrorKind::AdditionalProperties { .. }
        | ValidationErrorKind::AdditionalItems { .. } => ErrorCode::FormatViolation,
        ValidationErrorKind::Required { .. }
        | ValidationErrorKind::MinItems { .. }
        | ValidationErrorKind::MaxItems { .. } => ErrorCode::OccurrenceConstraintViolation,
        ValidationErrorKind::Type { .. } => ErrorCode::TypeConstraintViolation,
        _ => ErrorCode::PropertyConstraintViolation,
    }
}

/// Validate `payload` against the schema of `action`. A missing schema is a
/// violation too (`NotImplemented`), so callers check the catalogue first.
/// The violation reported is the most fundamental one (format, occurrence,
/// type, then the rest).
pub fn validate(
    version: Version,
    action: &str,
    kind: Kind,
    payload: &Value,
) -> Result<(), Violation> {
    match violations(version, action, kind, payload)
        .into_iter()
        .min_by_key(|v| rank(v.code))
    {
        None => Ok(()),
        Some(v) => Err(v),
    }
}

/// Every way `payload` breaks the schema of `action` (empty: it is valid),
/// for callers that can drop the offending entries of a list and keep the
/// rest.
pub fn violations(version: Version, action: &str, kind: Kind, payload: &Value) -> Vec<Violation> {
    let Some(v) = validator(version, action, kind) else {
        return vec![Violation {
            code: ErrorCode::NotImplemented,
            description: format!("no schema for {action}"),
            path: String::new(),
        }];
    };
    v.iter_errors(payload)
        .map(|e| {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() {
                "payload".to_owned()
            } else {
                path.clone()
            };
            Violation {
                code: code_for(e.kind()),
                description: format!("{at}: {e}"),
                path,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(version: Version, action: &str, payload: Value) -> Option<&'static str> {
        validate(version, action, Kind::Request, &payload)
            .err()
            .map(|v| v.code.as_str(version))
    }

    #[test]
    fn every_embedded_schema_compiles() {
        for (version, table) in [(Version::V16, V16_SCHEMAS), (Version::V201, V201_SCHEMAS)] {
            assert!(table.len() > 50);
            for (name, _) in table {
                let (action, kind) = match name.strip_suffix("Response") {
                    Some(a) => (a, Kind::Response),
                    None => (name.strip_suffix("Request").unwrap_or(name), Kind::Request),
                };
                assert!(validator(version, action, kind).is_some(), "{name}");
            }
        }
    }

    #[test]
    fn violations_map_to_spec_codes() {
        use Version::*;
        assert_eq!(
            code(
                V16,
                "BootNotification",
                json!({"chargePointVendor":"v","chargePointModel":"m"})
            ),
            None
        );
        assert_eq!(
            code(V16, "BootNotification", json!({})),
            Some("OccurenceConstraintViolation")
        );
        assert_eq!(
            code(
                V16,
                "BootNotification",
                json!({"chargePointVendor":12,"chargePointModel":"m"})
            ),
            Some("TypeConstraintViolation")
        );
        assert_eq!(
            code(
                V16,
                "BootNotification",
                json!({"chargePointVendor":"x".repeat(21),"chargePointModel":"m"})
            ),
            Some("PropertyConstraintViolation")
        );
        assert_eq!(
            code(V16, "Heartbeat", json!({"unexpected": 1})),
            Some("FormationViolation")
        );
        assert_eq!(
            code(V201, "Heartbeat", json!({"unexpected": 1})),
            Some("FormatViolation")
        );
        assert_eq!(
            code(V201, "BootNotification", json!({})),
            Some("OccurrenceConstraintViolation")
        );
        assert_eq!(
            code(
                V201,
                "BootNotification",
                json!({"reason":"Bored","chargingStation":{"model":"m","vendorName":"v"}})
            ),
            Some("PropertyConstraintViolation")
        );
        assert_eq!(
            code(
                V201,
                "BootNotification",
                json!({"reason":"PowerUp","chargingStation":{"model":5,"vendorName":"v"}})
            ),
            Some("TypeConstraintViolation")
        );
        // Missing field and wrong type together: the missing field is reported.
        assert_eq!(
            code(V16, "BootNotification", json!({"chargePointVendor": 1})),
            Some("OccurenceConstraintViolation")
        );
    }

    #[test]
    fn action_names_are_checked_before_lookup() {
        assert!(has_request_schema(Version::V16, "Authorize"));
        assert!(!has_request_schema(Version::V16, "AuthorizeResponse/../x"));
        assert!(!has_request_schema(Version::V16, ""));
        assert!(!has_request_schema(Version::V16, "AuthorizeResponse"));
    }
}
