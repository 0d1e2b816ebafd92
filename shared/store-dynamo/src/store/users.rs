//! [`DynamoStore`]'s people: users, their e-mail addresses and memberships,
//! and their signed-in sessions.
//!
//! # Layout
//! Users and sessions are kept whole as JSON in `body` through their stored
//! form (`csms-store-records`); a user has `version` next to it.
//!
//! | item        | PK                   | SK            | GSI1PK / GSI1SK                    | other |
//! |-------------|----------------------|---------------|------------------------------------|-------|
//! | user        | `USER#{id}`          | `META`        |                                    | `body`, `version` |
//! | address     | `USEREMAIL#{email}`  | `META`        |                                    | `userId` |
//! | membership  | `USER#{id}`          | `MEMBER#{org}`| `ORG#{org}#USER` / `{id}`          | `body` (the user), `version` |
//! | session     | `USESSION#{sha256}`  | `META`        | `USER#{id}#USESSION` / `{sha256}`  | `body`, `ttl` (absolute expiry) |
//!
//! Every write of a user is one `TransactWriteItems`: the user under its
//! version condition, its address claimed on the condition that nobody has
//! it (a taken address cancels the whole write: a `Conflict`, nothing
//! half-written), the address it leaves deleted, and a membership item per
//! organisation, carrying the user whole so an organisation's members are
//! one `Query` of its GSI1 partition. Signing in reads the address, then the
//! user (two `GetItem`s); a request with a session cookie reads the session
//! and the user. Signing out everywhere is a `Query` of the user's sessions
//! on GSI1 and a `DeleteItem` each. No `Scan` anywhere.

use super::table::{
    epoch, json_item, org_partition, record_from, s, set_key, versioned_item, Condition,
    ConditionFailed, Index, Query, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, TransactWriteItem};
use csms_domain::user::{User, UserEmail, UserId, UserSession};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{Page, PageRequest, StoreError, StoreResult, UserSessionStore, UserStore};
use csms_store_records::Record;

fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}

fn email_pk(email: &UserEmail) -> String {
    format!("USEREMAIL#{email}")
}

fn member_sk(org: &OrgId) -> String {
    format!("MEMBER#{org}")
}

fn session_pk(hash: &str) -> String {
    format!("USESSION#{hash}")
}

fn user_sessions_partition(id: &UserId) -> String {
    format!("USER#{id}#USESSION")
}

fn user_item(user: &User) -> StoreResult<Key> {
    versioned_item(
        user_pk(&user.id),
        META,
        &user.to_stored(),
        user.version,
        "user",
    )
}

fn email_item(user: &User) -> Key {
    let mut item = Key::new();
    set_key(&mut item, Index::Table, email_pk(&user.email), META);
    item.insert("userId".into(), s(user.id.as_str()));
    item
}

fn membership_item(user: &User, org: &OrgId) -> StoreResult<Key> {
    let mut item = versioned_item(
        user_pk(&user.id),
        member_sk(org),
        &user.to_stored(),
        user.version,
        "user",
    )?;
    set_key(
        &mut item,
        Index::Gsi1,
        org_partition(org, "USER"),
        user.id.as_str(),
    );
    Ok(item)
}

fn session_item(session: &UserSession) -> StoreResult<Key> {
    let mut item = json_item(
        session_pk(&session.id_hash),
        META,
        &session.to_stored(),
        "user session",
    )?;
    item.insert("ttl".into(), epoch(session.expires_at));
    set_key(
        &mut item,
        Index::Gsi1,
        user_sessions_partition(&session.user_id),
        session.id_hash.as_str(),
    );
    Ok(item)
}

/// Any item's condition failed: a taken address or a changed version.
fn any_condition_failed(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|r| r.code() == Some("ConditionalCheckFailed"))
}

