//! The device model of an OCPP 2.0.1 station: its components (the station,
//! EVSEs, connectors, controllers …) and their variables, with the values and
//! characteristics the station reported in `NotifyReport`.
//!
//! A report arrives in parts (`seqNo`, `tbc`); each part is kept as a
//! [`ReportPart`] until the last one, and only then do the parts become the
//! station's [`DeviceModel`], replacing the previous one whole. Until then
//! the previous model stays readable.
//!
//! Every text is bounded as the OCPP 2.0.1 schema bounds it ([`Text`]), also
//! when read back from a store, so a record cannot grow a field past what a
//! charger may send.

use crate::{StationId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many variables are kept per station; a report with more keeps
/// the first ones (in component, variable order) and counts the rest.
pub const MAX_VARIABLES: usize = 5000;

/// A non-empty text of at most `MAX` characters (the OCPP schema's
/// `maxLength`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        let n = s.chars().count();
        if n == 0 {
            return Err("is empty".into());
        }
        if n > MAX {
            return Err(format!("is {n} characters long, at most {MAX} allowed"));
        }
        Ok(Text(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> TryFrom<String> for Text<MAX> {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl<const MAX: usize> From<Text<MAX>> for String {
    fn from(t: Text<MAX>) -> String {
        t.0
    }
}

impl<const MAX: usize> std::fmt::Display for Text<MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Component and variable names and instances (`identifierString`, 50).
pub type Name = Text<50>;
/// An attribute's value (`attributeValue`, 2500).
pub type AttributeValue = Text<2500>;
/// A variable's unit (`unit`, 16).
pub type Unit = Text<16>;
/// The allowed values of a list variable (`valuesList`, 1000).
pub type ValuesList = Text<1000>;

/// Which component: name, instance, and the EVSE (and connector) it belongs
/// to, if any. Ordered by name first, so a model lists like a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRef {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<u32>,
    /// Only with an `evse_id` (OCPP nests the connector in the EVSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableRef {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttributeType {
    Actual,
    Target,
    MinSet,
    MaxSet,
}

impl AttributeType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Actual" => AttributeType::Actual,
            "Target" => AttributeType::Target,
            "MinSet" => AttributeType::MinSet,
            "MaxSet" => AttributeType::MaxSet,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mutability {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

impl Mutability {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ReadOnly" => Mutability::ReadOnly,
            "WriteOnly" => Mutability::WriteOnly,
            "ReadWrite" => Mutability::ReadWrite,
            _ => return None,
        })
    }
}

/// One attribute of a variable: its actual value, target, or limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableAttribute {
    #[serde(rename = "type")]
    pub kind: AttributeType,
    /// Absent for write-only variables (passwords) and unset values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<AttributeValue>,
    pub mutability: Mutability,
    pub persistent: bool,
    pub constant: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "decimal")]
    Decimal,
    #[serde(rename = "integer")]
    Integer,
    #[serde(rename = "dateTime")]
    DateTime,
    #[serde(rename = "boolean")]
    Boolean,
    OptionList,
    SequenceList,
    MemberList,
}

impl DataType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => DataType::String,
            "decimal" => DataType::Decimal,
            "integer" => DataType::Integer,
            "dateTime" => DataType::DateTime,
            "boolean" => DataType::Boolean,
            "OptionList" => DataType::OptionList,
            "SequenceList" => DataType::SequenceList,
            "MemberList" => DataType::MemberList,
            _ => return None,
        })
    }
}

/// What a variable can hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Characteristics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    pub data_type: DataType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_limit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_limit: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_list: Option<ValuesList>,
    pub supports_monitoring: bool,
}

/// A component's variable with its attributes (1 to 4, one per type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceVariable {
    pub component: ComponentRef,
    pub variable: VariableRef,
    pub attributes: Vec<VariableAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub characteristics: Option<Characteristics>,
}

impl DeviceVariable {
    /// Refuses what cannot be one variable: no attribute, or two of a type.
    pub fn new(
        component: ComponentRef,
        variable: VariableRef,
        mut attributes: Vec<VariableAttribute>,
        characteristics: Option<Characteristics>,
    ) -> Result<Self, String> {
        if attributes.is_empty() {
            return Err("no variableAttribute".into());
        }
        attributes.sort_by_key(|a| a.kind);
        if let Some(w) = attributes.windows(2).find(|w| w[0].kind == w[1].kind) {
            return Err(format!("two {:?} attributes", w[0].kind));
        }
        if let Some(c) = &characteristics {
            if let (Some(min), Some(max)) = (c.min_limit, c.max_limit) {
                if min > max {
                    return Err(format!("minLimit {min} is above maxLimit {max}"));
                }
            }
        }
        Ok(DeviceVariable {
            component,
            variable,
            attributes,
            characteristics,
        })
    }

