//! What the domain crate's integration tests share.

use csms_domain::session::{Session, SessionEnd, SessionUpdate};
use csms_domain::{OrgId, StationId, Timestamp};
use rust_decimal::Decimal;

/// Transaction 1 of station CP1 as its messages leave it: started on
/// connector 1 at `start` with the register at `meter_start_wh`, ended at
/// `end` with it at `meter_stop_wh`.
pub fn completed_session(
    start: Timestamp,
    end: Timestamp,
    meter_start_wh: Option<Decimal>,
    meter_stop_wh: Option<Decimal>,
) -> Session {
    let station = StationId::parse("CP1").unwrap();
    let mut s = Session::blank(
        &station,
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(1),
        start,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        connector_id: Some(1),
        started_at: Some(start),
        meter_start_wh,
        ..Default::default()
    });
    s.apply(&SessionUpdate {
        end: Some(SessionEnd {
            ended_at: end,
            reason: None,
            meter_stop_wh,
        }),
        ..Default::default()
    });
    s
}
