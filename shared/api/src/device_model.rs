//! A 2.0.1 station's device model: the components and variables of its last
//! complete report (`NotifyReport`), with the values Get/SetVariables
//! answers confirmed since.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::openapi::ErrorBody;
use crate::util::{time, Params};
use crate::ApiState;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use csms_domain::device_model::{
    AttributeType, Characteristics, DataType, DeviceModel, DeviceVariable, Mutability, Name,
    VariableAttribute,
};
use csms_kernel::views::dec;
use serde::Serialize;
use utoipa::ToSchema;

/// The device model, grouped by component.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceModelView {
    pub station_id: String,
    /// The report's `requestId`: the CSMS's GetBaseReport (sent at every
    /// boot and by a `getConfiguration` command without keys) or the
    /// station's own.
    pub request_id: i32,
    /// The station's time of the report.
    pub generated_at: String,
    /// When the report's last part arrived.
    pub received_at: String,
    /// When a value last changed (the report, or a variables answer).
    pub updated_at: String,
    /// Variables shown (after the filters).
    pub variable_count: usize,
    /// Variables of the report beyond the 5000 kept per station.
    pub omitted: u32,
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentView {
    pub name: String,
    pub instance: Option<String>,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub variables: Vec<VariableView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableView {
    pub name: String,
    pub instance: Option<String>,
    /// One per type (`Actual`, `Target`, `MinSet`, `MaxSet`).
    pub attributes: Vec<AttributeView>,
    pub characteristics: Option<CharacteristicsView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeView {
    /// `Actual`, `Target`, `MinSet` or `MaxSet`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `null` for write-only variables and unset values.
    pub value: Option<String>,
    /// `ReadOnly`, `WriteOnly` or `ReadWrite`.
    pub mutability: String,
    pub persistent: bool,
    pub constant: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CharacteristicsView {
    pub unit: Option<String>,
    /// `string`, `decimal`, `integer`, `dateTime`, `boolean`, `OptionList`,
    /// `SequenceList` or `MemberList`.
    pub data_type: String,
    /// Decimal string.
    pub min_limit: Option<String>,
    /// Decimal string.
    pub max_limit: Option<String>,
    /// Comma-separated allowed values of list types.
    pub values_list: Option<String>,
    pub supports_monitoring: bool,
}

fn kind(k: AttributeType) -> &'static str {
    match k {
        AttributeType::Actual => "Actual",
        AttributeType::Target => "Target",
        AttributeType::MinSet => "MinSet",
        AttributeType::MaxSet => "MaxSet",
    }
}

fn mutability(m: Mutability) -> &'static str {
    match m {
        Mutability::ReadOnly => "ReadOnly",
        Mutability::WriteOnly => "WriteOnly",
        Mutability::ReadWrite => "ReadWrite",
    }
}

fn data_type(d: DataType) -> &'static str {
    match d {
        DataType::String => "string",
        DataType::Decimal => "decimal",
        DataType::Integer => "integer",
        DataType::DateTime => "dateTime",
        DataType::Boolean => "boolean",
        DataType::OptionList => "OptionList",
        DataType::SequenceList => "SequenceList",
        DataType::MemberList => "MemberList",
    }
}

fn text(t: &Option<Name>) -> Option<String> {
    t.as_ref().map(|t| t.as_str().to_owned())
}

impl From<&VariableAttribute> for AttributeView {
    fn from(a: &VariableAttribute) -> Self {
        AttributeView {
            kind: kind(a.kind).into(),
            value: a.value.as_ref().map(|v| v.as_str().to_owned()),
            mutability: mutability(a.mutability).into(),
            persistent: a.persistent,
            constant: a.constant,
        }
    }
}

impl From<&Characteristics> for CharacteristicsView {
    fn from(c: &Characteristics) -> Self {
        CharacteristicsView {
            unit: c.unit.as_ref().map(|u| u.as_str().to_owned()),
            data_type: data_type(c.data_type).into(),
            min_limit: c.min_limit.map(dec),
            max_limit: c.max_limit.map(dec),
            values_list: c.values_list.as_ref().map(|v| v.as_str().to_owned()),
            supports_monitoring: c.supports_monitoring,
        }
    }
}

impl From<&DeviceVariable> for VariableView {
    fn from(v: &DeviceVariable) -> Self {
        VariableView {
            name: v.variable.name.as_str().to_owned(),
            instance: text(&v.variable.instance),
            attributes: v.attributes.iter().map(AttributeView::from).collect(),
            characteristics: v.characteristics.as_ref().map(CharacteristicsView::from),
        }
    }
}

