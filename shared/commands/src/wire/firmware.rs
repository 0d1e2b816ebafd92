//! UpdateFirmware; 2.0.1 adds a request id and signed firmware.

use super::{call, request_id, status_in, time, Call, EncodeError, Retries};
use csms_domain::command::CommandId;
use csms_domain::{OcppVersion, Timestamp};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request16<'a> {
    location: &'a str,
    retrieve_date: String,
    #[serde(flatten)]
    retries: Retries,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request201<'a> {
    request_id: i32,
    firmware: Firmware<'a>,
    #[serde(flatten)]
    retries: Retries,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Firmware<'a> {
    location: &'a str,
    retrieve_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_certificate: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a str>,
}

pub(super) fn encode(
    location: &str,
    retrieve_at: Timestamp,
    retries: Retries,
    signing_certificate: Option<&str>,
    signature: Option<&str>,
    version: OcppVersion,
    command_id: &CommandId,
) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => {
            if signing_certificate.is_some() || signature.is_some() {
                return Err(EncodeError::Unsupported(
                    "signed firmware needs OCPP 2.0.1 (the 1.6 security extension is not supported)"
                        .into(),
                ));
            }
            call(
                "UpdateFirmware",
                &Request16 {
                    location,
                    retrieve_date: time(retrieve_at),
                    retries,
                },
            )
        }
        OcppVersion::V201 => {
            // A signature cannot be checked without the certificate that
            // made it, and a certificate alone verifies nothing.
            if signing_certificate.is_some() != signature.is_some() {
                return Err(EncodeError::Invalid(
                    "signingCertificate and signature go together".into(),
                ));
            }
            call(
                "UpdateFirmware",
                &Request201 {
                    // Echoed in FirmwareStatusNotification.
                    request_id: request_id(command_id),
                    firmware: Firmware {
                        location,
                        retrieve_date_time: time(retrieve_at),
                        signing_certificate,
                        signature,
                    },
                    retries,
                },
            )
        }
    }
}

/// 1.6 answers with an empty object: receipt is all it says. 2.0.1
/// `AcceptedCanceled` accepts and cancels an update already running.
pub(super) fn accepted(version: OcppVersion, response: &Value) -> bool {
    match version {
        OcppVersion::V16 => true,
        OcppVersion::V201 => status_in(response, &["Accepted", "AcceptedCanceled"]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    fn fw(cert: Option<&str>, signature: Option<&str>) -> CommandRequest {
        CommandRequest::UpdateFirmware {
            location: "https://fw.example.com/v2.bin".into(),
            retrieve_at: t(3),
            retries: Some(2),
            retry_interval_s: None,
            signing_certificate: cert.map(Into::into),
            signature: signature.map(Into::into),
        }
    }

    #[test]
    fn v16_update_firmware() {
        let c = ok(&fw(None, None), V16);
        assert_eq!(c.action, "UpdateFirmware");
        assert_eq!(
            c.payload,
            json!({"location": "https://fw.example.com/v2.bin", "retrieveDate": "2026-11-24T03:00:00.000Z", "retries": 2})
        );
        let e = enc(&fw(Some("-----BEGIN CERTIFICATE-----"), Some("c2ln")), V16).unwrap_err();
        assert!(matches!(e, EncodeError::Unsupported(_)), "{e:?}");
    }

    #[test]
    fn v201_update_firmware() {
        let c = ok(&fw(Some("-----BEGIN CERTIFICATE-----"), Some("c2ln")), V201);
        assert_eq!(c.action, "UpdateFirmware");
        assert_eq!(
            c.payload["firmware"],
            json!({
                "location": "https://fw.example.com/v2.bin",
                "retrieveDateTime": "2026-11-24T03:00:00.000Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----",
                "signature": "c2ln",
            })
        );
        assert_eq!(c.payload["retries"], 2);
        assert!(c.payload["requestId"].as_i64().unwrap() > 0);
        assert!(invalid(&fw(None, Some("c2ln")), V201).contains("go together"));
    }

    #[test]
    fn answers() {
        let req = fw(None, None);
        assert_answers_any(&req, V16, &[json!({})], json!({"status": "Accepted"}));
        assert_answers(
            &req,
            V201,
            json!({"status": "Accepted"}),
            json!({"status": "InvalidCertificate"}),
            json!({"status": "Installed"}),
        );
        assert_eq!(
            interpret(&req, V201, &json!({"status": "AcceptedCanceled"})),
            Ok(CommandStatus::Accepted)
        );
    }
}
