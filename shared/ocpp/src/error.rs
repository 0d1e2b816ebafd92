//! CALLERROR codes.
//!
//! The two versions differ in spelling and in what exists: 1.6 has
//! `FormationViolation` and the misspelt `OccurenceConstraintViolation`; 2.0.1
//! renamed them `FormatViolation` / `OccurrenceConstraintViolation` and added
//! `RpcFrameworkError`, `MessageTypeNotSupported`. [`ErrorCode::as_str`] picks
//! the right word for the version.

use crate::Version;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The action is not known at all.
    NotImplemented,
    /// The action is known but not one the CSMS accepts (e.g. a CSMS→charger action).
    NotSupported,
    InternalError,
    /// The payload is incomplete (e.g. a CALL without payload element).
    ProtocolError,
    SecurityError,
    /// Syntactically wrong payload or PDU structure (2.0.1: `FormatViolation`).
    FormatViolation,
    PropertyConstraintViolation,
    OccurrenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
    /// 2.0.1 only: the frame is not a valid RPC message. 1.6 falls back to `FormationViolation`.
    RpcFrameworkError,
    /// 2.0.1 only: unknown message type number. 1.6 falls back to `FormationViolation`.
    MessageTypeNotSupported,
}

impl ErrorCode {
    pub fn as_str(self, version: Version) -> &'static str {
        use ErrorCode::*;
        match (self, version) {
            (NotImplemented, _) => "NotImplemented",
            (NotSupported, _) => "NotSupported",
            (InternalError, _) => "InternalError",
            (ProtocolError, _) => "ProtocolError",
            (SecurityError, _) => "SecurityError",
            (PropertyConstraintViolation, _) => "PropertyConstraintViolation",
            (TypeConstraintViolation, _) => "TypeConstraintViolation",
            (GenericError, _) => "GenericError",
            (FormatViolation, Version::V16) => "FormationViolation",
            (FormatViolation, Version::V201) => "FormatViolation",
            (OccurrenceConstraintViolation, Version::V16) => "OccurenceConstraintViolation",
            (OccurrenceConstraintViolation, Version::V201) => "OccurrenceConstraintViolation",
            (RpcFrameworkError | MessageTypeNotSupported, Version::V16) => "FormationViolation",
            (RpcFrameworkError, Version::V201) => "RpcFrameworkError",
            (MessageTypeNotSupported, Version::V201) => "MessageTypeNotSupported",
        }
    }
}

/// A CALLERROR to send back. `message_id` is "-1" when the incoming frame's id
/// could not be read (OCPP 2.0.1 part 4 §4.2.3 does so; 1.6 is silent and we do the same).
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub message_id: String,
    pub code: ErrorCode,
    pub description: String,
    pub details: Value,
}

impl CallError {
    pub const UNKNOWN_ID: &'static str = "-1";

    pub fn new(
        message_id: impl Into<String>,
        code: ErrorCode,
        description: impl Into<String>,
    ) -> Self {
        CallError {
            message_id: message_id.into(),
            code,
            description: description.into(),
            details: json!({}),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// `[4, id, code, description, details]`. Descriptions are cut to 255
    /// characters, the limit 2.0.1 sets (1.6 has none, but chargers choke).
    pub fn render(&self, version: Version) -> String {
        let description: String = self.description.chars().take(255).collect();
        json!([
            4,
            self.message_id,
            self.code.as_str(version),
            description,
            self.details
        ])
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_per_version() {
        assert_eq!(
            ErrorCode::FormatViolation.as_str(Version::V16),
            "FormationViolation"
        );
        assert_eq!(
            ErrorCode::FormatViolation.as_str(Version::V201),
            "FormatViolation"
        );
        assert_eq!(
            ErrorCode::OccurrenceConstraintViolation.as_str(Version::V16),
            "OccurenceConstraintViolation"
        );
        assert_eq!(
            ErrorCode::RpcFrameworkError.as_str(Version::V16),
            "FormationViolation"
        );
        let e = CallError::new("1", ErrorCode::NotImplemented, "x".repeat(300));
        let v: Value = serde_json::from_str(&e.render(Version::V201)).unwrap();
        assert_eq!(v[3].as_str().unwrap().len(), 255);
    }
}
