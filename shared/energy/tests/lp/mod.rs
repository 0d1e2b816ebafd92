//! The planning problem as a linear program, solved exactly with `microlp`:
//! the yardstick for [`csms_energy::schedule::plan`].
//!
//! The same variables and bounds as the planner, with the minimum-current
//! rule relaxed (a current may be anywhere between 0 and the maximum), so the
//! LP optimum is a lower bound on the cost of any plan the planner may make.
//! Energy that does not fit is allowed but costs far more than any price, so
//! the LP delivers as much as possible first and then does it cheaply.

use csms_energy::allocate::grid_phases;
use csms_energy::schedule::{Horizon, PlanSession};
use csms_energy::*;
use microlp::{ComparisonOp, OptimizationDirection, Problem};

pub struct LpOptimum {
    /// Micro-units of currency.
    pub cost: f64,
    pub delivered_wh: f64,
}

pub fn lp_optimum(site: &Site, horizon: &Horizon, sessions: &[PlanSession]) -> LpOptimum {
    let cfg = site.config();
    let v = f64::from(cfg.voltage);
    let slots = horizon.prices.len();
    let nodes: Vec<Node> = std::iter::once(Node::Grid)
        .chain(cfg.boards.iter().map(|b| Node::Board(b.id.clone())))
        .collect();
    let max_price = horizon.prices.iter().map(|p| p.abs()).max().unwrap_or(1) as f64;
    // Per Wh: 1000 times the dearest energy.
    let penalty = max_price;
    let mut lp = Problem::new(OptimizationDirection::Minimize);
    // terms[slot][node * 3 + phase] and power[slot]: (var, weight).
    let mut terms = vec![vec![Vec::new(); nodes.len() * 3]; slots];
    let mut power = vec![Vec::new(); slots];
    let mut unmet = Vec::new();
    for s in sessions {
        let evse = site.evse(&s.evse).expect("known EVSE");
        let phases = evse.phases_wired.min(s.car_phases.unwrap_or(Phases::Three));
        let n = f64::from(phases.count());
        let cap = s
            .car_max
            .map_or(evse.max_current, |m| m.min(evse.max_current));
        let path: Vec<usize> = site
            .path(&s.evse)
            .unwrap()
            .map(|node| nodes.iter().position(|x| x == node).unwrap())
            .collect();
        // Variables: amperes per phase in a slot; energy n × V × A / 4 Wh.
        let mut energy = Vec::new();
        for t in s.arrival..s.departure {
            let wh_per_amp = n * v / 4.0;
            let x = lp.add_var(
                horizon.prices[t] as f64 / 1000.0 * wh_per_amp,
                (0.0, cap.as_amps_f64()),
            );
            energy.push((x, wh_per_amp));
            for &node in &path {
                for gp in grid_phases(phases, evse.rotation) {
                    terms[t][node * 3 + gp.index()].push((x, 1.0));
                }
            }
            power[t].push((x, n * v));
        }
        let u = lp.add_var(penalty, (0.0, f64::from(s.energy_wh)));
        energy.push((u, 1.0));
        lp.add_constraint(&energy, ComparisonOp::Eq, f64::from(s.energy_wh));
        unmet.push(u);
    }
    let (margin, building) = match cfg.mode {
        Mode::Static => (0.0, None),
        Mode::Dynamic { margin } | Mode::TrueDynamic { margin, .. } => (
            margin.as_amps_f64(),
            Some(horizon.building_load.as_ref().expect("forecast")),
        ),
    };
    for t in 0..slots {
        for (ni, node) in nodes.iter().enumerate() {
            let limit = site.limit(node).unwrap();
            for p in Phase::ALL {
                let row = &terms[t][ni * 3 + p.index()];
                if row.is_empty() {
                    continue;
                }
                let mut rhs = limit.get(p).as_amps_f64();
                if let (0, Some(b)) = (ni, building) {
                    rhs -= b[t].get(p).as_amps_f64() + margin;
                }
                lp.add_constraint(row, ComparisonOp::Le, rhs.max(0.0));
            }
        }
        if let (Some(w), false) = (cfg.power_cap_w, power[t].is_empty()) {
            let b: f64 = building.map_or(0.0, |b| b[t].0.iter().map(|c| c.as_amps_f64() * v).sum());
            lp.add_constraint(&power[t], ComparisonOp::Le, (f64::from(w) - b).max(0.0));
        }
    }
    let solution = lp
        .solve()
        .expect("the LP is feasible: unmet energy is allowed");
    let unmet_wh: f64 = unmet.iter().map(|&u| solution[u]).sum();
    let demanded: f64 = sessions.iter().map(|s| f64::from(s.energy_wh)).sum();
    LpOptimum {
        cost: solution.objective() - penalty * unmet_wh,
        delivered_wh: demanded - unmet_wh,
    }
}
