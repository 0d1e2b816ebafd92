//! Commands to stations, with the per-station queue of those not yet sent.

use crate::error::{conflict, R};
use crate::keys::*;
use crate::ops::*;
use csms_domain::command::{Command, CommandId};
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{Page, PageRequest};
use redb::ReadableTable;

impl Db {
    // --- commands -------------------------------------------------------

    pub(crate) fn create_command(&self, cmd: &Command) -> R<()> {
        self.write(|txn| {
            let mut commands = txn.open_table(COMMANDS)?;
            if commands.get(cmd.id.as_str())?.is_some() {
                return Err(conflict(format!("command {} exists", cmd.id)));
            }
            put_record(&mut commands, cmd.id.as_str(), cmd)?;
            let key = command_station_key(&cmd.station_id, &cmd.id)?;
            txn.open_table(COMMANDS_BY_STATION)?
                .insert(key.as_str(), cmd.id.as_str())?;
            if !cmd.status.is_final() {
                txn.open_table(COMMAND_QUEUE)?
                    .insert(key.as_str(), cmd.id.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn get_command(&self, id: &CommandId) -> R<Option<Command>> {
        self.read(|txn| get_record(&txn.open_table(COMMANDS)?, id.as_str()))
    }

    pub(crate) fn put_command(&self, cmd: &Command, expected_version: u64) -> R<()> {
        self.write(|txn| {
            let mut commands = txn.open_table(COMMANDS)?;
            let stored: Option<Command> = get_record(&commands, cmd.id.as_str())?;
            match stored {
                Some(s) if s.version == expected_version => {}
                Some(s) => {
                    return Err(conflict(format!(
                        "command {} is at version {}, not {expected_version}",
                        cmd.id, s.version
                    )))
                }
                None => return Err(conflict(format!("command {} does not exist", cmd.id))),
            }
            put_record(&mut commands, cmd.id.as_str(), cmd)?;
            if cmd.status.is_final() {
                let key = command_station_key(&cmd.station_id, &cmd.id)?;
                txn.open_table(COMMAND_QUEUE)?.remove(key.as_str())?;
            }
            Ok(())
        })
    }

    pub(crate) fn pending_commands(&self, station: &StationId) -> R<Vec<Command>> {
        let range = KeyRange::partition(station.as_str());
        self.read(|txn| {
            let queue = txn.open_table(COMMAND_QUEUE)?;
            let commands = txn.open_table(COMMANDS)?;
            let mut out = Vec::new();
            for entry in queue.range::<&str>(range.lo.as_str()..range.hi.as_str())? {
                let (_, id) = entry?;
                let cmd = get_record::<Command>(&commands, id.value());
                if let Some(cmd) = self.skip(&OrgId::default_org(), cmd)? {
                    out.push(cmd);
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn all_pending_commands(&self, limit: usize) -> R<Vec<Command>> {
        self.read(|txn| {
            let queue = txn.open_table(COMMAND_QUEUE)?;
            let commands = txn.open_table(COMMANDS)?;
            let mut out = Vec::new();
            for entry in queue.iter()? {
                let (_, id) = entry?;
                let cmd = get_record::<Command>(&commands, id.value());
                if let Some(cmd) = self.skip(&OrgId::default_org(), cmd)? {
                    out.push(cmd);
                }
            }
            // The queue is ordered by station first; "oldest first" is by id.
            out.sort_by(|a, b| a.id.cmp(&b.id));
            out.truncate(limit);
            Ok(out)
        })
    }

    pub(crate) fn list_station_commands(
        &self,
        station: &StationId,
        page: &PageRequest,
    ) -> R<Page<Command>> {
        self.list_indexed_records(
            COMMANDS_BY_STATION,
            COMMANDS,
            station.as_str(),
            &OrgId::default_org(),
            page,
            Order::Descending,
        )
    }
}
