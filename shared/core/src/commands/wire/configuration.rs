//! Reading and changing settings: 1.6 Get/ChangeConfiguration with key
//! names, 2.0.1 Get/SetVariables with component/variable pairs.

use super::{call, Call, EncodeError};
use csms_domain::command::ConfigRef;
use serde_json::{json, Value};

fn v16_key(k: &ConfigRef) -> Result<&str, EncodeError> {
    if k.component.is_some() || k.evse_id.is_some() || k.variable_instance.is_some() {
        return Err(EncodeError::Unsupported(format!(
            "OCPP 1.6 configuration keys are plain names; {:?} has a component, EVSE or instance",
            k.variable
        )));
    }
    Ok(&k.variable)
}

fn v201_target(k: &ConfigRef) -> Result<(Value, Value), EncodeError> {
    let Some(component) = &k.component else {
        return Err(EncodeError::Invalid(format!(
            "OCPP 2.0.1 variables belong to a component: give \"component\" for {:?}",
            k.variable
        )));
    };
    let component = json!({
        "name": component,
        "instance": k.component_instance,
        "evse": k.evse_id.map(|id| json!({"id": id})),
    });
    let variable = json!({"name": k.variable, "instance": k.variable_instance});
    Ok((component, variable))
}

pub(super) fn get(keys: &[ConfigRef], v16: bool) -> Result<Call, EncodeError> {
    if v16 {
        // No keys = the whole configuration.
        let names = keys.iter().map(v16_key).collect::<Result<Vec<_>, _>>()?;
        let key = (!names.is_empty()).then_some(names);
        Ok(call("GetConfiguration", json!({"key": key})))
    } else {
        if keys.is_empty() {
            return Err(EncodeError::Invalid(
                "keys: OCPP 2.0.1 reads named variables; for everything use a report (not yet offered)".into(),
            ));
        }
        let data = keys
            .iter()
            .map(|k| v201_target(k).map(|(c, v)| json!({"component": c, "variable": v})))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(call("GetVariables", json!({"getVariableData": data})))
    }
}

pub(super) fn change(key: &ConfigRef, value: &str, v16: bool) -> Result<Call, EncodeError> {
    if v16 {
        Ok(call(
            "ChangeConfiguration",
            json!({"key": v16_key(key)?, "value": value}),
        ))
    } else {
        let (component, variable) = v201_target(key)?;
        Ok(call(
            "SetVariables",
            json!({"setVariableData": [{
                "attributeValue": value,
                "component": component,
                "variable": variable,
            }]}),
        ))
    }
}
