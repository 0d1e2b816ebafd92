//! Golden fixtures: the stored JSON of every record kind, one record a line,
//! exactly as the stores wrote it before the stored forms existed. A test
//! that fails here means stored data would change: old records might no
//! longer read, and new ones would differ from what older versions wrote.

mod samples;

use csms_store_records::{from_json, to_json, Record};
use serde::Serialize;
use std::fmt::Debug;

fn fixture(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Each sample, through its stored form, writes its fixture line; each line
/// reads back into the sample and writes itself again.
fn golden<T: Record + PartialEq + Debug>(name: &str, samples: Vec<T>)
where
    T::Stored: Serialize,
{
    let lines = fixture(name);
    assert_eq!(lines.len(), samples.len(), "{name}: one line per sample");
    for (line, sample) in lines.iter().zip(&samples) {
        assert_eq!(
            &to_json(sample).unwrap(),
            line,
            "{name}: a sample writes its line"
        );
        let read: T = from_json(line.as_bytes()).unwrap();
        assert_eq!(&read, sample, "{name}: a line reads back into its sample");
        assert_eq!(
            &to_json(&read).unwrap(),
            line,
            "{name}: and writes it again"
        );
    }
}

#[test]
fn commands_are_stored_as_they_always_were() {
    golden("commands.jsonl", samples::commands());
}

#[test]
fn load_sites_are_stored_as_they_always_were() {
    golden("load_sites.jsonl", samples::load_sites());
}

#[test]
fn load_states_are_stored_as_they_always_were() {
    golden("load_states.jsonl", samples::load_states());
}

#[test]
fn tariff_versions_are_stored_as_they_always_were() {
    golden("tariffs.jsonl", samples::tariffs());
}

#[test]
fn tariff_assignments_are_stored_as_they_always_were() {
    golden("tariff_assignments.jsonl", samples::assignments());
}

#[test]
fn sessions_are_stored_as_they_always_were() {
    golden("sessions.jsonl", samples::sessions());
}

#[test]
fn stations_are_stored_as_they_always_were() {
    golden("stations.jsonl", samples::stations());
}

#[test]
fn connector_statuses_are_stored_as_they_always_were() {
    golden("connector_statuses.jsonl", samples::connector_statuses());
}

#[test]
fn connections_are_stored_as_they_always_were() {
    golden("connections.jsonl", samples::connections());
}

#[test]
fn id_tokens_are_stored_as_they_always_were() {
    golden("id_tokens.jsonl", samples::id_tokens());
}

#[test]
fn unregistered_tokens_are_stored_as_they_always_were() {
    golden("unregistered_tokens.jsonl", samples::unregistered_tokens());
}

#[test]
fn api_keys_are_stored_as_they_always_were() {
    golden("api_keys.jsonl", samples::api_keys());
}

#[test]
fn webhooks_are_stored_as_they_always_were() {
    golden("webhooks.jsonl", samples::webhooks());
}

#[test]
fn webhook_deliveries_are_stored_as_they_always_were() {
    golden("deliveries.jsonl", samples::deliveries());
}

#[test]
fn alarms_are_stored_as_they_always_were() {
    golden("alarms.jsonl", samples::alarms());
}

#[test]
fn audit_entries_are_stored_as_they_always_were() {
    golden("audit.jsonl", samples::audit_entries());
}

#[test]
fn spot_days_are_stored_as_they_always_were() {
    golden("spot_days.jsonl", samples::spot_days());
}

#[test]
fn priced_sessions_are_stored_as_they_always_were() {
    golden("priced_sessions.jsonl", samples::priced_sessions());
}

#[test]
fn meter_readings_are_stored_as_they_always_were() {
    golden("meter_readings.jsonl", samples::meter_readings());
}

#[test]
fn organisations_are_stored_as_they_were_first_written() {
    golden("organisations.jsonl", samples::organisations());
}

#[test]
fn sites_are_stored_as_they_were_first_written() {
    golden("sites.jsonl", samples::sites());
}

#[test]
fn users_are_stored_as_they_were_first_written() {
    golden("users.jsonl", samples::users());
}

#[test]
fn user_sessions_are_stored_as_they_were_first_written() {
    golden("user_sessions.jsonl", samples::user_sessions());
}

#[test]
fn station_access_is_stored_as_it_was_first_written() {
    golden("station_access.jsonl", samples::station_access());
}

#[test]
fn garage_identities_are_stored_as_they_were_first_written() {
    golden("garage_identities.jsonl", samples::garage_identities());
}

#[test]
fn access_attempts_are_stored_as_they_were_first_written() {
    golden("access_attempts.jsonl", samples::access_attempts());
}

#[test]
fn ratings_are_stored_as_they_always_were() {
    golden("ratings.jsonl", samples::ratings());
}

#[test]
fn bookings_are_stored_as_they_were_first_written() {
    golden("bookings.jsonl", samples::bookings());
}

#[test]
fn email_links_are_stored_as_they_were_first_written() {
    golden("email_links.jsonl", samples::email_links());
}

#[test]
fn charging_keys_are_stored_as_they_were_first_written() {
    golden("charging_keys.jsonl", samples::charging_keys());
}

#[test]
fn alarm_settings_are_stored_as_they_always_were() {
    golden("alarm_settings.jsonl", samples::alarm_settings());
}

#[test]
fn ledger_transactions_are_stored_as_they_were_first_written() {
    golden("ledger_transactions.jsonl", samples::ledger_transactions());
}

#[test]
fn invoices_are_stored_as_they_were_first_written() {
    golden("invoices.jsonl", samples::invoices());
}

#[test]
fn credit_notes_are_stored_as_they_were_first_written() {
    golden("credit_notes.jsonl", samples::credit_notes());
}

#[test]
fn fees_are_stored_as_they_were_first_written() {
    golden("fees.jsonl", samples::fees());
}

#[test]
fn one_off_charges_are_stored_as_they_were_first_written() {
    golden("one_off_charges.jsonl", samples::one_off_charges());
}

#[test]
fn usage_days_are_stored_as_they_were_first_written() {
    golden("usage_days.jsonl", samples::usage_days());
}

#[test]
fn payments_are_stored_as_they_were_first_written() {
    golden("payments.jsonl", samples::payments());
}
