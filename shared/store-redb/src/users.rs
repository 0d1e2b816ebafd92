//! People and their signed-in sessions.
//!
//! A user's e-mail address is a key of [`USER_EMAILS`], written in the same
//! transaction as the user, so a taken address fails the whole write; each
//! membership is a key of [`USERS_BY_ORG`]. A session is kept by the hash of
//! its secret, and listed per user in [`USER_SESSIONS_BY_USER`] for signing
//! out everywhere.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::user::{User, UserEmail, UserId, UserSession};
use csms_domain::{OrgId, Timestamp};
use csms_kernel::ports::{Page, PageRequest};
use redb::{ReadableTable, WriteTransaction};

/// Claims `user`'s address and files their memberships; `before` is the
/// stored user being replaced (its address and memberships let go first).
fn index_user(txn: &WriteTransaction, user: &User, before: Option<&User>) -> R<()> {
    let mut emails = txn.open_table(USER_EMAILS)?;
    let mut by_org = txn.open_table(USERS_BY_ORG)?;
    if let Some(old) = before {
        emails.remove(old.email.as_str())?;
        for m in &old.memberships {
            by_org.remove(user_org_key(&m.org_id, &old.id)?.as_str())?;
        }
    }
    if let Some(owner) = emails.get(user.email.as_str())? {
        if owner.value() != user.id.as_str() {
            return Err(conflict(format!("e-mail address {} is taken", user.email)));
        }
    }
    emails.insert(user.email.as_str(), user.id.as_str())?;
    for m in &user.memberships {
        by_org.insert(
            user_org_key(&m.org_id, &user.id)?.as_str(),
            user.id.as_str(),
        )?;
    }
    Ok(())
}

impl Db {
    pub(crate) fn create_user(&self, user: &User) -> R<()> {
        self.write(|txn| {
            let mut users = txn.open_table(USERS)?;
            if users.get(user.id.as_str())?.is_some() {
                return Err(conflict(format!("user {} exists", user.id)));
            }
            put_record(&mut users, user.id.as_str(), user)?;
            index_user(txn, user, None)
        })
    }

    pub(crate) fn get_user(&self, id: &UserId) -> R<Option<User>> {
        self.read(|txn| get_record(&txn.open_table(USERS)?, id.as_str()))
    }

    pub(crate) fn find_user_by_email(&self, email: &UserEmail) -> R<Option<User>> {
        self.read(|txn| {
            let Some(id) = txn
                .open_table(USER_EMAILS)?
                .get(email.as_str())?
                .map(|g| g.value().to_owned())
            else {
                return Ok(None);
            };
            get_record(&txn.open_table(USERS)?, &id)
        })
    }

    pub(crate) fn put_user(&self, user: &User, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut users = txn.open_table(USERS)?;
            let stored = get_record::<User>(&users, user.id.as_str())?;
            check_version(
                "user",
                user.id.as_str(),
                stored.as_ref().map(|u| u.version),
                expected_version,
            )?;
            put_record(&mut users, user.id.as_str(), user)?;
            index_user(txn, user, stored.as_ref())
        })
    }

    pub(crate) fn list_users(&self, org: &OrgId, page: &PageRequest) -> R<Page<User>> {
        self.list_indexed_records(
            USERS_BY_ORG,
            USERS,
            org.as_str(),
            org,
            page,
            Order::Ascending,
        )
    }

    pub(crate) fn delete_user(&self, id: &UserId, expected_version: u64) -> R<bool> {
        self.write(|txn| {
            let mut users = txn.open_table(USERS)?;
            let Some(stored) = get_record::<User>(&users, id.as_str())? else {
                return Ok(false);
            };
            check_version("user", id.as_str(), Some(stored.version), expected_version)?;
            users.remove(id.as_str())?;
            txn.open_table(USER_EMAILS)?.remove(stored.email.as_str())?;
            let mut by_org = txn.open_table(USERS_BY_ORG)?;
            for m in &stored.memberships {
                by_org.remove(user_org_key(&m.org_id, id)?.as_str())?;
            }
            Ok(true)
        })
    }

    pub(crate) fn create_user_session(&self, session: &UserSession) -> R<()> {
        self.write(|txn| {
            let mut sessions = txn.open_table(USER_SESSIONS)?;
            if sessions.get(session.id_hash.as_str())?.is_some() {
                return Err(conflict("the session exists"));
            }
            put_record(&mut sessions, &session.id_hash, session)?;
            txn.open_table(USER_SESSIONS_BY_USER)?.insert(
                user_session_key(&session.user_id, &session.id_hash)?.as_str(),
                session.id_hash.as_str(),
            )?;
            Ok(())
        })
    }

    pub(crate) fn get_user_session(&self, id_hash: &str) -> R<Option<UserSession>> {
        self.read(|txn| get_record(&txn.open_table(USER_SESSIONS)?, id_hash))
    }

    pub(crate) fn touch_user_session(&self, id_hash: &str, last_seen_at: Timestamp) -> R<bool> {
        self.write(|txn| {
            let mut sessions = txn.open_table(USER_SESSIONS)?;
            let touched = update_record::<UserSession>(&mut sessions, id_hash, |s| {
                s.last_seen_at = last_seen_at;
                true
            })?;
            Ok(touched.is_some())
        })
    }

    pub(crate) fn delete_user_session(&self, id_hash: &str) -> R<bool> {
        self.write(|txn| {
            let mut sessions = txn.open_table(USER_SESSIONS)?;
            let Some(stored) = get_record::<UserSession>(&sessions, id_hash)? else {
                return Ok(false);
            };
            sessions.remove(id_hash)?;
            txn.open_table(USER_SESSIONS_BY_USER)?
                .remove(user_session_key(&stored.user_id, id_hash)?.as_str())?;
            Ok(true)
        })
    }

    pub(crate) fn delete_user_sessions(&self, user: &UserId) -> R<usize> {
        self.write(|txn| {
            let mut by_user = txn.open_table(USER_SESSIONS_BY_USER)?;
            let range = KeyRange::partition(user.as_str());
            let mut found = Vec::new();
            for entry in by_user.range(range.lo.as_str()..range.hi.as_str())? {
                let (key, hash) = entry?;
                found.push((key.value().to_owned(), hash.value().to_owned()));
            }
            let mut sessions = txn.open_table(USER_SESSIONS)?;
            for (key, hash) in &found {
                by_user.remove(key.as_str())?;
                sessions.remove(hash.as_str())?;
            }
            Ok(found.len())
        })
    }
}
