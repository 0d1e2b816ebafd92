//! Which actions exist in each version, and who may send them.
//!
//! The catalogue of known actions comes from the embedded schemas, so it is
//! exactly the set the specification defines. A CALL naming an action outside
//! it is answered `NotImplemented`; a known action that only the CSMS sends
//! (say `Reset`) arriving from a charger is `NotSupported`.

use crate::schema;
use crate::Version;

/// Charger-initiated actions of OCPP 1.6 (Core, Firmware Management,
/// Security whitepaper excluded).
pub const V16_FROM_CHARGER: &[&str] = &[
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
];

/// Charger-initiated actions of OCPP 2.0.1 (part 2, messages sent by the
/// Charging Station).
pub const V201_FROM_CHARGER: &[&str] = &[
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "DataTransfer",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the charger to the CSMS.
    FromCharger,
    /// Sent by the CSMS to the charger.
    FromCsms,
}

/// `None` if the version has no such action.
pub fn direction(version: Version, action: &str) -> Option<Direction> {
    if !schema::has_request_schema(version, action) {
        return None;
    }
    let from_charger = match version {
        Version::V16 => V16_FROM_CHARGER,
        Version::V201 => V201_FROM_CHARGER,
    };
    Some(if from_charger.contains(&action) {
        Direction::FromCharger
    } else {
        Direction::FromCsms
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        assert_eq!(
            direction(Version::V16, "Heartbeat"),
            Some(Direction::FromCharger)
        );
        assert_eq!(direction(Version::V16, "Reset"), Some(Direction::FromCsms));
        assert_eq!(direction(Version::V16, "TransactionEvent"), None);
        assert_eq!(
            direction(Version::V201, "TransactionEvent"),
            Some(Direction::FromCharger)
        );
        assert_eq!(direction(Version::V201, "StartTransaction"), None);
        assert_eq!(direction(Version::V201, "NoSuchAction"), None);
        for a in V16_FROM_CHARGER {
            assert!(schema::has_request_schema(Version::V16, a), "{a}");
        }
        for a in V201_FROM_CHARGER {
            assert!(schema::has_request_schema(Version::V201, a), "{a}");
        }
    }
}
