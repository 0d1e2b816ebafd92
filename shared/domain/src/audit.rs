//! The audit log: who (a user, an API key, the platform admin) changed what
//! in an organisation, and when. One entry per write through the API that
//! succeeded; what was sent is named by its fields, never by its values
//! (a body may carry a password or a key).

use crate::{OrgId, Timestamp};

/// One change made in an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub org_id: OrgId,
    pub at: Timestamp,
    /// Who: [`crate::actor::Actor::audit_name`] (`admin`, a key id, …).
    pub actor: String,
    /// The operation as declared: method and route, `PATCH /stations/{id}`.
    pub operation: String,
    /// The path as called, with the ids of what changed.
    pub path: String,
    /// The top-level fields of the request body, sorted, without values.
    pub fields: Vec<String>,
    /// The HTTP status the change was answered with.
    pub status: u16,
}

impl AuditEntry {
    pub const MAX_ACTOR: usize = 128;
    pub const MAX_OPERATION: usize = 200;
    pub const MAX_PATH: usize = 512;
    pub const MAX_FIELDS: usize = 32;
    pub const MAX_FIELD: usize = 64;

    /// An entry with every text cut to its bound (at a character boundary,
    /// marked with `…`) and the fields sorted, deduplicated and bounded, so
    /// whatever a caller sent can be stored and read back.
    pub fn new(
        org_id: OrgId,
        at: Timestamp,
        actor: &str,
        operation: &str,
        path: &str,
        fields: impl IntoIterator<Item = String>,
        status: u16,
    ) -> Self {
        let mut fields: Vec<String> = fields
            .into_iter()
            .map(|f| bounded(&f, Self::MAX_FIELD))
            .collect();
        fields.sort();
        fields.dedup();
        fields.truncate(Self::MAX_FIELDS);
        AuditEntry {
            org_id,
            at,
            actor: bounded(actor, Self::MAX_ACTOR),
            operation: bounded(operation, Self::MAX_OPERATION),
            path: bounded(path, Self::MAX_PATH),
            fields,
            status,
        }
    }
}

/// `s` cut to at most `max` characters, the last one `…` when cut; control
/// characters become `?` (an entry is read by people, in a terminal too).
fn bounded(s: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { '?' } else { c };
    if s.chars().count() <= max {
        return s.chars().map(clean).collect();
    }
    let mut out: String = s.chars().take(max - 1).map(clean).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_fields_are_bounded() {
        let long = "é".repeat(600);
        let e = AuditEntry::new(
            OrgId::default_org(),
            Timestamp::UNIX_EPOCH,
            "k\n1",
            "PATCH /stations/{id}",
            &format!("/api/v1/stations/{long}"),
            (0..40)
                .map(|i| format!("f{i:02}"))
                .chain(["f01".to_owned(), "x".repeat(100)]),
            200,
        );
        assert_eq!(e.actor, "k?1");
        assert_eq!(e.path.chars().count(), AuditEntry::MAX_PATH);
        assert!(e.path.ends_with('…'));
        assert_eq!(e.fields.len(), AuditEntry::MAX_FIELDS);
        assert_eq!(e.fields[0], "f00");
        assert_eq!(e.fields[1], "f01");
        assert_eq!(e.fields[2], "f02");
    }
}