    fn key(&self) -> (&ComponentRef, &VariableRef) {
        (&self.component, &self.variable)
    }
}

/// One `NotifyReport` of a report still being received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportPart {
    pub station_id: StationId,
    pub request_id: i32,
    pub seq_no: u32,
    pub generated_at: Timestamp,
    pub received_at: Timestamp,
    /// More parts follow.
    pub tbc: bool,
    pub variables: Vec<DeviceVariable>,
}

/// A station's device model: its last complete report, with the values
/// learnt since from Get/SetVariables answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceModel {
    pub station_id: StationId,
    /// The report's `requestId` (the CSMS's GetBaseReport, or the station's own).
    pub request_id: i32,
    /// The station's time of the report's first part.
    pub generated_at: Timestamp,
    /// When the report's last part arrived.
    pub received_at: Timestamp,
    /// When a value last changed (the report, or a variables answer).
    pub updated_at: Timestamp,
    /// Sorted by component, then variable; one entry per pair.
    pub variables: Vec<DeviceVariable>,
    /// Variables of the report beyond [`MAX_VARIABLES`], not kept.
    pub omitted: u32,
    pub version: u64,
}

impl DeviceModel {
    /// The model the parts of one report make, in `seq_no` order. A variable
    /// reported twice keeps its last report; beyond [`MAX_VARIABLES`] the
    /// rest is counted in `omitted`. `version` is left 0 for the caller.
    pub fn from_parts(mut parts: Vec<ReportPart>, received_at: Timestamp) -> Option<Self> {
        parts.sort_by_key(|p| p.seq_no);
        let first = parts.first()?;
        let (station_id, request_id, generated_at) = (
            first.station_id.clone(),
            first.request_id,
            first.generated_at,
        );
        let mut all: Vec<DeviceVariable> = parts.into_iter().flat_map(|p| p.variables).collect();
        // Stable sort, then keep the last of equal keys: the later report wins.
        all.sort_by(|a, b| a.key().cmp(&b.key()));
        let mut variables: Vec<DeviceVariable> = Vec::with_capacity(all.len());
        for v in all {
            match variables.last_mut() {
                Some(last) if last.key() == v.key() => *last = v,
                _ => variables.push(v),
            }
        }
        let omitted = variables.len().saturating_sub(MAX_VARIABLES);
        variables.truncate(MAX_VARIABLES);
        Some(DeviceModel {
            station_id,
            request_id,
            generated_at,
            received_at,
            updated_at: received_at,
            variables,
            omitted: u32::try_from(omitted).unwrap_or(u32::MAX),
            version: 0,
        })
    }

