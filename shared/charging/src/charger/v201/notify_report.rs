//! NotifyReport: one part of a device report (the answer to GetBaseReport,
//! or a report the station sends on its own). Kept in the station's event
//! log like every notification, and parsed into the device model: an entry
//! that cannot be a variable (a second attribute of one type, limits the
//! wrong way round, an EVSE id out of range) is dropped with a warning and
//! the rest kept. Entries that break the schema were already dropped the
//! same way before this handler (see `LENIENT_LISTS`).

use crate::charger::wire::{charger_time, decimal_from_json, Dropped};
use crate::charger::ChargingStore;
use crate::charger::{notify, ChargerService, HandlerError};
use csms_domain::device_model::{
    AttributeType, Characteristics, ComponentRef, DataType, DeviceVariable, Mutability, Name,
    ReportPart, Text, VariableAttribute, VariableRef,
};
use csms_domain::event::NotificationKind;
use csms_domain::station::Connection;
use csms_domain::Timestamp;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    request_id: i32,
    generated_at: String,
    #[serde(default)]
    tbc: bool,
    seq_no: i64,
    #[serde(default)]
    report_data: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportData {
    component: WireComponent,
    variable: WireVariable,
    variable_attribute: Vec<WireAttribute>,
    variable_characteristics: Option<WireCharacteristics>,
}

/// 2.0.1 `ComponentType`, as reports and variables answers carry it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireComponent {
    name: String,
    instance: Option<String>,
    evse: Option<WireEvse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvse {
    id: i64,
    connector_id: Option<i64>,
}

