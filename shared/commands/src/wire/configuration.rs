//! Reading and changing settings: 1.6 Get/ChangeConfiguration with plain
//! key names, 2.0.1 Get/SetVariables with component/variable pairs.

use super::{call, request_id, status_in, Call, EncodeError, Evse201};
use csms_charging::charger::v201::{component_ref, variable_ref, WireComponent, WireVariable};
use csms_charging::device_model::ValueUpdate;
use csms_domain::command::{CommandId, ConfigRef};
use csms_domain::device_model::{AttributeType, AttributeValue};
use csms_domain::OcppVersion;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the whole configuration of a 2.0.1 station is read as: its device
/// model. The full inventory, not only the configuration variables, because
/// the report replaces the stored model whole.
pub const REPORT_BASE: &str = "FullInventory";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetBaseReport201 {
    request_id: i32,
    report_base: &'static str,
}

#[derive(Serialize)]
struct GetConfiguration16<'a> {
    /// Absent = every key.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Vec<&'a str>>,
}

#[derive(Serialize)]
struct ChangeConfiguration16<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetVariables201<'a> {
    get_variable_data: Vec<Target<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetVariables201<'a> {
    set_variable_data: [SetVariableData<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetVariableData<'a> {
    attribute_value: &'a str,
    #[serde(flatten)]
    target: Target<'a>,
}

/// A 2.0.1 component/variable pair (`GetVariableDataType` without the
/// optional attribute type, which defaults to `Actual`).
#[derive(Serialize)]
struct Target<'a> {
    component: Component<'a>,
    variable: Variable<'a>,
}

#[derive(Serialize)]
struct Component<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evse: Option<Evse201>,
}

#[derive(Serialize)]
struct Variable<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance: Option<&'a str>,
}

/// A 1.6 key is a plain name: whatever only 2.0.1 can address is refused
/// rather than dropped, so the caller never reads or changes another key
/// than the one meant.
fn v16_key(k: &ConfigRef) -> Result<&str, EncodeError> {
    let extra = [
        ("component", k.component.is_some()),
        ("componentInstance", k.component_instance.is_some()),
        ("evseId", k.evse_id.is_some()),
        ("variableInstance", k.variable_instance.is_some()),
    ];
    match extra.iter().find(|(_, present)| *present) {
        Some((field, _)) => Err(EncodeError::Invalid(format!(
            "{field}: OCPP 1.6 configuration keys are plain names; give {:?} as variable only",
            k.variable
        ))),
        None => Ok(&k.variable),
    }
}

fn v201_target(k: &ConfigRef) -> Result<Target<'_>, EncodeError> {
    let Some(component) = &k.component else {
        return Err(EncodeError::Invalid(format!(
            "component: OCPP 2.0.1 variables belong to a component; give one for {:?}",
            k.variable
        )));
    };
    Ok(Target {
        component: Component {
            name: component,
            instance: k.component_instance.as_deref(),
            evse: k.evse_id.map(|id| Evse201 {
                id,
                connector_id: None,
            }),
        },
        variable: Variable {
            name: &k.variable,
            instance: k.variable_instance.as_deref(),
        },
    })
}

pub(super) fn get(
    keys: &[ConfigRef],
    version: OcppVersion,
    command_id: &CommandId,
) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => {
            let names = keys.iter().map(v16_key).collect::<Result<Vec<_>, _>>()?;
            call(
                "GetConfiguration",
                &GetConfiguration16 {
                    key: (!names.is_empty()).then_some(names),
                },
            )
        }
        OcppVersion::V201 => {
            // GetVariables names what it reads; the whole set is a
            // GetBaseReport, whose answer arrives as NotifyReport messages
            // (the device model), tagged with this command's request id.
            if keys.is_empty() {
                return call(
                    "GetBaseReport",
                    &GetBaseReport201 {
                        request_id: request_id(command_id),
                        report_base: REPORT_BASE,
                    },
                );
            }
            call(
                "GetVariables",
                &GetVariables201 {
                    get_variable_data: keys.iter().map(v201_target).collect::<Result<_, _>>()?,
                },
            )
        }
    }
}

pub(super) fn change(
    key: &ConfigRef,
    value: &str,
    version: OcppVersion,
) -> Result<Call, EncodeError> {
    match version {
        OcppVersion::V16 => call(
            "ChangeConfiguration",
            &ChangeConfiguration16 {
                key: v16_key(key)?,
                value,
            },
        ),
        OcppVersion::V201 => call(
            "SetVariables",
            &SetVariables201 {
                set_variable_data: [SetVariableData {
                    attribute_value: value,
                    target: v201_target(key)?,
                }],
            },
        ),
    }
}

