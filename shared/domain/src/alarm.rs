//! Alarms: conditions an operator must look at (tomorrow's spot prices are
//! missing, …). An alarm is raised once per condition (its id is derived
//! from the condition, so raising it again changes nothing) and resolved when
//! the condition clears.

use crate::{OrgId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// Derived from the condition, e.g. `spot-missing:SE3:2026-11-24`.
    pub id: String,
    /// Platform-wide alarms (spot prices) belong to the default organisation.
    pub org_id: OrgId,
    /// Machine-readable kind, e.g. `spotPricesMissing`.
    pub kind: String,
    pub severity: Severity,
    pub message: String,
    pub details: serde_json::Value,
    pub raised_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub version: u64,
}

impl Alarm {
    pub fn is_active(&self) -> bool {
        self.resolved_at.is_none()
    }
}