/// 2.0.1 `VariableType`.
#[derive(Deserialize)]
pub struct WireVariable {
    name: String,
    instance: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAttribute {
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
    mutability: Option<String>,
    #[serde(default)]
    persistent: bool,
    #[serde(default)]
    constant: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCharacteristics {
    unit: Option<String>,
    data_type: String,
    min_limit: Option<serde_json::Number>,
    max_limit: Option<serde_json::Number>,
    values_list: Option<String>,
    supports_monitoring: bool,
}

/// An optional text, bounded by the type it goes into.
fn text<const N: usize>(field: &str, s: Option<String>) -> Result<Option<Text<N>>, String> {
    s.map(|s| Text::<N>::parse(s).map_err(|e| format!("{field} {e}")))
        .transpose()
}

fn name(field: &str, s: String) -> Result<Name, String> {
    Name::parse(s).map_err(|e| format!("{field} {e}"))
}

fn id(field: &str, n: i64) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{field} {n} is not an id (0 ..= {})", u32::MAX))
}

pub fn component_ref(c: WireComponent) -> Result<ComponentRef, String> {
    let (evse_id, connector_id) = match c.evse {
        None => (None, None),
        Some(e) => (
            Some(id("component.evse.id", e.id)?),
            e.connector_id
                .map(|c| id("component.evse.connectorId", c))
                .transpose()?,
        ),
    };
    Ok(ComponentRef {
        name: name("component.name", c.name)?,
        instance: text("component.instance", c.instance)?,
        evse_id,
        connector_id,
    })
}

pub fn variable_ref(v: WireVariable) -> Result<VariableRef, String> {
    Ok(VariableRef {
        name: name("variable.name", v.name)?,
        instance: text("variable.instance", v.instance)?,
    })
}

fn attribute(a: WireAttribute) -> Result<VariableAttribute, String> {
    let kind = match a.kind.as_deref() {
        None => AttributeType::Actual,
        Some(k) => AttributeType::parse(k).ok_or_else(|| format!("type {k:?} is unknown"))?,
    };
    let mutability = match a.mutability.as_deref() {
        None => Mutability::ReadWrite,
        Some(m) => Mutability::parse(m).ok_or_else(|| format!("mutability {m:?} is unknown"))?,
    };
    Ok(VariableAttribute {
        kind,
        value: text("value", a.value)?,
        mutability,
        persistent: a.persistent,
        constant: a.constant,
    })
}

fn characteristics(c: WireCharacteristics) -> Result<Characteristics, String> {
    let limit = |field: &str, n: Option<serde_json::Number>| {
        n.map(|n| decimal_from_json(&n).ok_or_else(|| format!("{field} {n} is out of range")))
            .transpose()
    };
    Ok(Characteristics {
        unit: text("unit", c.unit)?,
        data_type: DataType::parse(&c.data_type)
            .ok_or_else(|| format!("dataType {:?} is unknown", c.data_type))?,
        min_limit: limit("minLimit", c.min_limit)?,
        max_limit: limit("maxLimit", c.max_limit)?,
        values_list: text("valuesList", c.values_list)?,
        supports_monitoring: c.supports_monitoring,
    })
}

fn variable(entry: Value) -> Result<DeviceVariable, String> {
    let d: ReportData = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    DeviceVariable::new(
        component_ref(d.component)?,
        variable_ref(d.variable)?,
        d.variable_attribute
            .into_iter()
            .map(attribute)
            .collect::<Result<_, _>>()?,
        d.variable_characteristics
            .map(characteristics)
            .transpose()?,
    )
}

pub(super) async fn handle<S: ChargingStore + ?Sized>(
    svc: &ChargerService<S>,
    conn: &Connection,
    payload: Value,
    now: Timestamp,
) -> Result<Option<Value>, HandlerError> {
    let req: Request = crate::charger::decode(payload.clone())?;
    let seq_no = u32::try_from(req.seq_no)
        .map_err(|_| HandlerError::Invalid(format!("seqNo {} is not 0 or more", req.seq_no)))?;
    let mut dropped = Dropped::default();
    let generated_at = charger_time("generatedAt", &req.generated_at, now, &mut dropped);
    let mut variables = Vec::with_capacity(req.report_data.len());
    for (i, entry) in req.report_data.into_iter().enumerate() {
        let shown = serde_json::to_string(&entry).unwrap_or_default();
        match variable(entry) {
            Ok(v) => variables.push(v),
            Err(why) => dropped.note(&format!("reportData/{i}"), &shown, &why),
        }
    }
    let part = ReportPart {
        station_id: conn.station_id.clone(),
        request_id: req.request_id,
        seq_no,
        generated_at: generated_at.unwrap_or(now),
        received_at: now,
        tbc: req.tbc,
        variables,
    };
    crate::device_model::receive_part(&**svc.store(), part, now).await?;
    svc.note_dropped(conn, "NotifyReport", dropped, now).await;
    notify(svc, conn, NotificationKind::Report, payload, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_becomes_a_variable_with_the_ocpp_defaults() {
        let v = variable(json!({
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 2}},
            "variable": {"name": "Available"},
            "variableAttribute": [{"value": "true"}, {"type": "Target", "value": "false", "mutability": "ReadOnly", "constant": true}],
            "variableCharacteristics": {"dataType": "boolean", "supportsMonitoring": false, "unit": "W", "minLimit": 0, "maxLimit": 22.5}
        }))
        .unwrap();
        assert_eq!(v.component.evse_id, Some(1));
        assert_eq!(v.component.connector_id, Some(2));
        assert_eq!(v.attributes[0].kind, AttributeType::Actual);
        assert_eq!(v.attributes[0].mutability, Mutability::ReadWrite);
        assert_eq!(v.attributes[1].mutability, Mutability::ReadOnly);
        assert!(v.attributes[1].constant);
        let c = v.characteristics.unwrap();
        assert_eq!(c.max_limit, Some(rust_decimal::Decimal::new(225, 1)));
        assert_eq!(c.data_type, DataType::Boolean);
    }

    #[test]
    fn what_cannot_be_a_variable_says_why() {
        let base = |attrs: Value, evse: Value| {
            json!({"component": {"name": "EVSE", "evse": evse}, "variable": {"name": "Power"},
                   "variableAttribute": attrs})
        };
        let e = variable(base(
            json!([{"value": "1"}, {"type": "Actual"}]),
            json!({"id": 1}),
        ));
        assert!(e.unwrap_err().contains("two Actual"));
        let e = variable(base(json!([{"value": "1"}]), json!({"id": -1})));
        assert!(e.unwrap_err().contains("component.evse.id -1"));
        let e = variable(base(
            json!([{"value": "1"}]),
            json!({"id": 1, "connectorId": 5_000_000_000_i64}),
        ));
        assert!(e.unwrap_err().contains("connectorId"));
        let e = variable(
            json!({"component": {"name": ""}, "variable": {"name": "X"}, "variableAttribute": [{}]}),
        );
        assert!(e.unwrap_err().contains("component.name is empty"));
        let long = "v".repeat(2501);
        let e = variable(base(json!([{"value": long}]), json!({"id": 1})));
        assert!(e.unwrap_err().contains("value is 2501 characters"));
    }
}