/// The values (and unknown keys) are in the answer itself: any valid answer
/// means the read was done. A report is done when the station agrees to
/// send it (`EmptyResultSet`: it has nothing to report).
pub(super) fn get_accepted(keys: &[ConfigRef], version: OcppVersion, response: &Value) -> bool {
    match version {
        OcppVersion::V201 if keys.is_empty() => {
            status_in(response, &["Accepted", "EmptyResultSet"])
        }
        _ => true,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariableResult {
    attribute_status: String,
    attribute_type: Option<String>,
    attribute_value: Option<String>,
    component: WireComponent,
    variable: WireVariable,
}

/// The values a 2.0.1 answer confirms, attribute by attribute: what
/// SetVariables set (`Accepted`: in effect now) and what GetVariables read.
/// A result that names no valid variable is skipped: it changes nothing.
pub(super) fn confirmed(results: &Value, set_value: Option<&str>) -> Vec<ValueUpdate> {
    let Some(results) = results.as_array() else {
        return Vec::new();
    };
    results
        .iter()
        .filter_map(|r| {
            let r: VariableResult = serde_json::from_value(r.clone()).ok()?;
            if r.attribute_status != "Accepted" {
                return None;
            }
            let kind = match r.attribute_type.as_deref() {
                None => AttributeType::Actual,
                Some(k) => AttributeType::parse(k)?,
            };
            let value = set_value.map(str::to_owned).or(r.attribute_value)?;
            Some(ValueUpdate {
                component: component_ref(r.component).ok()?,
                variable: variable_ref(r.variable).ok()?,
                kind,
                value: AttributeValue::parse(value).ok()?,
            })
        })
        .collect()
}

/// `RebootRequired` is a yes: the value is stored and takes effect on the
/// next boot. 2.0.1 answers per variable; we set one, and all must agree.
pub(super) fn change_accepted(version: OcppVersion, response: &Value) -> bool {
    const YES: &[&str] = &["Accepted", "RebootRequired"];
    match version {
        OcppVersion::V16 => status_in(response, YES),
        OcppVersion::V201 => response["setVariableResult"]
            .as_array()
            .is_some_and(|results| {
                results.iter().all(|r| {
                    r["attributeStatus"]
                        .as_str()
                        .is_some_and(|s| YES.contains(&s))
                })
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use csms_domain::command::CommandRequest;
    use serde_json::json;

    #[test]
    fn v16_get_configuration() {
        let all = CommandRequest::GetConfiguration { keys: vec![] };
        let c = ok(&all, V16);
        assert_eq!((c.action, c.payload), ("GetConfiguration", json!({})));
        let two = CommandRequest::GetConfiguration {
            keys: vec![
                key(None, "HeartbeatInterval"),
                key(None, "MeterValueSampleInterval"),
            ],
        };
        assert_eq!(
            ok(&two, V16).payload,
            json!({"key": ["HeartbeatInterval", "MeterValueSampleInterval"]})
        );
        let component = CommandRequest::GetConfiguration {
            keys: vec![key(Some("OCPPCommCtrlr"), "HeartbeatInterval")],
        };
        assert!(invalid(&component, V16).starts_with("component: OCPP 1.6"));
        let mut on_evse = key(None, "HeartbeatInterval");
        on_evse.evse_id = Some(1);
        let on_evse = CommandRequest::GetConfiguration {
            keys: vec![on_evse],
        };
        assert!(invalid(&on_evse, V16).starts_with("evseId"));
        let long = CommandRequest::GetConfiguration {
            keys: vec![key(None, &"K".repeat(51))],
        };
        assert!(invalid(&long, V16).contains("/key/0"));
    }

    #[test]
    fn v201_get_variables() {
        let mut k = key(Some("EVSE"), "Power");
        k.evse_id = Some(2);
        k.component_instance = Some("main".into());
        k.variable_instance = Some("max".into());
        let req = CommandRequest::GetConfiguration {
            keys: vec![k, key(Some("OCPPCommCtrlr"), "HeartbeatInterval")],
        };
        let c = ok(&req, V201);
        assert_eq!(c.action, "GetVariables");
        assert_eq!(
            c.payload,
            json!({"getVariableData": [
                {"component": {"name": "EVSE", "instance": "main", "evse": {"id": 2}},
                 "variable": {"name": "Power", "instance": "max"}},
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            ]})
        );
        // The whole configuration is the device model: a full report,
        // tagged with the command's request id.
        let all = CommandRequest::GetConfiguration { keys: vec![] };
        let c = ok(&all, V201);
        assert_eq!(c.action, "GetBaseReport");
        assert_eq!(c.payload["reportBase"], "FullInventory");
        assert!(c.payload["requestId"].as_i64().is_some_and(|r| r > 0));
        let bare = CommandRequest::GetConfiguration {
            keys: vec![key(None, "HeartbeatInterval")],
        };
        assert!(invalid(&bare, V201).starts_with("component"));
    }

    fn change(component: Option<&str>) -> CommandRequest {
        CommandRequest::ChangeConfiguration {
            key: key(component, "HeartbeatInterval"),
            value: "120".into(),
        }
    }

    #[test]
    fn change_configuration_and_set_variables() {
        let c = ok(&change(None), V16);
        assert_eq!(c.action, "ChangeConfiguration");
        assert_eq!(
            c.payload,
            json!({"key": "HeartbeatInterval", "value": "120"})
        );
        assert!(invalid(&change(Some("OCPPCommCtrlr")), V16).starts_with("component"));

        let c = ok(&change(Some("OCPPCommCtrlr")), V201);
        assert_eq!(c.action, "SetVariables");
        assert_eq!(
            c.payload,
            json!({"setVariableData": [{
                "attributeValue": "120",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            }]})
        );
        assert!(invalid(&change(None), V201).starts_with("component"));
        let too_long = CommandRequest::ChangeConfiguration {
            key: key(None, "HeartbeatInterval"),
            value: "9".repeat(501),
        };
        assert!(invalid(&too_long, V16).contains("/value"));
    }

    fn key_answer(key: &str) -> serde_json::Value {
        json!({"configurationKey": [{"key": key, "readonly": false, "value": "300"}], "unknownKey": ["Nope"]})
    }

    #[test]
    fn get_answers() {
        let req = CommandRequest::GetConfiguration {
            keys: vec![key(Some("OCPPCommCtrlr"), "HeartbeatInterval")],
        };
        // The read itself cannot be refused; unknown keys are listed in it.
        assert_answers_any(
            &req,
            V16,
            &[key_answer("HeartbeatInterval"), json!({})],
            json!({"configurationKey": [{"key": "HeartbeatInterval"}]}),
        );
        let result = |status: &str| {
            json!({"getVariableResult": [{"attributeStatus": status,
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
        };
        assert_answers_any(
            &req,
            V201,
            &[result("Accepted"), result("UnknownVariable")],
            json!({"getVariableResult": []}),
        );
    }

    #[test]
    fn report_answers() {
        let all = CommandRequest::GetConfiguration { keys: vec![] };
        assert_answers(
            &all,
            V201,
            json!({"status": "Accepted"}),
            json!({"status": "NotSupported"}),
            json!({"status": "Maybe"}),
        );
        assert_eq!(
            interpret(&all, V201, &json!({"status": "EmptyResultSet"})),
            Ok(CommandStatus::Accepted)
        );
    }

    #[test]
    fn confirmed_values_of_variables_answers() {
        use super::super::confirmed_values;
        use csms_domain::device_model::AttributeType;
        let set = change(Some("OCPPCommCtrlr"));
        let result = |status: &str, extra: serde_json::Value| {
            let mut r = json!({"attributeStatus": status,
                "component": {"name": "OCPPCommCtrlr", "evse": {"id": 1}},
                "variable": {"name": "HeartbeatInterval"}});
            r.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            r
        };
        let got = confirmed_values(
            &set,
            V201,
            &json!({"setVariableResult": [result("Accepted", json!({}))]}),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].value.as_str(), "120");
        assert_eq!(got[0].kind, AttributeType::Actual);
        assert_eq!(got[0].component.evse_id, Some(1));
        // Not in effect yet, or refused: nothing to record.
        for status in ["RebootRequired", "Rejected"] {
            let answer = json!({"setVariableResult": [result(status, json!({}))]});
            assert!(confirmed_values(&set, V201, &answer).is_empty());
        }
        // 1.6 has no device model.
        assert!(confirmed_values(&set, V16, &json!({"status": "Accepted"})).is_empty());

        let get = CommandRequest::GetConfiguration {
            keys: vec![key(Some("OCPPCommCtrlr"), "HeartbeatInterval")],
        };
        let answer = json!({"getVariableResult": [
            result("Accepted", json!({"attributeValue": "60", "attributeType": "Target"})),
            result("Accepted", json!({})),
            result("UnknownVariable", json!({"attributeValue": "1"})),
        ]});
        let got = confirmed_values(&get, V201, &answer);
        assert_eq!(got.len(), 1, "only accepted results that carry a value");
        assert_eq!(
            (got[0].kind, got[0].value.as_str()),
            (AttributeType::Target, "60")
        );
    }

    #[test]
    fn change_answers() {
        let req = change(Some("OCPPCommCtrlr"));
        assert_answers(
            &req,
            V16,
            json!({"status": "RebootRequired"}),
            json!({"status": "NotSupported"}),
            json!({"status": "Unknown"}),
        );
        let result = |status: &str| {
            json!({"setVariableResult": [{"attributeStatus": status,
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]})
        };
        assert_answers(
            &req,
            V201,
            result("RebootRequired"),
            result("UnknownVariable"),
            json!({"setVariableResult": [{"attributeStatus": "Accepted"}]}),
        );
        assert_eq!(
            interpret(&req, V201, &result("Accepted")),
            Ok(CommandStatus::Accepted)
        );
    }
}
