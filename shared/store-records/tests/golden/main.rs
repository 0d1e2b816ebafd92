//! Golden fixtures: the stored JSON of every record kind, one record a line,
//! exactly as the stores write it. A test that fails here means stored data
//! would change: old records might no longer read, and new ones would differ
//! from what the other adapter or an older version writes.

mod samples;

use serde::de::DeserializeOwned;
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

/// Each sample writes its fixture line, and each line reads back into the
/// sample and writes itself again.
fn golden<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, samples: Vec<T>) {
    let written: Vec<String> = samples
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    let lines = fixture(name);
    assert_eq!(lines.len(), samples.len(), "{name}: one line per sample");
    for ((line, sample), json) in lines.iter().zip(&samples).zip(&written) {
        assert_eq!(json, line, "{name}: a sample writes its line");
        let read: T = serde_json::from_str(line).unwrap();
        assert_eq!(&read, sample, "{name}: a line reads back into its sample");
        assert_eq!(&serde_json::to_string(&read).unwrap(), line);
    }
}

#[test]
fn commands_are_stored_as_the_fixture_says() {
    golden("commands.jsonl", samples::commands());
}

#[test]
fn load_sites_are_stored_as_the_fixture_says() {
    golden("load_sites.jsonl", samples::load_sites());
}

#[test]
fn load_states_are_stored_as_the_fixture_says() {
    golden("load_states.jsonl", samples::load_states());
}

#[test]
fn tariff_versions_are_stored_as_the_fixture_says() {
    golden("tariffs.jsonl", samples::tariffs());
}

#[test]
fn tariff_assignments_are_stored_as_the_fixture_says() {
    golden("tariff_assignments.jsonl", samples::assignments());
}
