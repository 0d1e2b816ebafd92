//! Who acts: the caller a use case works for, checked by the services
//! themselves (a station, session or command of another organisation is
//! answered like one that does not exist), and named in audit records.

use crate::user::UserId;
use crate::OrgId;

/// The caller of a use case: the organisation it acts in and who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Every record a use case reads or changes for this actor must be of
    /// this organisation.
    pub org_id: OrgId,
    pub by: ActedBy,
}

/// Who is behind an [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActedBy {
    /// The operator's configured admin key (the platform admin), acting in
    /// `org_id`.
    PlatformAdmin,
    /// A partner API key, by its id.
    ApiKey(String),
    /// A signed-in person, by id.
    User(UserId),
    /// The CSMS itself (load balancing, approval follow-ups), on behalf of
    /// `org_id`'s own configuration.
    System,
}

impl Actor {
    pub fn new(org_id: OrgId, by: ActedBy) -> Self {
        Actor { org_id, by }
    }

    /// The CSMS acting for `org_id`.
    pub fn system(org_id: OrgId) -> Self {
        Actor::new(org_id, ActedBy::System)
    }

    /// Whether a record of `org` is visible to this actor.
    pub fn owns(&self, org: &OrgId) -> bool {
        &self.org_id == org
    }

    /// How audit records name the actor: `admin`, the key id, `user:{id}`,
    /// or `system`.
    pub fn audit_name(&self) -> String {
        match &self.by {
            ActedBy::PlatformAdmin => "admin".to_owned(),
            ActedBy::ApiKey(id) => id.clone(),
            ActedBy::User(id) => format!("user:{id}"),
            ActedBy::System => "system".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_only_its_organisation() {
        let a = OrgId::parse("a").unwrap();
        let b = OrgId::parse("b").unwrap();
        let actor = Actor::new(a.clone(), ActedBy::ApiKey("k1".into()));
        assert!(actor.owns(&a));
        assert!(!actor.owns(&b));
        assert_eq!(actor.audit_name(), "k1");
        assert_eq!(Actor::new(b, ActedBy::PlatformAdmin).audit_name(), "admin");
        assert_eq!(Actor::system(a.clone()).audit_name(), "system");
        let user = crate::user::UserId::generate();
        assert_eq!(
            Actor::new(a, ActedBy::User(user.clone())).audit_name(),
            format!("user:{user}")
        );
    }
}
