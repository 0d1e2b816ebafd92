//! UnlockConnector: 1.6 addresses a connector, 2.0.1 an EVSE's connector.

use super::{call, Call};
use serde_json::json;

pub(super) fn encode(evse_id: u32, connector_id: Option<u32>, v16: bool) -> Call {
    if v16 {
        // 1.6 numbers connectors station-wide: the EVSE is the connector.
        call("UnlockConnector", json!({"connectorId": evse_id}))
    } else {
        call(
            "UnlockConnector",
            json!({"evseId": evse_id, "connectorId": connector_id.unwrap_or(1)}),
        )
    }
}
