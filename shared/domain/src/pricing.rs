//! Priced sessions: the immutable, itemised price of a completed session.
//!
//! A [`PricedSession`] is what invoices and payouts rely on. It is written once
//! per revision and never changed; repricing writes revision n+1 with a reason
//! and who asked, and the earlier revisions stay readable. The engine that
//! computes it lives in [`engine`].

pub mod curve;
pub mod engine;

use crate::tariff::ComponentKind;
use crate::{OrgId, SessionId, StationId, Timestamp};
use rust_decimal::Decimal;

/// The rounding rule every priced session states.
pub const ROUNDING_RULE: &str =
    "each line's net amount rounded half away from zero to 0.01; VAT computed on the net total and rounded the same way; gross = net + VAT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    Energy,
    Time,
    SessionFee,
    Idle,
    /// Raises the net total to the tariff's minimum price.
    MinimumPriceAdjustment,
    /// Lowers the net total to the tariff's maximum price.
    MaximumPriceAdjustment,
}

impl From<ComponentKind> for LineKind {
    fn from(k: ComponentKind) -> Self {
        match k {
            ComponentKind::Energy => LineKind::Energy,
            ComponentKind::Time => LineKind::Time,
            ComponentKind::SessionFee => LineKind::SessionFee,
            ComponentKind::Idle => LineKind::Idle,
        }
    }
}

/// One line of a priced session: a component over one period at one unit price.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceLine {
    pub kind: LineKind,
    pub start: Timestamp,
    pub end: Timestamp,
    /// kWh for energy, minutes or hours for time and idle, 1 for a fee.
    pub quantity: Decimal,
    /// "kWh", "min", "h", "session".
    pub unit: String,
    /// Net price per unit (exact, unrounded).
    pub unit_price: Decimal,
    /// quantity × unit price, rounded by [`ROUNDING_RULE`].
    pub net: Decimal,
    /// Index of the tariff element the price came from.
    pub element: Option<usize>,
    /// The spot price (per kWh) the unit price was computed from.
    pub spot_price: Option<Decimal>,
}

/// Who or what produced a revision.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingAudit {
    /// "session completed" for the automatic first pricing, the operator's
    /// reason for a repricing.
    pub reason: String,
    /// API key id of whoever asked for a repricing; `None` when automatic.
    pub requested_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedSession {
    pub session_id: SessionId,
    pub station_id: StationId,
    pub org_id: OrgId,
    /// 1 for the first pricing, +1 for every repricing.
    pub revision: u32,
    pub tariff_id: String,
    pub tariff_version: u64,
    pub tariff_name: String,
    /// How the tariff was chosen (the resolution steps, as text).
    pub tariff_reason: Vec<String>,
    pub id_token: Option<String>,
    pub group: Option<String>,
    pub currency: String,
    pub vat_rate: Decimal,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    /// When the energy register last rose (charging stopped).
    pub charging_ended_at: Timestamp,
    pub energy_wh: Decimal,
    pub lines: Vec<PriceLine>,
    /// Sum of the lines' net amounts.
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    pub rounding: String,
    /// What the engine had to work around (readings left out, unknown start).
    pub warnings: Vec<String>,
    pub priced_at: Timestamp,
    pub audit: PricingAudit,
}