    /// Records `value` as the `kind` attribute of the variable, when the
    /// model has that variable. Returns whether anything changed.
    pub fn set_value(
        &mut self,
        component: &ComponentRef,
        variable: &VariableRef,
        kind: AttributeType,
        value: &AttributeValue,
    ) -> bool {
        let Ok(i) = self
            .variables
            .binary_search_by(|v| v.key().cmp(&(component, variable)))
        else {
            return false;
        };
        let attributes = &mut self.variables[i].attributes;
        match attributes.iter_mut().find(|a| a.kind == kind) {
            Some(a) if a.value.as_ref() == Some(value) => false,
            Some(a) => {
                a.value = Some(value.clone());
                true
            }
            None => {
                attributes.push(VariableAttribute {
                    kind,
                    value: Some(value.clone()),
                    mutability: Mutability::ReadWrite,
                    persistent: false,
                    constant: false,
                });
                attributes.sort_by_key(|a| a.kind);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn var(component: &str, evse: Option<u32>, variable: &str, value: &str) -> DeviceVariable {
        DeviceVariable::new(
            ComponentRef {
                name: name(component),
                instance: None,
                evse_id: evse,
                connector_id: None,
            },
            VariableRef {
                name: name(variable),
                instance: None,
            },
            vec![VariableAttribute {
                kind: AttributeType::Actual,
                value: Some(AttributeValue::parse(value).unwrap()),
                mutability: Mutability::ReadWrite,
                persistent: true,
                constant: false,
            }],
            None,
        )
        .unwrap()
    }

    fn part(seq_no: u32, variables: Vec<DeviceVariable>) -> ReportPart {
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .to_utc();
        ReportPart {
            station_id: StationId::parse("CP-1").unwrap(),
            request_id: 7,
            seq_no,
            generated_at: t + chrono::TimeDelta::seconds(i64::from(seq_no)),
            received_at: t,
            tbc: seq_no == 0,
            variables,
        }
    }

    #[test]
    fn text_is_bounded_also_when_decoded() {
        assert!(Name::parse("x".repeat(50)).is_ok());
        assert!(Name::parse("x".repeat(51))
            .unwrap_err()
            .contains("at most 50"));
        assert!(Name::parse("").is_err());
        assert!(serde_json::from_str::<Name>(&format!("{:?}", "y".repeat(51))).is_err());
        assert!(serde_json::from_str::<Unit>("\"kWh\"").is_ok());
    }

    #[test]
    fn a_variable_has_one_attribute_per_type() {
        let v = var("EVSE", Some(1), "Power", "1");
        let twice = vec![v.attributes[0].clone(), v.attributes[0].clone()];
        let e = DeviceVariable::new(v.component.clone(), v.variable.clone(), twice, None);
        assert!(e.unwrap_err().contains("two Actual"));
        let none = DeviceVariable::new(v.component.clone(), v.variable.clone(), vec![], None);
        assert!(none.is_err());
        let limits = Characteristics {
            unit: None,
            data_type: DataType::Integer,
            min_limit: Some(Decimal::TEN),
            max_limit: Some(Decimal::ONE),
            values_list: None,
            supports_monitoring: false,
        };
        let e = DeviceVariable::new(v.component, v.variable, v.attributes, Some(limits));
        assert!(e.unwrap_err().contains("minLimit"));
    }

    #[test]
    fn parts_make_one_sorted_model_where_later_reports_win() {
        let parts = vec![
            part(
                1,
                vec![var("OCPPCommCtrlr", None, "HeartbeatInterval", "60")],
            ),
            part(
                0,
                vec![
                    var("OCPPCommCtrlr", None, "HeartbeatInterval", "300"),
                    var("EVSE", Some(2), "Power", "22000"),
                    var("EVSE", Some(1), "Power", "11000"),
                ],
            ),
        ];
        let received = parts[0].received_at;
        let m = DeviceModel::from_parts(parts, received).unwrap();
        assert_eq!(m.request_id, 7);
        // The first part's time, whatever order the parts came in.
        assert_eq!(m.generated_at, received);
        let shown: Vec<_> = m
            .variables
            .iter()
            .map(|v| {
                (
                    v.component.name.as_str(),
                    v.component.evse_id,
                    v.attributes[0].value.as_ref().unwrap().as_str(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("EVSE", Some(1), "11000"),
                ("EVSE", Some(2), "22000"),
                ("OCPPCommCtrlr", None, "60")
            ]
        );
        assert_eq!(m.omitted, 0);
        assert!(DeviceModel::from_parts(vec![], received).is_none());
    }

    #[test]
    fn the_model_is_capped() {
        let many: Vec<_> = (0..MAX_VARIABLES + 3)
            .map(|i| var("Ctrlr", None, &format!("V{i:05}"), "1"))
            .collect();
        let p = part(0, many);
        let received = p.received_at;
        let m = DeviceModel::from_parts(vec![p], received).unwrap();
        assert_eq!(m.variables.len(), MAX_VARIABLES);
        assert_eq!(m.omitted, 3);
    }

    #[test]
    fn set_value_changes_a_known_variable_only() {
        let p = part(
            0,
            vec![var("OCPPCommCtrlr", None, "HeartbeatInterval", "300")],
        );
        let received = p.received_at;
        let mut m = DeviceModel::from_parts(vec![p], received).unwrap();
        let v = m.variables[0].clone();
        let new = AttributeValue::parse("120").unwrap();
        assert!(m.set_value(&v.component, &v.variable, AttributeType::Actual, &new));
        assert!(!m.set_value(&v.component, &v.variable, AttributeType::Actual, &new));
        assert_eq!(m.variables[0].attributes[0].value, Some(new.clone()));
        assert!(m.set_value(&v.component, &v.variable, AttributeType::Target, &new));
        assert_eq!(m.variables[0].attributes.len(), 2);
        let other = VariableRef {
            name: name("Nope"),
            instance: None,
        };
        assert!(!m.set_value(&v.component, &other, AttributeType::Actual, &new));
    }
}
