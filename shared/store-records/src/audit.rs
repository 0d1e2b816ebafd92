//! Audit log entries as stored: a [`StoredAuditEntry`], snake-case names,
//! the request's fields as a list of names.

use crate::{parse, DecodeError, Record};
use chrono::{DateTime, Utc};
use csms_domain::audit::AuditEntry;
use csms_domain::OrgId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAuditEntry {
    #[serde(rename = "org_id")]
    pub org_id: String,
    #[serde(rename = "at")]
    pub at: DateTime<Utc>,
    #[serde(rename = "actor")]
    pub actor: String,
    #[serde(rename = "operation")]
    pub operation: String,
    #[serde(rename = "path")]
    pub path: String,
    #[serde(rename = "fields", default)]
    pub fields: Vec<String>,
    #[serde(rename = "status")]
    pub status: u16,
}

impl From<&AuditEntry> for StoredAuditEntry {
    fn from(e: &AuditEntry) -> Self {
        let AuditEntry {
            org_id,
            at,
            actor,
            operation,
            path,
            fields,
            status,
        } = e;
        StoredAuditEntry {
            org_id: org_id.as_str().to_owned(),
            at: *at,
            actor: actor.clone(),
            operation: operation.clone(),
            path: path.clone(),
            fields: fields.clone(),
            status: *status,
        }
    }
}

impl TryFrom<StoredAuditEntry> for AuditEntry {
    type Error = DecodeError;

    fn try_from(e: StoredAuditEntry) -> Result<Self, DecodeError> {
        let StoredAuditEntry {
            org_id,
            at,
            actor,
            operation,
            path,
            fields,
            status,
        } = e;
        Ok(AuditEntry {
            org_id: parse("organisation id", org_id, OrgId::parse)?,
            at,
            actor,
            operation,
            path,
            fields,
            status,
        })
    }
}

impl Record for AuditEntry {
    type Stored = StoredAuditEntry;
}