/// The model's variables that pass `keep`, grouped by component (the
/// model is sorted by component, so a group is a run).
fn view(model: &DeviceModel, keep: impl Fn(&DeviceVariable) -> bool) -> DeviceModelView {
    let mut components: Vec<ComponentView> = Vec::new();
    let mut last = None;
    let mut count = 0;
    for v in model.variables.iter().filter(|v| keep(v)) {
        count += 1;
        if last != Some(&v.component) {
            components.push(ComponentView {
                name: v.component.name.as_str().to_owned(),
                instance: text(&v.component.instance),
                evse_id: v.component.evse_id,
                connector_id: v.component.connector_id,
                variables: Vec::new(),
            });
            last = Some(&v.component);
        }
        if let Some(c) = components.last_mut() {
            c.variables.push(VariableView::from(v));
        }
    }
    DeviceModelView {
        station_id: model.station_id.to_string(),
        request_id: model.request_id,
        generated_at: time(model.generated_at),
        received_at: time(model.received_at),
        updated_at: time(model.updated_at),
        variable_count: count,
        omitted: model.omitted,
        components,
    }
}

/// A name filter: OCPP names compare without regard to case.
fn filter(params: &Params, field: &str) -> Result<Option<Name>, ApiError> {
    params
        .get(field)
        .map(|s| Name::parse(s.as_str()).map_err(|e| ApiError::BadRequest(format!("{field}: {e}"))))
        .transpose()
}

fn same(a: &Name, b: &Name) -> bool {
    a.as_str().eq_ignore_ascii_case(b.as_str())
}

/// The station's device model (2.0.1): every component with its variables,
/// their attributes and characteristics.
#[utoipa::path(get, path = "/stations/{id}/device-model", operation_id = "getStationDeviceModel", tag = "stations", summary = "The 2.0.1 station's device model (components and variables), from its last complete report", params(("id" = String, Path, description = "Station id"), ("component" = Option<String>, Query, max_length = 50, description = "Only this component (name, any case)"), ("variable" = Option<String>, Query, max_length = 50, description = "Only this variable (name, any case)")), responses((status = 200, body = DeviceModelView), (status = 400, description = "Invalid input; the message says what is wrong", body = ErrorBody), (status = 401, description = "Missing or invalid API key", body = ErrorBody), (status = 403, description = "The key lacks the scope", body = ErrorBody), (status = 404, description = "No such station, or it has sent no complete report yet", body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<DeviceModelView>, ApiError> {
    let component = filter(&params, "component")?;
    let variable = filter(&params, "variable")?;
    let sid = crate::stations::own_station(&state, &who, &id).await?.id;
    let model = state.store.get_device_model(&sid).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "station {id:?} has sent no complete device report yet (2.0.1 stations send one after each boot)"
        ))
    })?;
    Ok(Json(view(&model, |v| {
        component
            .as_ref()
            .is_none_or(|c| same(c, &v.component.name))
            && variable.as_ref().is_none_or(|n| same(n, &v.variable.name))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::device_model::{AttributeValue, ComponentRef, ReportPart, VariableRef};

    fn var(component: &str, evse: Option<u32>, variable: &str) -> DeviceVariable {
        DeviceVariable::new(
            ComponentRef {
                name: Name::parse(component).unwrap(),
                instance: None,
                evse_id: evse,
                connector_id: None,
            },
            VariableRef {
                name: Name::parse(variable).unwrap(),
                instance: None,
            },
            vec![VariableAttribute {
                kind: AttributeType::Target,
                value: Some(AttributeValue::parse("7").unwrap()),
                mutability: Mutability::ReadOnly,
                persistent: false,
                constant: true,
            }],
            None,
        )
        .unwrap()
    }

    fn model() -> DeviceModel {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let part = ReportPart {
            station_id: csms_domain::StationId::parse("CP-1").unwrap(),
            request_id: 42,
            seq_no: 0,
            generated_at: at,
            received_at: at,
            tbc: false,
            variables: vec![
                var("EVSE", Some(1), "Power"),
                var("EVSE", Some(1), "AvailabilityState"),
                var("EVSE", Some(2), "Power"),
                var("OCPPCommCtrlr", None, "HeartbeatInterval"),
            ],
        };
        DeviceModel::from_parts(vec![part], at).unwrap()
    }

    #[test]
    fn variables_are_grouped_by_component() {
        let v = view(&model(), |_| true);
        assert_eq!(v.request_id, 42);
        assert_eq!(v.variable_count, 4);
        let shape: Vec<(&str, Option<u32>, usize)> = v
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.evse_id, c.variables.len()))
            .collect();
        assert_eq!(
            shape,
            [
                ("EVSE", Some(1), 2),
                ("EVSE", Some(2), 1),
                ("OCPPCommCtrlr", None, 1)
            ]
        );
        let json = serde_json::to_value(&v).unwrap();
        let attr = &json["components"][0]["variables"][0]["attributes"][0];
        assert_eq!(attr["type"], "Target");
        assert_eq!(attr["mutability"], "ReadOnly");
        assert_eq!(json["receivedAt"], "2026-03-01T10:00:00.000Z");
    }

    #[test]
    fn filters_compare_names_without_case() {
        let m = model();
        let mut params = Params::new();
        params.insert("variable".into(), "power".into());
        let variable = filter(&params, "variable").unwrap().unwrap();
        let v = view(&m, |x| same(&variable, &x.variable.name));
        assert_eq!(v.variable_count, 2);
        assert_eq!(v.components.len(), 2);
        params.insert("component".into(), "x".repeat(51));
        assert!(filter(&params, "component").is_err());
    }
}
