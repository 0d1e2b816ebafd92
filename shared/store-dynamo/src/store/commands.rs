//! [`DynamoStore`]'s commands to stations, and the queue of those still
//! pending.
//!
//! # Layout
//!
//! | item                     | PK                    | SK            | GSI1PK / GSI1SK  | GSI2PK / GSI2SK |
//! |--------------------------|-----------------------|---------------|------------------|-----------------|
//! | command                  | `COMMAND#{commandId}` | `META`        | | `STATION#{id}#COMMAND` / `{commandId}` |
//! | pending command (queue)  | `STATION#{id}`        | `CMDQ#{commandId}` | `CMDQ` / `{commandId}` (sparse: only commands in flight) | |
//!
//! The command item holds the whole command as JSON in `body` (exact round
//! trip of decimals and of the charger's raw answer) next to the `version`
//! the conditions use, and `stationId` and `orgId`. A pending command has a
//! twin queue item (`body` and `version`) in its station's partition, put in
//! the same transaction as the command and deleted in the one that makes it
//! final, so a station's queue is one consistent `Query`; the sparse GSI1
//! partition `CMDQ` holds everything in flight, for recovery after a restart.

use super::charging::station_pk;
use super::table::{
    first_condition_failed, n, record_from, s, set_key, versioned_item, Condition, ConditionFailed,
    Index, Query, META,
};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use csms_domain::command::{Command, CommandId};
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{CommandStore, Page, PageRequest, StoreError, StoreResult};
use csms_store_records::Record;

fn command_pk(id: &CommandId) -> String {
    format!("COMMAND#{id}")
}

fn command_queue_sk(id: &CommandId) -> String {
    format!("CMDQ#{id}")
}

/// GSI2 partition of a station's commands.
fn station_commands_pk(station: &StationId) -> String {
    format!("STATION#{station}#COMMAND")
}

/// GSI1 partition of every command in flight.
const IN_FLIGHT: &str = "CMDQ";

/// The command item and its queue twin.
fn command_items(cmd: &Command) -> StoreResult<(Key, Key)> {
    let mut item = versioned_item(
        command_pk(&cmd.id),
        META,
        &cmd.to_stored(),
        cmd.version,
        "command",
    )?;
    item.insert("stationId".into(), s(cmd.station_id.as_str()));
    item.insert("orgId".into(), s(cmd.org_id.as_str()));
    set_key(
        &mut item,
        Index::Gsi2,
        station_commands_pk(&cmd.station_id),
        cmd.id.as_str(),
    );
    let mut queued = Key::new();
    set_key(
        &mut queued,
        Index::Table,
        station_pk(&cmd.station_id),
        command_queue_sk(&cmd.id),
    );
    queued.insert("body".into(), item["body"].clone());
    queued.insert("version".into(), n(cmd.version));
    set_key(&mut queued, Index::Gsi1, IN_FLIGHT, cmd.id.as_str());
    Ok((item, queued))
}

impl DynamoStore {
    /// The command item if the stored one is at `expected` (`None`: absent),
    /// then the queue twin: put while pending, deleted once final.
    async fn write_command(&self, cmd: &Command, expected: Option<u64>) -> StoreResult<()> {
        let (item, queued) = command_items(cmd)?;
        let condition = expected.map_or_else(Condition::absent, Condition::version);
        // The command item comes first: its condition decides.
        let command = self.transact_put(item, Some(condition))?;
        let queue = if cmd.status.is_final() {
            self.transact_delete(station_pk(&cmd.station_id), command_queue_sk(&cmd.id), None)?
        } else {
            self.transact_put(queued, None)?
        };
        match self
            .transact(vec![command, queue], first_condition_failed)
            .await?
        {
            Ok(()) => Ok(()),
            Err(ConditionFailed) => Err(StoreError::Conflict(match expected {
                None => format!("command {} exists", cmd.id),
                Some(v) => format!("command {} is not at version {v}", cmd.id),
            })),
        }
    }
}

#[async_trait]
impl CommandStore for DynamoStore {
    async fn create_command(&self, cmd: &Command) -> StoreResult<()> {
        self.write_command(cmd, None).await
    }

    async fn get_command(&self, id: &CommandId) -> StoreResult<Option<Command>> {
        self.get_as(command_pk(id), META, record_from).await
    }

    async fn put_command(&self, cmd: &Command, expected_version: u64) -> StoreResult<()> {
        self.write_command(cmd, Some(expected_version)).await
    }

    async fn pending_commands(&self, station: &StationId) -> StoreResult<Vec<Command>> {
        let query = Query::partition(station_pk(station)).sk_prefix("CMDQ#");
        self.all_of(&OrgId::default_org(), &query, record_from)
            .await
    }

    async fn all_pending_commands(&self, limit: usize) -> StoreResult<Vec<Command>> {
        let query = Query::index(Index::Gsi1, IN_FLIGHT);
        self.up_to(&OrgId::default_org(), &query, limit, record_from)
            .await
    }

    async fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> StoreResult<Page<Command>> {
        let query = Query::index(Index::Gsi2, station_commands_pk(station)).newest_first();
        self.page_of(&OrgId::default_org(), &query, page, record_from)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_store_records::golden;

    #[test]
    fn a_command_and_its_queue_twin_hold_the_golden_json_and_read_back() {
        for (cmd, line) in golden::<Command>("commands.jsonl") {
            let (item, queued) = command_items(&cmd).unwrap();
            assert_eq!(item["body"], s(&line));
            assert_eq!(queued["body"], s(&line));
            assert_eq!(item["PK"], s(format!("COMMAND#{}", cmd.id)));
            assert_eq!(record_from::<Command>(item).unwrap(), cmd);
            assert_eq!(record_from::<Command>(queued).unwrap(), cmd);
        }
    }
}