impl DynamoStore {
    /// The transaction writing `user` over `before` (`None`: a new user).
    fn user_writes(
        &self,
        user: &User,
        before: Option<&User>,
        expected_version: u64,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let mut items = vec![self.transact_put(
            user_item(user)?,
            Some(Condition::expecting(expected_version)),
        )?];
        let old_email = before.map(|b| &b.email);
        if old_email != Some(&user.email) {
            items.push(self.transact_put(email_item(user), Some(Condition::absent()))?);
            if let Some(old) = old_email {
                items.push(self.transact_delete(email_pk(old), META, None)?);
            }
        }
        for m in &user.memberships {
            items.push(self.transact_put(membership_item(user, &m.org_id)?, None)?);
        }
        for old in before.map(|b| b.memberships.as_slice()).unwrap_or_default() {
            if user.role_in(&old.org_id).is_none() {
                items.push(self.transact_delete(
                    user_pk(&user.id),
                    member_sk(&old.org_id),
                    None,
                )?);
            }
        }
        Ok(items)
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let items = self.user_writes(user, None, 0)?;
        self.transact(items, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| {
                StoreError::Conflict(format!(
                    "user {} exists or e-mail address {} is taken",
                    user.id, user.email
                ))
            })
    }

    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.get_as(user_pk(id), META, record_from).await
    }

    async fn find_user_by_email(&self, email: &UserEmail) -> StoreResult<Option<User>> {
        let Some(item) = self.get(email_pk(email), META).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = item.get("userId") else {
            return Ok(None);
        };
        match UserId::parse(id.as_str()) {
            Ok(id) => self.get_user(&id).await,
            Err(_) => Ok(None),
        }
    }

    async fn put_user(&self, user: &User, expected_version: u64) -> StoreResult<()> {
        let conflict = || {
            StoreError::Conflict(format!(
                "user {} is not at version {expected_version}, or e-mail address {} is taken",
                user.id, user.email
            ))
        };
        let Some(before) = self.get_user(&user.id).await? else {
            return Err(conflict());
        };
        if before.version != expected_version {
            return Err(conflict());
        }
        let items = self.user_writes(user, Some(&before), expected_version)?;
        self.transact(items, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| conflict())
    }

    async fn list_users(&self, org: &OrgId, page: &PageRequest) -> StoreResult<Page<User>> {
        let query = Query::index(Index::Gsi1, org_partition(org, "USER"));
        self.page_of(org, &query, page, record_from).await
    }

    async fn delete_user(&self, id: &UserId, expected_version: u64) -> StoreResult<bool> {
        let Some(stored) = self.get_user(id).await? else {
            return Ok(false);
        };
        let conflict =
            || StoreError::Conflict(format!("user {id} is not at version {expected_version}"));
        if stored.version != expected_version {
            return Err(conflict());
        }
        let mut items = vec![
            self.transact_delete(
                user_pk(id),
                META,
                Some(Condition::version(expected_version)),
            )?,
            self.transact_delete(email_pk(&stored.email), META, None)?,
        ];
        for m in &stored.memberships {
            items.push(self.transact_delete(user_pk(id), member_sk(&m.org_id), None)?);
        }
        self.transact(items, any_condition_failed)
            .await?
            .map_err(|ConditionFailed| conflict())?;
        Ok(true)
    }
}

#[async_trait]
impl UserSessionStore for DynamoStore {
    async fn create_user_session(&self, session: &UserSession) -> StoreResult<()> {
        self.put_fresh(session_item(session)?, "the session".into())
            .await
    }

    async fn get_user_session(&self, id_hash: &str) -> StoreResult<Option<UserSession>> {
        self.get_as(session_pk(id_hash), META, record_from).await
    }

    /// Rewrites the session with the new time, on the condition that it
    /// still exists (a touch racing a sign-out does not bring it back).
    async fn touch_user_session(
        &self,
        id_hash: &str,
        last_seen_at: Timestamp,
    ) -> StoreResult<bool> {
        let Some(mut session) = self.get_user_session(id_hash).await? else {
            return Ok(false);
        };
        session.last_seen_at = last_seen_at;
        match self
            .put_if(session_item(&session)?, Condition::exists())
            .await?
        {
            Ok(()) => Ok(true),
            Err(ConditionFailed) => Ok(false),
        }
    }

    async fn delete_user_session(&self, id_hash: &str) -> StoreResult<bool> {
        Ok(self.delete(session_pk(id_hash), META).await?.is_some())
    }

    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<usize> {
        let query = Query::index(Index::Gsi1, user_sessions_partition(user)).only("PK");
        let items = self.query_all(&query).await?;
        let mut deleted = 0;
        for item in items {
            if let Some(AttributeValue::S(pk)) = item.get("PK") {
                if self.delete(pk.clone(), META).await?.is_some() {
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn users_and_sessions_hold_the_golden_json_and_read_back() {
        for (user, line) in golden::<User>("users.jsonl") {
            let item = user_item(&user).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("USER#{}", user.id)));
            assert_eq!(record_from::<User>(item).unwrap(), user);
            for m in &user.memberships {
                let member = membership_item(&user, &m.org_id).unwrap();
                assert_eq!(member["body"], s(&line));
                assert_eq!(member["SK"], s(format!("MEMBER#{}", m.org_id)));
                assert_eq!(member["GSI1PK"], s(format!("ORG#{}#USER", m.org_id)));
                assert_eq!(member["GSI1SK"], s(user.id.as_str()));
            }
            assert_eq!(
                email_item(&user)["PK"],
                s(format!("USEREMAIL#{}", user.email))
            );
        }
        for (session, line) in golden::<UserSession>("user_sessions.jsonl") {
            let item = session_item(&session).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(item["PK"], s(format!("USESSION#{}", session.id_hash)));
            assert_eq!(item["ttl"], epoch(session.expires_at));
            assert_eq!(
                item["GSI1PK"],
                s(format!("USER#{}#USESSION", session.user_id))
            );
            assert_eq!(record_from::<UserSession>(item).unwrap(), session);
        }
    }
}
