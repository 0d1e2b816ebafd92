//! The operator's decision on a station's registration, and what it asks of
//! a connected station. It lives with the commands because the decision may
//! send one (TriggerMessage BootNotification); the registry that records
//! stations (`csms_charging::registry`) sends nothing.

use crate::service::{CommandService, CommandsStore, SubmitOptions};
use csms_charging::registry::RegistryError;
use csms_domain::actor::Actor;
use csms_domain::command::CommandRequest;
use csms_domain::station::{Approval, RegistrationStatus, Station};
use csms_domain::StationId;

/// The operator's decision on a station (`PATCH /stations/{id}`). A
/// connected station whose boot was answered otherwise — and that still
/// listens, i.e. was not rejected — is asked to boot again (TriggerMessage
/// BootNotification), so the new answer applies now rather than after its
/// boot interval or its next reboot. `None`: no such station.
pub async fn set_approval<S: CommandsStore + ?Sized>(
    store: &S,
    commands: &CommandService<S>,
    id: &StationId,
    approval: Approval,
) -> Result<Option<Station>, RegistryError> {
    let Some(station) = store.set_station_approval(id, approval).await? else {
        return Ok(None);
    };
    let answered = station
        .boot
        .as_ref()
        .map_or(RegistrationStatus::Accepted, |b| b.registration);
    if station.connection_id.is_some()
        && answered != RegistrationStatus::Rejected
        && answered != approval.registration()
    {
        let trigger = CommandRequest::TriggerMessage {
            message: "BootNotification".into(),
            evse_id: None,
            connector_id: None,
        };
        let opts = SubmitOptions {
            boot_after_approval: true,
            ..SubmitOptions::default()
        };
        // The approval is stored either way: a trigger that cannot go out
        // leaves the new answer to the station's next boot.
        match commands
            .submit(&Actor::system(station.org_id.clone()), id, trigger, opts)
            .await
        {
            Ok(cmd) => {
                tracing::info!(station = %id, command = %cmd.id, approval = approval.as_str(), "approval changed: station asked to boot again")
            }
            Err(e) => {
                tracing::warn!(station = %id, error = %e, "approval changed, but the station could not be asked to boot again")
            }
        }
    }
    Ok(Some(station))
}
