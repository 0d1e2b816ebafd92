//! Representative domain values of every record the stores keep as JSON:
//! each optional field both present and absent somewhere, every command
//! type, every price component and assignment target.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use csms_domain::command::*;
use csms_domain::load::*;
use csms_domain::spot::BiddingZone;
use csms_domain::tariff::*;
use csms_domain::{OrgId, SiteId, StationId};
use csms_energy::{
    BoardId, ChargeState, Limit, Node, PauseCause, Phase, Phases, PvState, Reason, Rotation,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn station(s: &str) -> StationId {
    StationId::parse(s).unwrap()
}

fn site(s: &str) -> SiteId {
    SiteId::parse(s).unwrap()
}

fn org(s: &str) -> OrgId {
    OrgId::parse(s).unwrap()
}

fn profile(purpose: ProfilePurpose, full: bool) -> ChargingProfile {
    ChargingProfile {
        id: if full { 42 } else { 1_800_000_001 },
        stack_level: 2,
        purpose,
        kind: if full {
            ProfileKind::Recurring
        } else {
            ProfileKind::Absolute
        },
        recurrency: full.then_some(Recurrency::Daily),
        valid_from: full.then(|| t("2026-12-01T00:00:00Z")),
        valid_to: full.then(|| t("2027-01-01T00:00:00Z")),
        transaction_id: full.then(|| "1234".to_owned()),
        start_schedule: full.then(|| t("2026-12-01T06:00:00.250Z")),
        duration_s: full.then_some(86_400),
        rate_unit: if full { RateUnit::W } else { RateUnit::A },
        periods: if full {
            vec![
                SchedulePeriod {
                    start_period_s: 0,
                    limit: d("11000"),
                    number_phases: Some(3),
                },
                SchedulePeriod {
                    start_period_s: 3600,
                    limit: d("3680.5"),
                    number_phases: None,
                },
            ]
        } else {
            vec![SchedulePeriod {
                start_period_s: 0,
                limit: d("16.0"),
                number_phases: Some(1),
            }]
        },
        min_charging_rate: full.then(|| d("6.1")),
    }
}

fn requests() -> Vec<CommandRequest> {
    use CommandRequest::*;
    vec![
        RemoteStart {
            id_token: "04A2B3C4D5".into(),
            token_type: Some("ISO14443".into()),
            evse_id: Some(1),
            charging_profile: Some(profile(ProfilePurpose::TxProfile, true)),
        },
        RemoteStart {
            id_token: "app-user-7".into(),
            token_type: None,
            evse_id: None,
            charging_profile: None,
        },
        RemoteStop {
            transaction_id: "5678".into(),
        },
        Pause {
            transaction_id: "5678".into(),
            evse_id: Some(2),
        },
        Resume {
            transaction_id: "5678".into(),
            evse_id: None,
        },
        Unlock {
            evse_id: 1,
            connector_id: Some(1),
        },
        Reset {
            kind: Some(ResetKind::Hard),
            when: Some(ResetWhen::Immediate),
            evse_id: Some(1),
        },
        Reset {
            kind: None,
            when: None,
            evse_id: None,
        },
        ChangeAvailability {
            evse_id: Some(1),
            connector_id: None,
            operative: false,
        },
        GetDiagnostics {
            location: "ftp://logs.example.com/".into(),
            start_time: Some(t("2026-11-30T00:00:00Z")),
            stop_time: Some(t("2026-12-01T00:00:00Z")),
            retries: Some(3),
            retry_interval_s: Some(60),
        },
        UpdateFirmware {
            location: "https://fw.example.com/v2.bin".into(),
            retrieve_at: t("2026-12-02T03:00:00Z"),
            retries: None,
            retry_interval_s: Some(120),
            signing_certificate: Some("-----BEGIN CERTIFICATE-----".into()),
            signature: Some("c2lnbmF0dXJl".into()),
        },
        GetConfiguration { keys: vec![] },
        GetConfiguration {
            keys: vec![
                ConfigRef {
                    component: None,
                    component_instance: None,
                    evse_id: None,
                    variable: "HeartbeatInterval".into(),
                    variable_instance: None,
                },
                ConfigRef {
                    component: Some("OCPPCommCtrlr".into()),
                    component_instance: Some("main".into()),
                    evse_id: Some(1),
                    variable: "MessageTimeout".into(),
                    variable_instance: Some("Default".into()),
                },
            ],
        },
        ChangeConfiguration {
            key: ConfigRef {
                component: Some("OCPPCommCtrlr".into()),
                component_instance: None,
                evse_id: None,
                variable: "HeartbeatInterval".into(),
                variable_instance: None,
            },
            value: "300".into(),
        },
        TriggerMessage {
            message: "StatusNotification".into(),
            evse_id: Some(1),
            connector_id: Some(1),
        },
        ClearCache,
        SendLocalList {
            version: 7,
            full: false,
            entries: vec![
                LocalListEntry {
                    id_token: "04A2B3C4D5".into(),
                    token_type: Some("ISO14443".into()),
                    status: Some("Accepted".into()),
                    expires_at: Some(t("2027-06-30T22:00:00Z")),
                },
                LocalListEntry {
                    id_token: "DEADBEEF".into(),
                    token_type: None,
                    status: None,
                    expires_at: None,
                },
            ],
        },
        GetLocalListVersion,
        ReserveNow {
            reservation_id: 11,
            id_token: "04A2B3C4D5".into(),
            token_type: Some("ISO14443".into()),
            expires_at: t("2026-12-01T12:30:00Z"),
            evse_id: Some(2),
            parent_id_token: Some("GROUP-1".into()),
        },
        CancelReservation { reservation_id: 11 },
        DataTransfer {
            vendor_id: "com.example".into(),
            message_id: Some("SetPrice".into()),
            data: Some(serde_json::json!({"price": "3.25", "currency": "SEK", "items": [1, 2]})),
        },
        DataTransfer {
            vendor_id: "com.example".into(),
            message_id: None,
            data: Some(serde_json::json!("plain text")),
        },
        SetChargingProfile {
            evse_id: 0,
            profile: profile(ProfilePurpose::StationMax, true),
        },
        LoadLimit {
            evse_id: 2,
            profile: profile(ProfilePurpose::TxDefault, false),
        },
        ClearChargingProfile {
            profile_id: Some(42),
            evse_id: Some(1),
            purpose: Some(ProfilePurpose::TxProfile),
            stack_level: Some(2),
        },
        ClearChargingProfile {
            profile_id: None,
            evse_id: None,
            purpose: None,
            stack_level: None,
        },
        GetCompositeSchedule {
            evse_id: 1,
            duration_s: 3600,
            rate_unit: Some(RateUnit::A),
        },
    ]
}

/// One command per request; odd ones finished, with everything a finished
/// command records, even ones still pending.
pub fn commands() -> Vec<Command> {
    let ids = ["01JDZQ6W3R8Y5VXK2M4N7P9QAB", "01JDZQ6W3R8Y5VXK2M4N7P9QAC"];
    requests()
        .into_iter()
        .enumerate()
        .map(|(i, request)| {
            let done = i % 2 == 1;
            let id = format!("{}{:02}", &ids[i % 2][..24], i);
            Command {
                id: CommandId::parse(&id).unwrap(),
                station_id: station(if i % 3 == 0 { "CP-1" } else { "CP-2" }),
                org_id: org(if i % 4 == 0 { "default" } else { "brf-solsidan" }),
                action: done.then(|| "RemoteStartTransaction".to_owned()),
                request,
                status: match i % 6 {
                    0 => CommandStatus::Pending,
                    1 => CommandStatus::Accepted,
                    2 => CommandStatus::Rejected,
                    3 => CommandStatus::Failed,
                    4 => CommandStatus::Timeout,
                    _ => CommandStatus::Offline,
                },
                created_at: t("2026-12-01T08:00:00.123Z"),
                sent_at: done.then(|| t("2026-12-01T08:00:01Z")),
                completed_at: done.then(|| t("2026-12-01T08:00:02.5Z")),
                timeout_s: if done { 30 } else { 120 },
                response: done.then(|| serde_json::json!({"status": "Accepted", "statusInfo": {"reasonCode": "OK"}})),
                error: (i % 6 == 3).then(|| "InternalError: boom".to_owned()),
                progress: if i == 9 || i == 10 {
                    vec![
                        Progress {
                            status: "Downloading".into(),
                            at: t("2026-12-01T08:01:00Z"),
                        },
                        Progress {
                            status: "Installed".into(),
                            at: t("2026-12-01T08:05:00Z"),
                        },
                    ]
                } else {
                    vec![]
                },
                version: i as u64,
            }
        })
        .collect()
}

fn phase_amps(l1: &str, l2: &str, l3: &str) -> PhaseAmps {
    PhaseAmps {
        l1: d(l1),
        l2: d(l2),
        l3: d(l3),
    }
}

fn full_config() -> LoadConfig {
    LoadConfig {
        grid_fuse_a: PhaseAmps::uniform(d("63")),
        mode: LoadMode::TrueDynamic,
        margin_a: d("2.5"),
        headroom_a: d("3"),
        settle_seconds: 90,
        power_cap_w: Some(40_000),
        voltage: 230,
        rotation_seconds: 600,
        boards: vec![
            LoadBoard {
                id: "garage".into(),
                parent: None,
                fuse_a: phase_amps("35", "35", "35"),
            },
            LoadBoard {
                id: "garage-east".into(),
                parent: Some("garage".into()),
                fuse_a: phase_amps("25", "25", "20.5"),
            },
        ],
        meter: Some(GridMeterConfig {
            station_id: Some(station("METER-1")),
            stale_after_seconds: 60,
            fallback_a: d("8"),
        }),
        evses: vec![
            LoadEvse {
                station_id: station("CP-1"),
                evse_id: 1,
                board: Some("garage-east".into()),
                phases: 3,
                rotation: Rotation::L2L3L1,
                max_a: d("32"),
                min_a: d("6"),
                priority: 5,
                pv_surplus: true,
                phase_switching: true,
            },
            LoadEvse {
                station_id: station("CP-2"),
                evse_id: 2,
                board: None,
                phases: 1,
                rotation: Rotation::L1L2L3,
                max_a: d("16"),
                min_a: d("6.5"),
                priority: 0,
                pv_surplus: false,
                phase_switching: false,
            },
        ],
        group_priorities: BTreeMap::from([("residents".to_owned(), 7), ("staff".to_owned(), 3)]),
        pv: PvConfig {
            hysteresis_w: 500,
            min_switch_seconds: 600,
        },
        bidding_zone: Some("SE3".into()),
    }
}

fn bare_config() -> LoadConfig {
    LoadConfig {
        grid_fuse_a: phase_amps("25", "25", "25"),
        mode: LoadMode::Static,
        margin_a: d("2"),
        headroom_a: d("2"),
        settle_seconds: 60,
        power_cap_w: None,
        voltage: 230,
        rotation_seconds: 900,
        boards: vec![],
        meter: None,
        evses: vec![],
        group_priorities: BTreeMap::new(),
        pv: PvConfig::default(),
        bidding_zone: None,
    }
}

pub fn load_sites() -> Vec<LoadSite> {
    vec![
        LoadSite {
            site_id: site("site-1"),
            org_id: org("default"),
            config: full_config(),
            updated_at: t("2026-12-01T09:00:00Z"),
            version: 3,
        },
        LoadSite {
            site_id: site("site-2"),
            org_id: org("brf-solsidan"),
            config: bare_config(),
            updated_at: t("2026-12-01T09:30:00.5Z"),
            version: 1,
        },
        LoadSite {
            site_id: site("site-3"),
            org_id: org("default"),
            config: LoadConfig {
                mode: LoadMode::Dynamic,
                meter: Some(GridMeterConfig {
                    station_id: None,
                    stale_after_seconds: 120,
                    fallback_a: d("6"),
                }),
                ..bare_config()
            },
            updated_at: t("2026-12-02T00:00:00Z"),
            version: 12,
        },
    ]
}

fn sent(status: SentStatus, before: Option<HeldLimit>) -> SentLimit {
    SentLimit {
        limit_a: d("13.5"),
        phases: 3,
        transaction_id: before.map(|_| "5678".to_owned()),
        command_id: "01JDZQ6W3R8Y5VXK2M4N7P9QAD".into(),
        status,
        sent_at: t("2026-12-01T10:00:00Z"),
        before,
    }
}

pub fn load_states() -> Vec<LoadState> {
    let e = csms_energy::Timestamp;
    let full_evse = EvseLoadState {
        over_limit_since: None,
        measured_power: None,
        station_id: station("CP-1"),
        evse_id: 1,
        transaction_id: Some("5678".into()),
        charge: Some(ChargeState::Running(e(1_764_576_000))),
        measured: Some(Measured {
            at: t("2026-12-01T10:00:05Z"),
            current_a: phase_amps("12.1", "12.3", "0"),
        }),
        soc: Some(d("54.5")),
        allocation: Some(Allocated {
            current_a: d("13.5"),
            phases: 3,
            reason: Reason::FairShare {
                limit: Limit::Fuse {
                    node: Node::Grid,
                    phase: Phase::L2,
                },
            },
            explanation: "shared the grid connection L2 limit fairly".into(),
        }),
        profile: Some(sent(
            SentStatus::Pending,
            Some(HeldLimit {
                limit_a: d("16"),
                phases: 3,
            }),
        )),
        default_profile: Some(sent(SentStatus::Accepted, None)),
        pv: Some(PvState {
            phases: Phases::One,
            last_switch: Some(e(1_764_575_000)),
        }),
        need: Some(ChargingNeed {
            source: NeedSource::Iso15118,
            transaction_id: Some("5678".into()),
            energy_wh: Some(d("20000")),
            target_soc: Some(d("80")),
            battery_wh: Some(d("77000")),
            soc: Some(d("54.5")),
            departure_at: Some(t("2026-12-01T16:00:00Z")),
            car_max_a: Some(d("32")),
            set_at: t("2026-12-01T08:00:00Z"),
            base_wh: Some(d("1520.25")),
        }),
    };
    let paused_evse = EvseLoadState {
        over_limit_since: None,
        measured_power: None,
        station_id: station("CP-2"),
        evse_id: 2,
        transaction_id: None,
        charge: Some(ChargeState::Paused(e(1_764_576_100))),
        measured: None,
        soc: None,
        allocation: Some(Allocated {
            current_a: d("0"),
            phases: 1,
            reason: Reason::Paused {
                cause: PauseCause::Limit {
                    limit: Limit::PowerCap,
                },
                waiting_since: e(1_764_576_100),
                rotation_due: Some(e(1_764_577_000)),
            },
            explanation: "paused: the site power cap has no room for its minimum".into(),
        }),
        profile: Some(sent(SentStatus::Failed, None)),
        default_profile: None,
        pv: None,
        need: Some(ChargingNeed {
            source: NeedSource::Driver,
            transaction_id: None,
            energy_wh: None,
            target_soc: None,
            battery_wh: None,
            soc: None,
            departure_at: None,
            car_max_a: None,
            set_at: t("2026-12-01T08:30:00Z"),
            base_wh: None,
        }),
    };
    let bare_evse = EvseLoadState {
        over_limit_since: None,
        measured_power: None,
        station_id: station("CP-3"),
        evse_id: 1,
        transaction_id: None,
        charge: None,
        measured: None,
        soc: None,
        allocation: Some(Allocated {
            current_a: d("16"),
            phases: 3,
            reason: Reason::EvseMax,
            explanation: "at the EVSE's maximum".into(),
        }),
        profile: None,
        default_profile: None,
        pv: None,
        need: None,
    };
    // The engine's other reasons, each on an otherwise bare EVSE.
    let reasons = [
        Reason::Demand,
        Reason::PvSurplus,
        Reason::Planned,
        Reason::FairShare {
            limit: Limit::Fuse {
                node: Node::Board(BoardId::parse("garage-east").unwrap()),
                phase: Phase::L3,
            },
        },
        Reason::Paused {
            cause: PauseCause::PvSurplus,
            waiting_since: e(1_764_576_200),
            rotation_due: None,
        },
        Reason::Paused {
            cause: PauseCause::Planned,
            waiting_since: e(1_764_576_300),
            rotation_due: None,
        },
    ];
    let mut evses = vec![full_evse, paused_evse, bare_evse];
    for (i, reason) in reasons.into_iter().enumerate() {
        evses.push(EvseLoadState {
            over_limit_since: None,
            measured_power: None,
            station_id: station("CP-4"),
            evse_id: i as u32 + 1,
            transaction_id: None,
            charge: None,
            measured: None,
            soc: None,
            allocation: Some(Allocated {
                current_a: d("10"),
                phases: 3,
                reason,
                explanation: "see the reason".into(),
            }),
            profile: None,
            default_profile: None,
            pv: Some(PvState {
                phases: Phases::Three,
                last_switch: None,
            }),
            need: None,
        });
    }
    vec![
        LoadState {
            site_id: site("site-1"),
            requested_at: Some(t("2026-12-01T10:00:00Z")),
            computed_at: Some(t("2026-12-01T10:00:00.750Z")),
            config_version: 3,
            grid: Some(GridReading {
                at: t("2026-12-01T09:59:58Z"),
                current_a: phase_amps("40", "38.5", "22"),
            }),
            building_load_a: Some(phase_amps("15.9", "14.2", "22")),
            warnings: vec!["the grid meter's reading is 95 s old".into()],
            evses,
            stations: vec![StationLoadState {
                station_id: station("CP-1"),
                max_profile: sent(SentStatus::Accepted, None),
            }],
            plan: Some(SitePlan {
                made_at: t("2026-12-01T10:00:00Z"),
                start: t("2026-12-01T10:00:00Z"),
                slot_minutes: 15,
                bidding_zone: "SE3".into(),
                currency: "SEK".into(),
                prices: vec![d("0.85"), d("-0.02"), d("1.10")],
                sessions: vec![
                    PlannedSession {
                        station_id: station("CP-1"),
                        evse_id: 1,
                        transaction_id: "5678".into(),
                        departure_at: t("2026-12-01T16:00:00Z"),
                        need_wh: d("18479.75"),
                        phases: 3,
                        currents_a: vec![d("0"), d("16"), d("6")],
                        planned_wh: d("15000"),
                        unmet_wh: d("3479.75"),
                        unmet: Some("the fuse leaves no more before departure".into()),
                        cost: d("12.34"),
                    },
                    PlannedSession {
                        station_id: station("CP-2"),
                        evse_id: 2,
                        transaction_id: "9999".into(),
                        departure_at: t("2026-12-01T18:00:00Z"),
                        need_wh: d("1000"),
                        phases: 1,
                        currents_a: vec![d("6"), d("0"), d("0")],
                        planned_wh: d("1000"),
                        unmet_wh: d("0"),
                        unmet: None,
                        cost: d("0.85"),
                    },
                ],
                config_version: 3,
            }),
            lease: Some(RecomputeLease {
                holder: "load-balancer:abc".into(),
                until: t("2026-12-01T10:00:30Z"),
            }),
            alarms: vec![],
            version: 57,
        },
        LoadState::new(site("site-2")),
        LoadState {
            alarms: vec!["grid-meter-silent:site-3".into()],
            version: 2,
            ..LoadState::new(site("site-3"))
        },
        LoadState {
            evses: vec![EvseLoadState {
                over_limit_since: Some(t("2026-12-01T10:01:00.500Z")),
                measured_power: None,
                station_id: station("CP-9"),
                evse_id: 1,
                transaction_id: Some("4242".into()),
                charge: None,
                measured: Some(Measured {
                    at: t("2026-12-01T10:03:30Z"),
                    current_a: phase_amps("24.5", "24", "23.8"),
                }),
                soc: None,
                allocation: None,
                profile: Some(sent(SentStatus::Accepted, None)),
                default_profile: None,
                pv: None,
                need: None,
            }],
            alarms: vec!["profile-ignored:CP-9:1".into()],
            version: 9,
            ..LoadState::new(site("site-4"))
        },
        LoadState {
            evses: vec![EvseLoadState {
                over_limit_since: Some(t("2026-12-01T11:00:10Z")),
                station_id: station("CP-10"),
                evse_id: 2,
                transaction_id: Some("77".into()),
                charge: None,
                measured: None,
                measured_power: Some(MeasuredPower {
                    at: t("2026-12-01T11:02:40Z"),
                    watts: d("11040.5"),
                }),
                soc: None,
                allocation: None,
                profile: None,
                default_profile: Some(sent(SentStatus::Accepted, None)),
                pv: None,
                need: None,
            }],
            version: 3,
            ..LoadState::new(site("site-5"))
        },
    ]
}

fn spot_formula(floor: bool) -> SpotFormula {
    SpotFormula {
        zone: BiddingZone::parse("SE3").unwrap(),
        factor: d("1.0"),
        markup: d("0.10"),
        grid_fee: if floor { d("0.245") } else { d("0") },
        energy_tax: if floor { d("0.428") } else { d("0") },
        floor: floor.then(|| d("0")),
        ceiling: floor.then(|| d("5.00")),
    }
}

/// Versions 1 and 2 of one tariff (the second deleted), and two others.
pub fn tariffs() -> Vec<Tariff> {
    let v1 = Tariff {
        id: "tariff-1".into(),
        org_id: org("default"),
        name: "Garage, residents".into(),
        currency: "SEK".into(),
        vat_rate: d("0.25"),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![
            TariffElement {
                components: vec![
                    PriceComponent::Energy {
                        price: EnergyPrice::Fixed { per_kwh: d("4.50") },
                    },
                    PriceComponent::Time {
                        price: d("1.5"),
                        per: TimeUnit::Hour,
                        free_minutes: 30,
                    },
                ],
                restrictions: Restrictions {
                    days_of_week: vec![Weekday::Mon, Weekday::Fri],
                    start_time: Some(NaiveTime::from_hms_opt(22, 0, 0).unwrap()),
                    end_time: Some(NaiveTime::from_hms_opt(6, 30, 0).unwrap()),
                    start_date: Some(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
                    end_date: Some(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
                },
            },
            TariffElement {
                components: vec![
                    PriceComponent::Energy {
                        price: EnergyPrice::Spot(spot_formula(true)),
                    },
                    PriceComponent::SessionFee { price: d("5") },
                    PriceComponent::Idle {
                        price: d("0.50"),
                        per: TimeUnit::Minute,
                        grace_minutes: 60,
                    },
                ],
                restrictions: Restrictions::default(),
            },
        ],
        min_price: Some(d("2")),
        max_price: Some(d("500")),
        version: 1,
        effective_at: t("2026-01-01T00:00:00Z"),
        created_at: t("2025-12-20T14:03:11.5Z"),
        deleted_at: None,
    };
    let v2 = Tariff {
        version: 2,
        effective_at: t("2026-06-01T00:00:00Z"),
        deleted_at: Some(t("2026-11-01T00:00:00Z")),
        ..v1.clone()
    };
    let plain = Tariff {
        id: "tariff-2".into(),
        org_id: org("brf-solsidan"),
        name: "Spot".into(),
        currency: "SEK".into(),
        vat_rate: d("0"),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![TariffElement {
            components: vec![
                PriceComponent::Energy {
                    price: EnergyPrice::Spot(spot_formula(false)),
                },
                PriceComponent::Time {
                    price: d("0.1"),
                    per: TimeUnit::Minute,
                    free_minutes: 0,
                },
                PriceComponent::Idle {
                    price: d("1"),
                    per: TimeUnit::Hour,
                    grace_minutes: 0,
                },
            ],
            restrictions: Restrictions {
                days_of_week: vec![Weekday::Sat, Weekday::Sun],
                start_time: Some(NaiveTime::from_hms_opt(8, 15, 30).unwrap()),
                end_time: None,
                start_date: None,
                end_date: None,
            },
        }],
        min_price: None,
        max_price: None,
        version: 1,
        effective_at: t("2026-03-01T00:00:00Z"),
        created_at: t("2026-03-01T00:00:00Z"),
        deleted_at: None,
    };
    // No zone of its own: priced in the zone of the session's site.
    let site_zone = Tariff {
        id: "tariff-3".into(),
        time_zone: None,
        ..plain.clone()
    };
    vec![v1, v2, plain, site_zone]
}

pub fn assignments() -> Vec<TariffAssignment> {
    let base = TariffAssignment {
        id: "assign-1".into(),
        org_id: org("default"),
        tariff_id: "tariff-1".into(),
        target: AssignmentTarget::Station(station("CP-1")),
        group: Some("residents".into()),
        created_at: t("2026-12-01T07:00:00Z"),
    };
    vec![
        base.clone(),
        TariffAssignment {
            id: "assign-2".into(),
            target: AssignmentTarget::Site(site("site-1")),
            group: None,
            ..base.clone()
        },
        TariffAssignment {
            id: "assign-3".into(),
            org_id: org("brf-solsidan"),
            tariff_id: "tariff-2".into(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t("2026-12-01T07:00:00.001Z"),
        },
    ]
}

fn session(
    full: bool,
    status: csms_domain::session::SessionStatus,
    inferred_end: Option<csms_domain::session::InferredEnd>,
    transaction: &str,
) -> csms_domain::session::Session {
    use csms_domain::session::Session;
    use csms_domain::{SessionId, TransactionId};
    let station_id = station(if full { "CP-1" } else { "CP-2" });
    let transaction_id = TransactionId::parse(transaction).unwrap();
    Session {
        user_id: None,
        id: SessionId::new(&station_id, &transaction_id),
        station_id,
        org_id: org(if full { "brf-solsidan" } else { "default" }),
        site_id: full.then(|| site("site-1")),
        transaction_id: transaction_id.to_string(),
        evse_id: full.then_some(1),
        connector_id: full.then_some(2),
        id_token: full.then(|| "04A1B2C3D4".to_owned()),
        status,
        started_at: full.then(|| t("2026-12-01T06:00:00.250Z")),
        ended_at: inferred_end
            .map(|e| e.at)
            .or_else(|| full.then(|| t("2026-12-01T08:30:00Z"))),
        explicit_meter_start_wh: full.then(|| d("1000")),
        explicit_meter_stop_wh: full.then(|| d("12500.5")),
        first_register: full.then(|| (t("2026-12-01T06:00:01Z"), d("1000.0"))),
        last_register: full.then(|| (t("2026-12-01T08:29:59Z"), d("12500.5"))),
        stop_reason: full.then(|| "EVDisconnected".to_owned()),
        start_unknown: !full,
        seen_seq_nos: if full { vec![0, 1, 5] } else { Vec::new() },
        offline_events: full,
        charger_clock_replaced: full,
        late_readings: full,
        inferred_end,
        charger_ended: full,
        version: if full { 7 } else { 0 },
        updated_at: t("2026-12-01T08:30:00.001Z"),
    }
}

pub fn sessions() -> Vec<csms_domain::session::Session> {
    use csms_domain::session::{CloseReason, InferredEnd, SessionStatus};
    let inferred = |reason, at| Some(InferredEnd { at: t(at), reason });
    vec![
        session(false, SessionStatus::Active, None, "tx-0001"),
        session(true, SessionStatus::Completed, None, "1234"),
        session(
            true,
            SessionStatus::Completed,
            inferred(CloseReason::ConnectorAvailable, "2026-12-01T08:00:00Z"),
            "1235",
        ),
        session(
            false,
            SessionStatus::Completed,
            inferred(CloseReason::StationRebooted, "2026-12-01T09:00:00Z"),
            "tx-0002",
        ),
        session(
            false,
            SessionStatus::Completed,
            inferred(CloseReason::NewTransaction, "2026-12-01T10:00:00Z"),
            "tx-0003",
        ),
        session(
            false,
            SessionStatus::Completed,
            inferred(CloseReason::NoMessages, "2026-12-01T11:00:00Z"),
            "tx-0004",
        ),
    ]
}

pub fn stations() -> Vec<csms_domain::station::Station> {
    use csms_domain::station::{Approval, BootInfo, RegistrationStatus, Station};
    use csms_domain::OcppVersion;
    let boot = |full: bool, registration| BootInfo {
        vendor: "Zaptec".to_owned(),
        model: if full { "Pro" } else { "Go" }.to_owned(),
        serial_number: full.then(|| "ZAP-0001".to_owned()),
        firmware_version: full.then(|| "2.1.0".to_owned()),
        reason: full.then(|| "PowerUp".to_owned()),
        booted_at: t("2026-12-01T05:59:00.125Z"),
        registration,
        recent_boots: Vec::new(),
    };
    let bare = |id: &str, approval| Station {
        id: station(id),
        org_id: org("default"),
        site_id: None,
        name: None,
        password_hash: None,
        created_at: t("2026-11-30T12:00:00Z"),
        boot: None,
        ocpp_version: None,
        connection_id: None,
        last_seen_at: None,
        approval,
        previous_password: None,
        decommissioned_at: None,
        recent_connects: Vec::new(),
        recent_addresses: Vec::new(),
    };
    vec![
        bare("CP-2", Approval::Accepted),
        Station {
            site_id: Some(site("site-1")),
            org_id: org("brf-solsidan"),
            name: Some("Garage, bay 4".to_owned()),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
            boot: Some(boot(true, RegistrationStatus::Accepted)),
            ocpp_version: Some(OcppVersion::V201),
            connection_id: Some("conn-abc=".to_owned()),
            last_seen_at: Some(t("2026-12-01T08:30:00Z")),
            ..bare("CP-1", Approval::Accepted)
        },
        Station {
            boot: Some(boot(false, RegistrationStatus::Pending)),
            ocpp_version: Some(OcppVersion::V16),
            ..bare("CP-3", Approval::Pending)
        },
        Station {
            boot: Some(boot(false, RegistrationStatus::Rejected)),
            ocpp_version: Some(OcppVersion::V16),
            ..bare("CP-4", Approval::Rejected)
        },
        // A rotated password in its grace period, and out of service.
        Station {
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$bmV3".to_owned()),
            previous_password: Some(csms_domain::station::PreviousPassword {
                hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
                valid_until: t("2026-12-08T12:00:00Z"),
            }),
            decommissioned_at: Some(t("2026-12-06T07:00:00Z")),
            ..bare("CP-5", Approval::Accepted)
        },
        // Connects and boots of the last hour counted (flapping, boot loop).
        Station {
            boot: Some(BootInfo {
                recent_boots: vec![
                    t("2026-12-08T06:50:00Z"),
                    t("2026-12-08T06:55:00.500Z"),
                    t("2026-12-08T07:00:00Z"),
                ],
                ..boot(true, RegistrationStatus::Accepted)
            }),
            ocpp_version: Some(OcppVersion::V16),
            connection_id: Some("conn-xyz=".to_owned()),
            recent_connects: vec![t("2026-12-08T06:50:01Z"), t("2026-12-08T07:00:01Z")],
            ..bare("CP-6", Approval::Accepted)
        },
        Station {
            ocpp_version: Some(OcppVersion::V201),
            connection_id: Some("conn-abc=".to_owned()),
            recent_connects: vec![t("2026-12-08T07:00:01Z")],
            recent_addresses: vec![
                csms_domain::station::SeenAddress {
                    address: "192.0.2.10".to_owned(),
                    at: t("2026-12-07T18:00:00Z"),
                },
                csms_domain::station::SeenAddress {
                    address: "2001:db8:1:2::/64".to_owned(),
                    at: t("2026-12-08T07:00:01Z"),
                },
            ],
            ..bare("CP-7", Approval::Accepted)
        },
    ]
}

pub fn connector_statuses() -> Vec<csms_domain::station::ConnectorStatus> {
    use csms_domain::station::ConnectorStatus;
    vec![
        ConnectorStatus {
            evse_id: 0,
            connector_id: 0,
            status: "Available".to_owned(),
            error_code: None,
            info: None,
            updated_at: t("2026-12-01T06:00:00Z"),
        },
        ConnectorStatus {
            evse_id: 2,
            connector_id: 1,
            status: "Faulted".to_owned(),
            error_code: Some("GroundFailure".to_owned()),
            info: Some("RCD tripped".to_owned()),
            updated_at: t("2026-12-01T06:00:00.5Z"),
        },
    ]
}

pub fn connections() -> Vec<csms_domain::station::Connection> {
    use csms_domain::station::{Approval, Connection};
    use csms_domain::OcppVersion;
    let connection = |id: &str, version, approval, site_id| Connection {
        connection_id: id.to_owned(),
        station_id: station("CP-1"),
        org_id: org("default"),
        site_id,
        ocpp_version: version,
        connected_at: t("2026-12-01T06:00:00Z"),
        last_seen_at: t("2026-12-01T06:05:00.75Z"),
        previous_seen_at: None,
        second_previous_seen_at: None,
        approval,
        clock: None,
        messages: 0,
        flood: None,
    };
    vec![
        connection("conn-1=", OcppVersion::V16, Approval::Accepted, None),
        connection(
            "conn-2=",
            OcppVersion::V201,
            Approval::Pending,
            Some(site("site-1")),
        ),
        connection("conn-3=", OcppVersion::V201, Approval::Rejected, None),
        Connection {
            clock: Some(csms_domain::station::ClockCheck {
                drifting: Some(true),
                tolerance_secs: Some(300),
            }),
            ..connection("conn-4=", OcppVersion::V16, Approval::Accepted, None)
        },
        Connection {
            messages: 1234,
            flood: Some(csms_domain::station::FloodCheck {
                window_from: t("2026-12-01T06:04:00.25Z"),
                window_base: 1100,
                marks: Vec::new(),
                flooding: Some(true),
                limit_count: Some(120),
                limit_window_secs: Some(60),
            }),
            ..connection("conn-5=", OcppVersion::V201, Approval::Accepted, None)
        },
        Connection {
            messages: 7,
            ..connection("conn-6=", OcppVersion::V16, Approval::Accepted, None)
        },
        Connection {
            messages: 140,
            previous_seen_at: Some(t("2026-12-01T06:05:00.5Z")),
            second_previous_seen_at: Some(t("2026-12-01T06:04:59Z")),
            flood: Some(csms_domain::station::FloodCheck {
                window_from: t("2026-12-01T06:04:00.25Z"),
                window_base: 12,
                marks: vec![
                    csms_domain::station::FloodMark {
                        from: t("2026-12-01T06:04:30Z"),
                        base: 41,
                    },
                    csms_domain::station::FloodMark {
                        from: t("2026-12-01T06:04:50.125Z"),
                        base: 70,
                    },
                ],
                flooding: Some(false),
                limit_count: Some(120),
                limit_window_secs: Some(60),
            }),
            ..connection("conn-7=", OcppVersion::V16, Approval::Accepted, None)
        },
    ]
}

pub fn id_tokens() -> Vec<csms_domain::token::IdTokenRecord> {
    use csms_domain::token::{IdTokenRecord, IdTokenType, TokenStatus};
    use csms_domain::IdTokenValue;
    let statuses = [
        TokenStatus::Accepted,
        TokenStatus::Blocked,
        TokenStatus::Expired,
        TokenStatus::Invalid,
    ];
    // The types there were when the fixture was first written, one line
    // each; later types come after the lines that were there.
    IdTokenType::ALL[..8]
        .iter()
        .copied()
        .enumerate()
        .map(|(i, token_type)| {
            let full = i % 2 == 1;
            IdTokenRecord {
                user_id: None,
                token: IdTokenValue::parse(format!("04A1B2C3D{i}")).unwrap(),
                token_type,
                status: statuses[i % statuses.len()],
                valid_from: None,
                valid_to: full.then(|| t("2027-12-31T23:59:59Z")),
                org_id: org(if full { "brf-solsidan" } else { "default" }),
                group: full.then(|| "residents".to_owned()),
                parent_id: None,
                emaid: None,
                payment_hold: None,
                label: None,
                block: None,
                created_at: t("2026-12-01T07:00:00Z"),
                updated_at: None,
                version: 0,
            }
        })
        // The life-cycle fields (issue 17.3), all set: a blocked and
        // unblocked MAC address with dates, parent, contract id and label.
        .chain([IdTokenRecord {
            user_id: None,
            token: IdTokenValue::parse("0123456789AB").unwrap(),
            token_type: IdTokenType::MacAddress,
            status: TokenStatus::Accepted,
            valid_from: Some(t("2026-12-01T00:00:00Z")),
            valid_to: Some(t("2027-12-31T23:59:59Z")),
            org_id: org("brf-solsidan"),
            group: Some("residents".to_owned()),
            parent_id: Some(IdTokenValue::parse("FLEET-7").unwrap()),
            emaid: Some("SE-ABC-C12345678-X".to_owned()),
            payment_hold: None,
            label: Some("Anna's car".to_owned()),
            block: Some(csms_domain::token::TokenBlock {
                reason: "lost".to_owned(),
                by: "01JDX3N6Q8Z4V7T2K9R5M1B0CF".to_owned(),
                at: t("2026-12-02T07:00:00Z"),
                unblocked_at: Some(t("2026-12-03T07:00:00Z")),
                unblocked_by: Some("admin".to_owned()),
            }),
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: Some(t("2026-12-03T07:00:00Z")),
            version: 3,
        }])
        // A one-off identity of a payment at the charger (issue 18.6).
        .chain([IdTokenRecord {
            user_id: None,
            token: IdTokenValue::parse("SLABCDEFGHIJKLMNOPQR").unwrap(),
            token_type: IdTokenType::Central,
            status: TokenStatus::Accepted,
            valid_from: None,
            valid_to: Some(t("2026-12-08T07:00:00Z")),
            org_id: org("brf-solsidan"),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: Some("pi_3QabcDEF123".to_owned()),
            label: Some("paid at the charger: EVSE 1 of station CP-1".to_owned()),
            block: None,
            created_at: t("2026-12-07T07:00:00Z"),
            updated_at: None,
            version: 1,
        }])
        // A garage charger's e-mail identity (issue 17.3).
        .chain([IdTokenRecord {
            user_id: Some(
                csms_domain::user::UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
            ),
            token: IdTokenValue::parse("anna@brf-solsidan.se").unwrap(),
            token_type: IdTokenType::EMail,
            status: TokenStatus::Accepted,
            valid_from: None,
            valid_to: None,
            org_id: org("brf-solsidan"),
            group: None,
            parent_id: None,
            emaid: None,
            payment_hold: None,
            label: Some("garage: CP-101".to_owned()),
            block: None,
            created_at: t("2026-12-07T07:00:00Z"),
            updated_at: None,
            version: 1,
        }])
        .collect()
}

pub fn garage_identities() -> Vec<csms_domain::access::GarageIdentity> {
    use csms_domain::access::GarageIdentity;
    use csms_domain::IdTokenValue;
    let anna = csms_domain::user::UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap();
    vec![
        GarageIdentity {
            station_id: station("CP-101"),
            org_id: org("brf-solsidan"),
            id_token: IdTokenValue::parse("anna@brf-solsidan.se").unwrap(),
            user_id: anna.clone(),
            free_vend_id_tag: Some(IdTokenValue::parse("FREEVEND").unwrap()),
            updated_at: t("2026-12-07T07:00:00Z"),
            version: 2,
        },
        GarageIdentity {
            station_id: station("CP-201"),
            org_id: org("brf-solsidan"),
            id_token: IdTokenValue::parse("anna@brf-solsidan.se").unwrap(),
            user_id: anna,
            free_vend_id_tag: None,
            updated_at: t("2026-12-07T07:00:00Z"),
            version: 1,
        },
    ]
}

pub fn unregistered_tokens() -> Vec<csms_domain::token::UnregisteredToken> {
    use csms_domain::token::{IdTokenType, UnregisteredToken};
    use csms_domain::IdTokenValue;
    vec![
        UnregisteredToken {
            org_id: org("default"),
            token: IdTokenValue::parse("04DEADBEEF").unwrap(),
            token_type: None,
            station_id: csms_domain::StationId::parse("CP-1").unwrap(),
            first_seen: t("2026-12-01T07:00:00Z"),
            last_seen: t("2026-12-01T07:00:00Z"),
            count: 1,
        },
        UnregisteredToken {
            org_id: org("brf-solsidan"),
            token: IdTokenValue::parse("0123456789AB").unwrap(),
            token_type: Some(IdTokenType::MacAddress),
            station_id: csms_domain::StationId::parse("CP-2").unwrap(),
            first_seen: t("2026-12-01T07:00:00Z"),
            last_seen: t("2026-12-02T08:30:00Z"),
            count: 4,
        },
    ]
}

pub fn api_keys() -> Vec<csms_domain::api_key::ApiKey> {
    use csms_domain::api_key::{ApiKey, Scope};
    vec![
        ApiKey {
            id: "01JDX3N6Q8Z4V7T2K9R5M1B0CE".to_owned(),
            org_id: org("default"),
            name: "dashboard".to_owned(),
            scopes: vec![Scope::Read],
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            created_at: t("2026-12-01T07:00:00Z"),
            revoked_at: None,
            version: 0,
        },
        ApiKey {
            id: "01JDX3N6Q8Z4V7T2K9R5M1B0CF".to_owned(),
            org_id: org("brf-solsidan"),
            name: "operator".to_owned(),
            scopes: vec![Scope::Read, Scope::Commands, Scope::Admin],
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaDI".to_owned(),
            created_at: t("2026-12-01T07:00:00.001Z"),
            revoked_at: Some(t("2026-12-02T07:00:00Z")),
            version: 2,
        },
    ]
}

pub fn webhooks() -> Vec<csms_domain::webhook::Webhook> {
    use csms_domain::webhook::{EventType, Webhook};
    vec![
        Webhook {
            id: "wh-1".to_owned(),
            org_id: org("default"),
            url: "https://example.com/hook".to_owned(),
            events: vec![EventType::SessionEnded],
            description: None,
            secret: "whsec_0123456789".to_owned(),
            created_by: None,
            created_at: t("2026-12-01T07:00:00Z"),
            deleted_at: None,
            failing_since: None,
            version: 0,
        },
        Webhook {
            id: "wh-2".to_owned(),
            org_id: org("brf-solsidan"),
            url: "https://example.com/all?x=1".to_owned(),
            // Every event type there was when it was written.
            events: EventType::ALL
                .into_iter()
                .filter(|e| {
                    !matches!(
                        e,
                        EventType::BookingRefused
                            | EventType::AlarmOpened
                            | EventType::AlarmResolved
                            | EventType::InvoiceIssued
                            | EventType::InvoicePaid
                            | EventType::InvoiceReminded
                            | EventType::InvoiceBlocked
                    )
                })
                .collect(),
            description: Some("everything".to_owned()),
            secret: "whsec_abcdef".to_owned(),
            created_by: Some("01JDX3N6Q8Z4V7T2K9R5M1B0CE".to_owned()),
            created_at: t("2026-12-01T07:00:00.001Z"),
            deleted_at: Some(t("2026-12-03T00:00:00Z")),
            failing_since: None,
            version: 3,
        },
        Webhook {
            id: "wh-3".to_owned(),
            org_id: org("brf-solsidan"),
            url: "https://example.com/alarms".to_owned(),
            events: vec![EventType::AlarmOpened, EventType::AlarmResolved],
            description: None,
            secret: "whsec_fedcba".to_owned(),
            created_by: None,
            created_at: t("2026-12-07T07:00:00Z"),
            deleted_at: None,
            failing_since: Some(t("2026-12-07T09:30:00Z")),
            version: 5,
        },
        Webhook {
            id: "wh-4".to_owned(),
            org_id: org("brf-solsidan"),
            url: "https://example.com/accounting".to_owned(),
            events: vec![
                EventType::InvoiceIssued,
                EventType::InvoicePaid,
                EventType::InvoiceReminded,
                EventType::InvoiceBlocked,
            ],
            description: Some("the accounting system".to_owned()),
            secret: "whsec_012345".to_owned(),
            created_by: None,
            created_at: t("2026-12-07T17:00:00Z"),
            deleted_at: None,
            failing_since: None,
            version: 1,
        },
    ]
}

pub fn deliveries() -> Vec<csms_domain::webhook::Delivery> {
    use csms_domain::webhook::{Attempt, Delivery, DeliveryStatus, EventType};
    let delivery = |id: &str, status, attempts, next_attempt_at| Delivery {
        id: id.to_owned(),
        webhook_id: "wh-2".to_owned(),
        org_id: org("brf-solsidan"),
        event_id: format!("evt-{id}"),
        event_type: EventType::SessionPriced,
        body: r#"{"type":"session.priced","data":{"sessionId":"CP-1~1234"}}"#.to_owned(),
        status,
        attempts,
        next_attempt_at,
        created_at: t("2026-12-01T08:30:00Z"),
        version: 1,
    };
    vec![
        delivery(
            "d-1",
            DeliveryStatus::Pending,
            Vec::new(),
            Some(t("2026-12-01T08:30:00Z")),
        ),
        delivery(
            "d-2",
            DeliveryStatus::Succeeded,
            vec![Attempt {
                at: t("2026-12-01T08:30:01Z"),
                status_code: Some(200),
                response_body: Some("ok".to_owned()),
                error: None,
                duration_ms: 120,
            }],
            None,
        ),
        delivery(
            "d-3",
            DeliveryStatus::Failed,
            vec![
                Attempt {
                    at: t("2026-12-01T08:30:01Z"),
                    status_code: None,
                    response_body: None,
                    error: Some("connection refused".to_owned()),
                    duration_ms: 3,
                },
                Attempt {
                    at: t("2026-12-01T08:31:01Z"),
                    status_code: Some(500),
                    response_body: Some("boom".to_owned()),
                    error: Some("status 500".to_owned()),
                    duration_ms: 45,
                },
            ],
            None,
        ),
    ]
}

pub fn audit_entries() -> Vec<csms_domain::audit::AuditEntry> {
    use csms_domain::audit::AuditEntry;
    vec![
        AuditEntry::new(
            OrgId::default_org(),
            t("2026-12-06T18:00:00.125Z"),
            "key_01JDX3N6Q8Z4V7T2K9R5M1B0C1",
            "PATCH /stations/{id}",
            "/api/v1/stations/CP-1",
            ["siteId".to_owned(), "name".to_owned()],
            200,
        ),
        AuditEntry::new(
            OrgId::parse("brf-solrosen").unwrap(),
            t("2026-12-06T18:01:00Z"),
            "admin",
            "DELETE /tariffs/{id}",
            "/api/v1/tariffs/trf_01JDX3N6Q8Z4V7T2K9R5M1B0C1",
            [],
            204,
        ),
    ]
}

pub fn alarms() -> Vec<csms_domain::alarm::Alarm> {
    use csms_domain::alarm::{Alarm, Severity};
    vec![
        Alarm {
            id: "alarm-1".to_owned(),
            org_id: org("default"),
            kind: "stationOffline".to_owned(),
            severity: Severity::Warning,
            title: None,
            message: "CP-1 has been offline for 10 minutes".to_owned(),
            details: serde_json::json!({"stationId": "CP-1", "minutes": 10, "ratio": 0.5, "tags": ["a", null, true], "nested": {}}),
            raised_at: t("2026-12-01T08:00:00Z"),
            action: None,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: None,
            handling: Default::default(),
            version: 0,
        },
        Alarm {
            id: "alarm-2".to_owned(),
            org_id: org("brf-solsidan"),
            kind: "undecodableRecord".to_owned(),
            severity: Severity::Critical,
            title: None,
            message: "a record could not be read".to_owned(),
            details: serde_json::Value::Null,
            raised_at: t("2026-12-01T08:00:00.001Z"),
            action: None,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: Some(t("2026-12-01T09:00:00Z")),
            handling: Default::default(),
            version: 4,
        },
        Alarm {
            id: "station-offline:CP-2".to_owned(),
            org_id: org("brf-solsidan"),
            kind: "stationOffline".to_owned(),
            severity: Severity::Warning,
            title: None,
            message: "CP-2 is offline".to_owned(),
            details: serde_json::json!({}),
            raised_at: t("2026-12-02T08:00:00Z"),
            action: None,
            occurrences: 1,
            last_seen_at: None,
            resolved_at: Some(t("2026-12-02T10:00:00Z")),
            handling: csms_domain::alarm::Handling {
                acknowledged: Some(("key-1".to_owned(), t("2026-12-02T08:30:00Z"))),
                resolved_by: Some("admin".to_owned()),
                note: Some("Breaker reset by the caretaker".to_owned()),
            },
            version: 3,
        },
        Alarm {
            id: "connector-faulted:CP-3:1:1".to_owned(),
            org_id: org("brf-solsidan"),
            kind: "connectorFaulted".to_owned(),
            severity: Severity::Critical,
            title: Some("Station CP-3 EVSE 1 connector 1 faulted".to_owned()),
            message: "station CP-3 reports EVSE 1 connector 1 Faulted (GroundFailure)".to_owned(),
            details: serde_json::json!({"errorCode": "GroundFailure", "info": "E42"}),
            action: Some("send a technician".to_owned()),
            raised_at: t("2026-12-03T08:00:00Z"),
            occurrences: 3,
            last_seen_at: Some(t("2026-12-03T09:00:00Z")),
            resolved_at: None,
            handling: Default::default(),
            version: 3,
        },
    ]
}

pub fn spot_days() -> Vec<csms_domain::spot::SpotDay> {
    use csms_domain::spot::{SpotDay, SpotSlot, SpotSource};
    let day = |zone: &str, source, slots: Vec<(&str, &str, &str)>| SpotDay {
        zone: BiddingZone::parse(zone).unwrap(),
        date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        currency: "SEK".to_owned(),
        resolution_minutes: 60,
        slots: slots
            .into_iter()
            .map(|(start, end, price)| SpotSlot {
                start: t(start),
                end: t(end),
                price: d(price),
            })
            .collect(),
        source,
        fetched_at: t("2026-11-30T13:00:00.5Z"),
    };
    let slots = || {
        vec![
            ("2026-11-30T23:00:00Z", "2026-12-01T00:00:00Z", "0.45123"),
            ("2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z", "-0.01"),
        ]
    };
    vec![
        day("SE3", SpotSource::Elprisetjustnu, slots()),
        day("SE4", SpotSource::Entsoe, slots()),
        day("SE1", SpotSource::Manual, slots()),
        day(
            "SE2",
            SpotSource::Fallback {
                rule: "yesterday's prices".to_owned(),
            },
            slots(),
        ),
    ]
}

pub fn priced_sessions() -> Vec<csms_domain::pricing::PricedSession> {
    use csms_domain::pricing::{LineKind, PriceLine, PricedSession, PricingAudit, ROUNDING_RULE};
    use csms_domain::SessionId;
    let line = |kind, quantity: &str, unit: &str, full: bool| PriceLine {
        kind,
        start: t("2026-12-01T06:00:00Z"),
        end: t("2026-12-01T08:30:00.5Z"),
        quantity: d(quantity),
        unit: unit.to_owned(),
        unit_price: d("1.2345"),
        net: d("13.58"),
        element: full.then_some(1),
        spot_price: full.then(|| d("0.45123")),
    };
    let priced = |revision: u32, full: bool, lines| PricedSession {
        session_id: SessionId::parse("CP-1~1234").unwrap(),
        station_id: station("CP-1"),
        org_id: org("default"),
        revision,
        tariff_id: "tariff-1".to_owned(),
        tariff_version: 2,
        tariff_name: "Residents".to_owned(),
        tariff_reason: vec!["station CP-1".to_owned(), "group residents".to_owned()],
        id_token: full.then(|| "04A1B2C3D4".to_owned()),
        group: full.then(|| "residents".to_owned()),
        currency: "SEK".to_owned(),
        vat_rate: d("0.25"),
        started_at: t("2026-12-01T06:00:00Z"),
        ended_at: t("2026-12-01T08:30:00.5Z"),
        charging_ended_at: t("2026-12-01T08:00:00Z"),
        energy_wh: d("11500.5"),
        lines,
        net: d("20.00"),
        vat: d("5.00"),
        gross: d("25.00"),
        rounding: ROUNDING_RULE.to_owned(),
        warnings: if full {
            vec!["the start was unknown".to_owned()]
        } else {
            Vec::new()
        },
        priced_at: t("2026-12-01T08:31:00Z"),
        audit: PricingAudit {
            reason: if full {
                "tariff corrected"
            } else {
                "session completed"
            }
            .to_owned(),
            requested_by: full.then(|| "01JDX3N6Q8Z4V7T2K9R5M1B0CE".to_owned()),
        },
    };
    vec![
        priced(
            1,
            false,
            vec![line(LineKind::Energy, "11.5005", "kWh", false)],
        ),
        priced(
            2,
            true,
            vec![
                line(LineKind::Energy, "11.5005", "kWh", true),
                line(LineKind::Time, "150", "min", true),
                line(LineKind::SessionFee, "1", "session", false),
                line(LineKind::Idle, "0.5", "h", false),
                line(LineKind::MinimumPriceAdjustment, "1", "session", false),
                line(LineKind::MaximumPriceAdjustment, "1", "session", false),
            ],
        ),
    ]
}

pub fn meter_readings() -> Vec<csms_domain::meter::MeterReading> {
    use csms_domain::meter::MeterReading;
    vec![
        MeterReading {
            timestamp: t("2026-12-01T06:00:00Z"),
            measurand: "Energy.Active.Import.Register".to_owned(),
            phase: None,
            location: None,
            context: None,
            value: d("1000.5"),
            unit: "Wh".to_owned(),
        },
        MeterReading {
            timestamp: t("2026-12-01T06:00:00.250Z"),
            measurand: "Current.Import".to_owned(),
            phase: Some("L2".to_owned()),
            location: Some("Outlet".to_owned()),
            context: Some("Sample.Periodic".to_owned()),
            value: d("-0.001"),
            unit: "A".to_owned(),
        },
    ]
}

fn address(street: &str, postal: &str, city: &str, country: &str) -> csms_domain::tenant::Address {
    csms_domain::tenant::Address::parse(street, postal, city, country).unwrap()
}

pub fn organisations() -> Vec<csms_domain::tenant::Organisation> {
    use csms_domain::tenant::*;
    let mut all = vec![
        Organisation {
            id: org("brf-solsidan"),
            kind: OrgKind::Brf,
            legal_name: "Bostadsrättsföreningen Solsidan".into(),
            organisation_number: Some(OrganisationNumber::parse("769600-1234").unwrap()),
            vat_number: None,
            address: Some(address("Solvägen 3", "123 45", "Solna", "SE")),
            contact_email: Some(Email::parse("styrelsen@solsidan.se").unwrap()),
            language: Language::Sv,
            payout_account: Some(PayoutAccount::Bankgiro(
                Bankgiro::parse("5050-1055").unwrap(),
            )),
            payment_terms: None,
            dunning: None,
            invoice_run_day: None,
            payout_terms: None,
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-01T07:00:00Z"),
            version: 1,
        },
        Organisation {
            id: org("laddbolaget"),
            kind: OrgKind::Cpo,
            legal_name: "Laddbolaget AB".into(),
            organisation_number: Some(OrganisationNumber::parse("556036-0793").unwrap()),
            vat_number: Some(VatNumber::parse("SE556036079301").unwrap()),
            address: Some(address("1 Main St", "SW1A 1AA", "London", "GB")),
            contact_email: Some(Email::parse("ops@laddbolaget.example").unwrap()),
            language: Language::En,
            payout_account: Some(PayoutAccount::Iban {
                iban: Iban::parse("SE4550000000058398257466").unwrap(),
                bic: Some(Bic::parse("ESSESESS").unwrap()),
            }),
            payment_terms: None,
            dunning: None,
            invoice_run_day: None,
            payout_terms: None,
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-03T08:30:00.125Z"),
            version: 3,
        },
        Organisation {
            id: org("acme"),
            kind: OrgKind::Company,
            legal_name: "Acme AB".into(),
            organisation_number: Some(OrganisationNumber::parse("212000-1355").unwrap()),
            vat_number: Some(VatNumber::parse("DE123456789").unwrap()),
            address: Some(address("Gatan 1", "111 22", "Stockholm", "SE")),
            contact_email: Some(Email::parse("a@acme.se").unwrap()),
            language: Language::Sv,
            payout_account: Some(PayoutAccount::Iban {
                iban: Iban::parse("DE89370400440532013000").unwrap(),
                bic: None,
            }),
            payment_terms: None,
            dunning: None,
            invoice_run_day: None,
            payout_terms: None,
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-01T07:00:00Z"),
            version: 1,
        },
        Organisation::default_placeholder(t("2026-12-05T00:00:00Z")),
    ];
    // Payment terms of its own (added with billing).
    let mut own_terms = all[0].clone();
    own_terms.id = org("brf-fakturan");
    own_terms.payment_terms = Some(PaymentTerms::new(20).unwrap());
    all.push(own_terms.clone());
    // Dunning settings and an invoice run day of its own (added with reminders).
    let mut dunning = own_terms;
    dunning.id = org("brf-paminnelsen");
    dunning.dunning = Some(
        csms_domain::billing::dunning::DunningSettings::new(&[5, 12], Some(d("60.00")), Some(20))
            .unwrap(),
    );
    dunning.invoice_run_day = Some(InvoiceRunDay::new(5).unwrap());
    all.push(dunning);
    let mut no_block = all[0].clone();
    no_block.id = org("brf-utanspar");
    no_block.dunning =
        Some(csms_domain::billing::dunning::DunningSettings::new(&[3], None, None).unwrap());
    all.push(no_block);
    // A payout contract of its own (added with settlements).
    let mut contract = all[1].clone();
    contract.id = org("laddbolaget-avtal");
    contract.payout_terms =
        Some(csms_domain::billing::settlement::PayoutTerms::new(10, d("2.5"), d("49.00")).unwrap());
    all.push(contract);
    all
}

pub fn sites() -> Vec<csms_domain::tenant::Site> {
    use csms_domain::tenant::*;
    let i = |s: &str| DayInterval::parse(s).unwrap();
    let mut days: [Vec<DayInterval>; 7] = Default::default();
    days[0] = vec![i("06:00-12:00"), i("13:00-18:00")];
    days[5] = vec![i("10:00-24:00")];
    vec![
        Site {
            id: site("garage-north"),
            org_id: org("brf-solsidan"),
            name: "Norra garaget".into(),
            address: address("Solvägen 3", "123 45", "Solna", "SE"),
            coordinates: Some(Coordinates::new(59.36, 18.0).unwrap()),
            time_zone: time_zone("Europe/Stockholm").unwrap(),
            bidding_zone: Some(BiddingZone::parse("SE3").unwrap()),
            opening_hours: Some(OpeningHours::weekly(days).unwrap()),
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-02T07:00:00Z"),
            version: 2,
        },
        Site {
            id: site("depot"),
            org_id: org("laddbolaget"),
            name: "Depot".into(),
            address: address("1 Main St", "SW1A 1AA", "London", "GB"),
            coordinates: None,
            time_zone: time_zone("Europe/London").unwrap(),
            bidding_zone: None,
            opening_hours: Some(OpeningHours::AlwaysOpen),
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-01T07:00:00Z"),
            version: 1,
        },
        Site {
            id: site("bare"),
            org_id: org("default"),
            name: "Bare".into(),
            address: address("Gatan 1", "111 22", "Stockholm", "SE"),
            coordinates: Some(Coordinates::new(-33.5, -70.25).unwrap()),
            time_zone: time_zone("America/Santiago").unwrap(),
            bidding_zone: None,
            opening_hours: None,
            created_at: t("2026-12-01T07:00:00Z"),
            updated_at: t("2026-12-01T07:00:00Z"),
            version: 1,
        },
    ]
}

pub fn users() -> Vec<csms_domain::user::User> {
    use csms_domain::tenant::Language;
    use csms_domain::user::*;
    vec![
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
            email: UserEmail::parse("anna.berg@brf-solsidan.se").unwrap(),
            name: "Anna Berg".into(),
            language: Language::Sv,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: false,
            memberships: vec![
                Membership {
                    org_id: OrgId::parse("brf-solsidan").unwrap(),
                    role: Role::OrgAdmin,
                },
                Membership {
                    org_id: OrgId::parse("laddbolaget").unwrap(),
                    role: Role::Viewer,
                },
            ],
            second_factor: None,
            stripe_customer: None,
            saved_card: None,
            company: None,
            created_at: t("2026-12-06T10:00:00Z"),
            updated_at: t("2026-12-06T11:30:00Z"),
            version: 3,
        },
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AC").unwrap(),
            email: UserEmail::parse("ops@laddbolaget.se").unwrap(),
            name: "Platform operations".into(),
            language: Language::En,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: true,
            memberships: vec![Membership {
                org_id: OrgId::default_org(),
                role: Role::PlatformAdmin,
            }],
            second_factor: None,
            stripe_customer: None,
            saved_card: None,
            company: None,
            created_at: t("2026-12-06T10:00:00Z"),
            updated_at: t("2026-12-06T10:00:00Z"),
            version: 1,
        },
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AD").unwrap(),
            email: UserEmail::parse("driver@example.com").unwrap(),
            name: "Driver".into(),
            language: Language::Sv,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: false,
            memberships: vec![
                Membership {
                    org_id: OrgId::parse("a").unwrap(),
                    role: Role::Operator,
                },
                Membership {
                    org_id: OrgId::parse("b").unwrap(),
                    role: Role::Accountant,
                },
                Membership {
                    org_id: OrgId::parse("c").unwrap(),
                    role: Role::Driver,
                },
            ],
            second_factor: None,
            stripe_customer: None,
            saved_card: None,
            company: None,
            created_at: t("2026-12-06T10:00:00Z"),
            updated_at: t("2026-12-06T10:00:00Z"),
            version: 1,
        },
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AE").unwrap(),
            email: UserEmail::parse("admin@example.com").unwrap(),
            name: "Admin with an app".into(),
            language: Language::En,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: false,
            memberships: vec![Membership {
                org_id: OrgId::parse("a").unwrap(),
                role: Role::OrgAdmin,
            }],
            second_factor: Some(csms_domain::user::SecondFactor {
                secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into(),
                confirmed: true,
                last_step: 58_833_334,
            }),
            stripe_customer: None,
            saved_card: None,
            company: None,
            created_at: t("2026-12-07T10:00:00Z"),
            updated_at: t("2026-12-07T10:05:00Z"),
            version: 3,
        },
        // A driver with a saved card (added with autopay).
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AF").unwrap(),
            email: UserEmail::parse("eva.lind@example.se").unwrap(),
            name: "Eva Lind".into(),
            language: Language::Sv,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: false,
            memberships: vec![Membership {
                org_id: OrgId::parse("a").unwrap(),
                role: Role::Driver,
            }],
            second_factor: None,
            stripe_customer: Some("cus_QAbcDeFgHiJkLm".into()),
            saved_card: Some(csms_domain::user::SavedCard {
                payment_method: "pm_1QAbcDeFgHiJkLmN".into(),
                brand: "visa".into(),
                last4: "4242".into(),
                exp_month: 12,
                exp_year: 2031,
                saved_at: t("2026-12-07T11:00:00Z"),
            }),
            company: None,
            created_at: t("2026-12-07T10:00:00Z"),
            updated_at: t("2026-12-07T11:00:00Z"),
            version: 2,
        },
        User {
            id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AG").unwrap(),
            email: UserEmail::parse("per.berg@example.se").unwrap(),
            name: "Per Berg".into(),
            language: Language::Sv,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            disabled: false,
            memberships: vec![Membership {
                org_id: OrgId::parse("a").unwrap(),
                role: Role::Driver,
            }],
            second_factor: None,
            stripe_customer: Some("cus_QAbcDeFgHiJkLm".into()),
            saved_card: Some(csms_domain::user::SavedCard {
                payment_method: "pm_1QAbcDeFgHiJkLmN".into(),
                brand: "visa".into(),
                last4: "4242".into(),
                exp_month: 12,
                exp_year: 2031,
                saved_at: t("2026-12-07T11:00:00Z"),
            }),
            company: Some(csms_domain::user::BuyerCompany {
                legal_name: "Bergs Bygg AB".into(),
                organisation_number: csms_domain::tenant::OrganisationNumber::parse("556677-8899")
                    .unwrap(),
            }),
            created_at: t("2026-12-07T10:00:00Z"),
            updated_at: t("2026-12-07T11:00:00Z"),
            version: 2,
        },
    ]
}

pub fn station_access() -> Vec<csms_domain::access::StationAccess> {
    use csms_domain::access::*;
    use csms_domain::tenant::DayInterval;
    let office = AccessPolicy {
        schedule: Schedule::new(
            AccessMode::Public,
            vec![Rule {
                days: Weekdays::parse(["mon", "tue", "wed", "thu", "fri"]).unwrap(),
                time: DayInterval::parse("06:00-18:00").unwrap(),
                mode: AccessMode::Private,
            }],
            vec![Exception {
                from: "2026-12-24".parse().unwrap(),
                to: "2026-12-26".parse().unwrap(),
                mode: AccessMode::SemiPublic,
            }],
        )
        .unwrap(),
        groups: vec!["residents".into(), "staff".into()],
    };
    vec![
        StationAccess {
            station_id: station("CP-101"),
            org_id: org("brf-solsidan"),
            policy: office,
            evses: [(2, AccessPolicy::legacy())].into_iter().collect(),
            updated_at: t("2026-12-06T07:00:00Z"),
            version: 2,
        },
        StationAccess {
            station_id: station("CP-1"),
            org_id: org("default"),
            policy: AccessPolicy {
                schedule: Schedule::always(AccessMode::Public),
                groups: Vec::new(),
            },
            evses: Default::default(),
            updated_at: t("2026-12-06T07:00:00Z"),
            version: 1,
        },
    ]
}

pub fn user_sessions() -> Vec<csms_domain::user::UserSession> {
    use csms_domain::user::*;
    vec![UserSession {
        id_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        user_id: UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
        created_at: t("2026-12-06T10:00:00Z"),
        last_seen_at: t("2026-12-06T12:01:00Z"),
        expires_at: t("2026-12-13T10:00:00Z"),
        csrf_token: "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0".into(),
    }]
}

pub fn access_attempts() -> Vec<csms_domain::access::AccessAttempt> {
    use csms_domain::access::*;
    vec![
        AccessAttempt {
            station_id: station("CP-101"),
            org_id: org("brf-solsidan"),
            evse_id: Some(1),
            connector_id: Some(1),
            token: csms_domain::IdTokenValue::parse("04A2BC19").unwrap(),
            at: t("2026-12-06T07:00:00Z"),
            mode: AccessMode::Private,
            reason: AccessRefusal::OtherOrganisation,
            source: "StartTransaction".into(),
        },
        AccessAttempt {
            station_id: station("CP-101"),
            org_id: org("brf-solsidan"),
            evse_id: None,
            connector_id: None,
            token: csms_domain::IdTokenValue::parse("GUEST-1").unwrap(),
            at: t("2026-12-06T07:01:00Z"),
            mode: AccessMode::Private,
            reason: AccessRefusal::GroupNotAllowed,
            source: "Authorize".into(),
        },
    ]
}

pub fn ratings() -> Vec<csms_domain::rating::Rating> {
    use csms_domain::rating::{Rating, Stars};
    use csms_domain::user::UserId;
    vec![
        Rating {
            session_id: csms_domain::SessionId::parse("CP-1~7").unwrap(),
            org_id: org("brf-solrosen"),
            station_id: station("CP-1"),
            site_id: Some(site("garage")),
            user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            stars: Stars::new(4).unwrap(),
            comment: Some("Bra laddare, lite trångt".into()),
            created_at: t("2026-12-01T10:00:00Z"),
            updated_at: t("2026-12-03T08:30:00.250Z"),
            version: 2,
        },
        Rating {
            session_id: csms_domain::SessionId::parse("CP-2~tx-1").unwrap(),
            org_id: OrgId::default_org(),
            station_id: station("CP-2"),
            site_id: None,
            user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAW").unwrap(),
            stars: Stars::new(1).unwrap(),
            comment: None,
            created_at: t("2026-12-02T19:00:00Z"),
            updated_at: t("2026-12-02T19:00:00Z"),
            version: 1,
        },
    ]
}

pub fn bookings() -> Vec<csms_domain::booking::Booking> {
    use csms_domain::booking::*;
    let window = |a: &str, b: &str| Window::stored(t(a), t(b)).unwrap();
    vec![
        Booking {
            id: BookingId::parse("bk_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
            org_id: org("brf-solsidan"),
            station_id: station("CP-101"),
            evse_id: 1,
            token: csms_domain::IdTokenValue::parse("04A2BC19").unwrap(),
            user_id: Some(
                csms_domain::user::UserId::parse("usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
            ),
            window: window("2026-12-07T08:00:00Z", "2026-12-07T10:00:00Z"),
            status: BookingStatus::Reserved,
            reserve_outcome: Some("Accepted".into()),
            created_by: "user:usr_01JEQ3V3N7Q4G8W1Z5X2M9K0AB".into(),
            created_at: t("2026-12-06T12:00:00Z"),
            updated_at: t("2026-12-07T07:55:00Z"),
            version: 2,
        },
        Booking {
            id: BookingId::parse("bk_01JEQ3V3N7Q4G8W1Z5X2M9K0AC").unwrap(),
            org_id: org("brf-solsidan"),
            station_id: station("CP-101"),
            evse_id: 2,
            token: csms_domain::IdTokenValue::parse("GUEST-1").unwrap(),
            user_id: None,
            window: window("2026-12-07T12:00:00Z", "2026-12-07T13:30:00Z"),
            status: BookingStatus::Booked,
            reserve_outcome: None,
            created_by: "admin".into(),
            created_at: t("2026-12-06T12:01:00Z"),
            updated_at: t("2026-12-06T12:01:00Z"),
            version: 1,
        },
    ]
}

pub fn email_links() -> Vec<csms_domain::email_link::EmailLink> {
    use csms_domain::email_link::*;
    use csms_domain::tenant::Language;
    use csms_domain::user::{Role, UserEmail, UserId};
    vec![
        EmailLink {
            id: LinkId::parse("lnk_01JEQ3V3N7Q4G8W1Z5X2M9K0AB").unwrap(),
            secret_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            purpose: LinkPurpose::Invitation(Invitation {
                org_id: org("brf-solsidan"),
                email: UserEmail::parse("eva.lind@example.se").unwrap(),
                role: Role::Driver,
                name: Some("Eva Lind".into()),
                language: Language::Sv,
                invited_by: "user:usr_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            }),
            created_at: t("2026-12-07T09:00:00Z"),
            expires_at: t("2026-12-14T09:00:00Z"),
            used_at: Some(t("2026-12-07T18:12:30.500Z")),
            revoked: None,
            version: 2,
        },
        EmailLink {
            id: LinkId::parse("lnk_01JEQ3V3N7Q4G8W1Z5X2M9K0AC").unwrap(),
            secret_hash: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752".into(),
            purpose: LinkPurpose::Invitation(Invitation {
                org_id: OrgId::default_org(),
                email: UserEmail::parse("ops@example.com").unwrap(),
                role: Role::Operator,
                name: None,
                language: Language::En,
                invited_by: "key:key_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            }),
            created_at: t("2026-12-07T09:00:00Z"),
            expires_at: t("2026-12-14T09:00:00Z"),
            used_at: None,
            revoked: Some(("admin".into(), t("2026-12-08T10:00:00Z"))),
            version: 2,
        },
        EmailLink {
            id: LinkId::parse("lnk_01JEQ3V3N7Q4G8W1Z5X2M9K0AD").unwrap(),
            secret_hash: "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13".into(),
            purpose: LinkPurpose::PasswordReset {
                user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAW").unwrap(),
                password_fingerprint: "5e884898da280471".into(),
            },
            created_at: t("2026-12-07T11:00:00Z"),
            expires_at: t("2026-12-07T12:00:00Z"),
            used_at: None,
            revoked: None,
            version: 1,
        },
    ]
}

pub fn charging_keys() -> Vec<csms_domain::charging_key::EvseChargingKey> {
    use csms_domain::charging_key::{ChargingKey, EvseChargingKey};
    vec![EvseChargingKey {
        key: ChargingKey::parse("k7qbz2m4xwa3ncd5ef6ghj2kl3mn4pq5").unwrap(),
        station_id: station("CP-1"),
        org_id: org("brf-solrosen"),
        evse_id: 2,
        created_at: t("2026-12-07T00:30:00Z"),
    }]
}

pub fn alarm_settings() -> Vec<csms_domain::alarm::AlarmSettings> {
    use csms_domain::alarm::{
        AlarmRecipient, AlarmSettings, Churn, InARow, Limit, Lingering, OfflineGrace,
        ProfileTolerance, Severity, Thresholds,
    };
    use csms_domain::tenant::{Email, Language};
    vec![
        AlarmSettings {
            org_id: org("brf-solsidan"),
            offline_grace: OfflineGrace::from_secs(900).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-07T08:00:00Z")),
            version: 2,
        },
        AlarmSettings {
            org_id: org("brf-solrosen"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            recipients: vec![
                AlarmRecipient {
                    email: Email::parse("jour@solrosen.se").unwrap(),
                    min_severity: Severity::Warning,
                    language: Language::Sv,
                },
                AlarmRecipient {
                    email: Email::parse("ops@example.com").unwrap(),
                    min_severity: Severity::Critical,
                    language: Language::En,
                },
            ],
            updated_at: Some(t("2026-12-07T09:00:00Z")),
            version: 3,
        },
        AlarmSettings {
            org_id: org("brf-solbacken"),
            offline_grace: OfflineGrace::from_secs(300).unwrap(),
            flapping: Churn::new(10, 1800).unwrap(),
            boot_loop: Churn::new(4, 600).unwrap(),
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-08T07:00:00Z")),
            version: 1,
        },
        AlarmSettings {
            org_id: org("brf-solgarden"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: Some(
                csms_domain::alarm::QuietHours::new(
                    chrono::NaiveTime::from_hms_opt(21, 30, 0).unwrap(),
                    chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                    chrono_tz::Europe::Stockholm,
                )
                .unwrap(),
            ),
            digest_warnings: true,
            digest_through: Some(t("2026-12-09T06:00:00Z")),
            updated_at: Some(t("2026-12-08T20:00:00Z")),
            version: 4,
        },
        AlarmSettings {
            org_id: org("brf-solstrand"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::new(10, 240).unwrap(),
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-09T08:00:00Z")),
            version: 1,
        },
        AlarmSettings {
            org_id: org("brf-solvik"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds {
                no_meter_values: Thresholds::NO_METER_VALUES.threshold(45).unwrap(),
                charging_nothing: Thresholds::CHARGING_NOTHING.threshold(20).unwrap(),
                status_contradiction: Thresholds::STATUS_CONTRADICTION.threshold(60).unwrap(),
                clock_drift: Thresholds::CLOCK_DRIFT.threshold(120).unwrap(),
            },
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-10T08:00:00Z")),
            version: 1,
        },
        AlarmSettings {
            org_id: org("brf-solhem"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.limit(300, 60).unwrap(),
            many_addresses: Limit::MANY_ADDRESSES.limit(5, 604_800).unwrap(),
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-11T08:00:00Z")),
            version: 1,
        },
        AlarmSettings {
            org_id: org("brf-solvagen"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::new(5, 2, 300).unwrap(),
            command_timeouts: InARow::COMMAND_TIMEOUTS,
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-12T08:00:00Z")),
            version: 1,
        },
        AlarmSettings {
            org_id: org("brf-solgarden"),
            offline_grace: OfflineGrace::from_secs(600).unwrap(),
            flapping: Churn::FLAPPING,
            boot_loop: Churn::BOOT_LOOP,
            lingering: Lingering::DEFAULT,
            thresholds: Thresholds::DEFAULT,
            message_flood: Limit::MESSAGE_FLOOD.default,
            many_addresses: Limit::MANY_ADDRESSES.default,
            profile_ignored: ProfileTolerance::DEFAULT,
            command_timeouts: InARow::new(5).unwrap(),
            recipients: vec![],
            quiet_hours: None,
            digest_warnings: false,
            digest_through: None,
            updated_at: Some(t("2026-12-13T08:00:00Z")),
            version: 1,
        },
    ]
}

pub fn ledger_transactions() -> Vec<csms_domain::billing::ledger::LedgerTransaction> {
    use csms_domain::billing::ledger::*;
    use csms_domain::user::UserId;
    let org = || org("brf-solsidan");
    vec![
        LedgerTransaction::new(
            org(),
            LedgerReference::parse("invoice:F-17").unwrap(),
            "SEK".into(),
            "invoice F-17".into(),
            vec![
                Posting::debit(
                    Account::DriverReceivable {
                        org: org(),
                        user: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
                    },
                    d("166.25"),
                ),
                Posting::credit(Account::OrganisationPayable { org: org() }, d("166.25")),
            ],
            t("2026-12-01T06:00:00Z"),
        )
        .unwrap(),
        LedgerTransaction::new(
            org(),
            LedgerReference::parse("stripe:evt_1Nq").unwrap(),
            "SEK".into(),
            "card payment, fee and payout".into(),
            vec![
                Posting::debit(
                    Account::ProviderClearing {
                        provider: "stripe".into(),
                    },
                    d("100"),
                ),
                Posting::debit(Account::Payouts { org: org() }, d("0.50")),
                Posting::credit(Account::PlatformFeeIncome, d("2.5")),
                Posting::credit(Account::OrganisationPayable { org: org() }, d("98.00")),
            ],
            t("2026-12-03T10:15:00.250Z"),
        )
        .unwrap(),
    ]
}

pub fn invoices() -> Vec<csms_domain::billing::invoice::Invoice> {
    use csms_domain::billing::invoice::*;
    use csms_domain::billing::ocr::OcrReference;
    use csms_domain::billing::period::Period;
    use csms_domain::user::UserId;
    use csms_domain::SessionId;
    let line = |session: &str, rate: &str, net: &str, vat: &str, gross: &str| InvoiceLine {
        session_id: SessionId::parse(session).unwrap(),
        station_id: StationId::parse("CP-1").unwrap(),
        started_at: t("2026-11-03T17:00:00Z"),
        ended_at: t("2026-11-03T19:30:00Z"),
        energy_kwh: d("12.345"),
        tariff_name: "Boende".into(),
        price_revision: 2,
        vat_rate: d(rate),
        net: d(net),
        vat: d(vat),
        gross: d(gross),
    };
    let issued = |number: InvoiceNumber, seller: Seller, lines: Vec<InvoiceLine>| {
        Invoice::issue(InvoiceParts {
            org_id: org("brf-solsidan"),
            period: Period::parse("2026-11").unwrap(),
            number,
            currency: "SEK".into(),
            issue_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            seller,
            buyer: Buyer {
                user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
                name: "Eva Lind".into(),
                email: "eva.lind@example.se".into(),
                charged_for: ChargedFor::Unrecorded,
            },
            lines,
            charges: Vec::new(),
            created_at: t("2026-12-01T06:00:00Z"),
        })
        .unwrap()
    };
    vec![
        issued(
            InvoiceNumber::new("F-", 17).unwrap(),
            Seller {
                legal_name: "Bostadsrättsföreningen Solsidan".into(),
                organisation_number: Some("769600-1234".into()),
                vat_number: Some("SE769600123401".into()),
                address: Some("Solvägen 1, 123 45 Solna".into()),
            },
            vec![
                line("CP-1~41", "0.25", "40.00", "10.00", "50.00"),
                line("CP-1~42", "0.06", "100.00", "6.00", "106.00"),
            ],
        ),
        issued(
            InvoiceNumber::new("", 1).unwrap(),
            Seller {
                legal_name: "Laddbolaget".into(),
                organisation_number: None,
                vat_number: None,
                address: None,
            },
            vec![line("CP-1~7", "0.25", "0.80", "0.20", "1.00")],
        ),
        {
            // Issued with a billing code: the OCR reference is stored.
            let mut invoice = issued(
                InvoiceNumber::new("", 2).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~8", "0.25", "0.80", "0.20", "1.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 2).unwrap();
            invoice
        },
        {
            // Reminded twice (the second with a fee) and blocked, the
            // block lifted by the payment (added with reminders).
            use csms_domain::billing::dunning::{InvoiceBlock, Reminder};
            let mut invoice = issued(
                InvoiceNumber::new("", 3).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~9", "0.25", "0.80", "0.20", "1.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 3).unwrap();
            invoice.status = InvoiceStatus::PartlyPaid;
            invoice.reminders = vec![
                Reminder {
                    number: 1,
                    on: NaiveDate::from_ymd_opt(2027, 1, 3).unwrap(),
                    amount_due: d("1.00"),
                    fee: None,
                    recorded_at: t("2027-01-03T05:00:00Z"),
                    mailed_at: Some(t("2027-01-03T05:00:01.5Z")),
                },
                Reminder {
                    number: 2,
                    on: NaiveDate::from_ymd_opt(2027, 1, 10).unwrap(),
                    amount_due: d("0.50"),
                    fee: Some(d("60.00")),
                    recorded_at: t("2027-01-10T05:00:00Z"),
                    mailed_at: None,
                },
            ];
            invoice.block = Some(InvoiceBlock {
                on: NaiveDate::from_ymd_opt(2027, 1, 17).unwrap(),
                at: t("2027-01-17T05:00:00Z"),
                lifted_at: Some(t("2027-01-20T09:00:00Z")),
                lifted_by: Some("payment".into()),
            });
            invoice.version = 4;
            invoice
        },
        {
            // The saved card charged on the due date: declined, then paid
            // two days later (added with autopay).
            use csms_domain::billing::payment::{AttemptOutcome, CardAttempt};
            let mut invoice = issued(
                InvoiceNumber::new("", 4).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~10", "0.25", "0.80", "0.20", "1.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 4).unwrap();
            invoice.status = InvoiceStatus::Paid;
            invoice.card_attempts = vec![
                CardAttempt {
                    number: 1,
                    on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    amount: d("1.00"),
                    key: "csms-autopay-brf-solsidan~2026-11~usr_01ARZ3NDEKTSV4RRFFQ69G5FAV-1"
                        .into(),
                    intent: Some("pi_3QAbcDeFgHiJkLmN".into()),
                    outcome: AttemptOutcome::Failed,
                    reason: Some("card_declined: Your card was declined.".into()),
                    at: t("2026-12-31T05:00:00Z"),
                },
                CardAttempt {
                    number: 2,
                    on: NaiveDate::from_ymd_opt(2027, 1, 2).unwrap(),
                    amount: d("1.00"),
                    key: "csms-autopay-brf-solsidan~2026-11~usr_01ARZ3NDEKTSV4RRFFQ69G5FAV-2"
                        .into(),
                    intent: Some("pi_3QOpQrStUvWxYz".into()),
                    outcome: AttemptOutcome::Succeeded,
                    reason: None,
                    at: t("2027-01-02T05:00:00.25Z"),
                },
            ];
            invoice.version = 5;
            invoice
        },
        {
            // A session, a fee for half the month and a one-off charge
            // (added with fees).
            use csms_domain::billing::fee::{ChargeId, FeeId};
            let mut invoice = Invoice::issue(InvoiceParts {
                org_id: org("brf-solsidan"),
                period: Period::parse("2026-11").unwrap(),
                number: InvoiceNumber::new("", 5).unwrap(),
                currency: "SEK".into(),
                issue_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                seller: Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                buyer: Buyer {
                    user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
                    name: "Eva Lind".into(),
                    email: "eva.lind@example.se".into(),
                    charged_for: ChargedFor::Unrecorded,
                },
                lines: vec![line("CP-1~11", "0.25", "0.80", "0.20", "1.00")],
                charges: vec![
                    ChargeLine {
                        kind: ChargeKind::Fee {
                            fee_id: FeeId::parse("fee_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
                            from: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
                            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                            days: 15,
                            days_in_month: 30,
                        },
                        description: "Parkeringsplats 12".into(),
                        vat_rate: d("0.25"),
                        net: d("200.00"),
                        vat: d("50.00"),
                        gross: d("250.00"),
                    },
                    ChargeLine {
                        kind: ChargeKind::OneOff {
                            charge_id: ChargeId::parse("chg_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
                            date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                        },
                        description: "Ny nyckelbricka".into(),
                        vat_rate: d("0.25"),
                        net: d("80.00"),
                        vat: d("20.00"),
                        gross: d("100.00"),
                    },
                ],
                created_at: t("2026-12-01T06:00:00Z"),
            })
            .unwrap();
            invoice.ocr = OcrReference::for_invoice(42, 5).unwrap();
            invoice
        },
        {
            // Disputed and the dispute resolved (added with disputes).
            use csms_domain::billing::dunning::InvoiceDispute;
            let mut invoice = issued(
                InvoiceNumber::new("", 6).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~12", "0.25", "0.80", "0.20", "1.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 6).unwrap();
            invoice.dispute = Some(InvoiceDispute {
                reason: "Laddade inte den 3:e".into(),
                by: "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
                at: t("2027-01-02T09:00:00Z"),
                resolved_at: Some(t("2027-01-20T10:00:00Z")),
                resolved_by: Some("key_01JDX3N6Q8Z4V7T2K9R5M1B0CE".into()),
                resolved_on: Some(NaiveDate::from_ymd_opt(2027, 1, 20).unwrap()),
            });
            invoice.version = 3;
            invoice
        },
        {
            // Credited twice, the second note settling it (added with
            // credit notes).
            use csms_domain::billing::credit_note::CreditNoteRef;
            let mut invoice = issued(
                InvoiceNumber::new("", 7).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~13", "0.25", "8.00", "2.00", "10.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 7).unwrap();
            invoice.status = InvoiceStatus::Paid;
            invoice.credit_notes = vec![
                CreditNoteRef {
                    number: InvoiceNumber::new("K", 1).unwrap(),
                    issue_date: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
                    credited: d("2.50"),
                },
                CreditNoteRef {
                    number: InvoiceNumber::new("K", 2).unwrap(),
                    issue_date: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
                    credited: d("7.50"),
                },
            ];
            invoice.version = 3;
            invoice
        },
        {
            // The buyer's company kept at issue (added with Peppol credit
            // notes).
            let mut invoice = issued(
                InvoiceNumber::new("", 8).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~14", "0.25", "8.00", "2.00", "10.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 8).unwrap();
            invoice.buyer.charged_for = ChargedFor::Company(csms_domain::user::BuyerCompany {
                legal_name: "Bergs Bygg AB".into(),
                organisation_number: csms_domain::tenant::OrganisationNumber::parse("556677-8899")
                    .unwrap(),
            });
            invoice
        },
        {
            // The buyer charged privately at issue (added with Peppol
            // credit notes).
            let mut invoice = issued(
                InvoiceNumber::new("", 9).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~15", "0.25", "8.00", "2.00", "10.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 9).unwrap();
            invoice.buyer.charged_for = ChargedFor::Private;
            invoice
        },
        {
            // Paid by card and by Bankgiro, credited, and refunded: one by
            // Stripe, pending, one failed, one by hand (added with refunds).
            use csms_domain::billing::credit_note::CreditNoteRef;
            use csms_domain::billing::payment::PaymentId;
            use csms_domain::billing::refund::*;
            let mut invoice = issued(
                InvoiceNumber::new("", 10).unwrap(),
                Seller {
                    legal_name: "Laddbolaget".into(),
                    organisation_number: None,
                    vat_number: None,
                    address: None,
                },
                vec![line("CP-1~16", "0.25", "80.00", "20.00", "100.00")],
            );
            invoice.ocr = OcrReference::for_invoice(42, 10).unwrap();
            invoice.status = InvoiceStatus::Paid;
            invoice.credit_notes = vec![CreditNoteRef {
                number: InvoiceNumber::new("K", 3).unwrap(),
                issue_date: NaiveDate::from_ymd_opt(2026, 12, 12).unwrap(),
                credited: d("100.00"),
            }];
            let at = |h: u32| t(&format!("2026-12-12T{h:02}:00:00Z"));
            let refund = |id: &str, payment: &str, method, amount: &str, status| Refund {
                id: RefundId::parse(id).unwrap(),
                payment_id: PaymentId::parse(payment).unwrap(),
                method,
                amount: d(amount),
                reason: "Felaktig debitering".into(),
                status,
                key: format!("key-{id}"),
                provider_id: None,
                bank_reference: None,
                failure: None,
                created_by: "usr_01JABCDEFGHJKMNPQRSTVWXYZ0".into(),
                created_at: at(10),
                settled_at: None,
            };
            let mut failed = refund(
                "rf_01JF0000000000000000000001",
                "stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa",
                RefundMethod::Stripe,
                "60.00",
                RefundStatus::Failed,
            );
            failed.provider_id = Some("re_1Nispe2eZvKYlo2Cd31jOCgZ".into());
            failed.failure = Some("expired_or_canceled_card".into());
            failed.settled_at = Some(at(11));
            let mut pending = refund(
                "rf_01JF0000000000000000000002",
                "stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa",
                RefundMethod::Stripe,
                "60.00",
                RefundStatus::Pending,
            );
            pending.provider_id = Some("re_1Nispe2eZvKYlo2Cd31jOCgY".into());
            let mut manual = refund(
                "rf_01JF0000000000000000000003",
                "bgmax:17:000000000001",
                RefundMethod::Manual,
                "40.00",
                RefundStatus::Succeeded,
            );
            manual.bank_reference = Some("SEB 2026-12-12 4711".into());
            manual.settled_at = Some(at(10));
            invoice.refunds = vec![failed, pending, manual];
            invoice.version = 6;
            invoice
        },
    ]
}

pub fn credit_notes() -> Vec<csms_domain::billing::credit_note::CreditNote> {
    use csms_domain::billing::credit_note::*;
    use csms_domain::billing::invoice::*;
    use csms_domain::user::UserId;
    use csms_domain::SessionId;
    let user = UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
    let line = |item: CreditedItem, what: &str, rate: &str, net: &str, vat: &str, gross: &str| {
        CreditLine {
            item,
            description: what.into(),
            vat_rate: d(rate),
            net: d(net),
            vat: d(vat),
            gross: d(gross),
        }
    };
    let note = |seq: u64, lines: Vec<CreditLine>| {
        let (vat, net, vat_total, gross) = totals(&lines).unwrap();
        CreditNote {
            org_id: org("brf-solsidan"),
            number: InvoiceNumber::new("K", seq).unwrap(),
            invoice_id: InvoiceId::parse("brf-solsidan~2026-11~usr_01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .unwrap(),
            invoice_number: InvoiceNumber::new("", 5).unwrap(),
            user_id: user.clone(),
            currency: "SEK".into(),
            issue_date: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
            reason: "Fel pris på laddningen".into(),
            seller: Seller {
                legal_name: "Bostadsrättsföreningen Solsidan".into(),
                organisation_number: Some("769600-1234".into()),
                vat_number: None,
                address: None,
            },
            buyer: Buyer {
                user_id: user.clone(),
                name: "Eva Lind".into(),
                email: "eva.lind@example.se".into(),
                charged_for: ChargedFor::Unrecorded,
            },
            lines,
            vat,
            net,
            vat_total,
            gross,
            created_by: "user:usr_01JDX3N6Q8Z4V7T2K9R5M1B0CE".into(),
            created_at: t("2026-12-10T09:30:00Z"),
        }
    };
    vec![
        // A session and a fee credited whole.
        note(
            1,
            vec![
                line(
                    CreditedItem::Session(SessionId::parse("CP-1~11").unwrap()),
                    "CP-1 CP-1~11",
                    "0.25",
                    "-0.80",
                    "-0.20",
                    "-1.00",
                ),
                line(
                    CreditedItem::Charge("fee_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()),
                    "Parkeringsplats 12",
                    "0.25",
                    "-200.00",
                    "-50.00",
                    "-250.00",
                ),
            ],
        ),
        // An amount at a rate.
        note(
            2,
            vec![line(
                CreditedItem::Amount,
                "Rabatt",
                "0.25",
                "-8.00",
                "-2.00",
                "-10.00",
            )],
        ),
        // The buyer's company kept at issue (added with Peppol credit
        // notes).
        {
            let mut n = note(
                3,
                vec![line(
                    CreditedItem::Amount,
                    "Rabatt",
                    "0.25",
                    "-4.00",
                    "-1.00",
                    "-5.00",
                )],
            );
            n.buyer.charged_for = ChargedFor::Company(csms_domain::user::BuyerCompany {
                legal_name: "Bergs Bygg AB".into(),
                organisation_number: csms_domain::tenant::OrganisationNumber::parse("556677-8899")
                    .unwrap(),
            });
            n
        },
    ]
}

pub fn fees() -> Vec<csms_domain::billing::fee::Fee> {
    use csms_domain::billing::fee::{Fee, FeeId, FeeTarget};
    use csms_domain::user::UserId;
    vec![
        Fee {
            id: FeeId::parse("fee_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            org_id: org("brf-solsidan"),
            name: "Parkeringsplats 12".into(),
            target: FeeTarget::Driver(UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap()),
            amount: d("500"),
            includes_vat: true,
            vat_rate: d("0.25"),
            start: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
            end: Some(NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()),
            created_at: t("2026-11-10T08:00:00Z"),
            updated_at: Some(t("2026-11-12T09:30:00.5Z")),
            version: 2,
        },
        Fee {
            id: FeeId::parse("fee_01BX5ZZKBKACTAV9WEVGEMMVRZ").unwrap(),
            org_id: org("brf-solsidan"),
            name: "Medlemsavgift laddklubben".into(),
            target: FeeTarget::Group("residents".into()),
            amount: d("99.20"),
            includes_vat: false,
            vat_rate: d("0.25"),
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            end: None,
            created_at: t("2025-12-20T08:00:00Z"),
            updated_at: None,
            version: 1,
        },
    ]
}

pub fn one_off_charges() -> Vec<csms_domain::billing::fee::OneOffCharge> {
    use csms_domain::billing::fee::{ChargeId, OneOffCharge};
    use csms_domain::user::UserId;
    vec![OneOffCharge {
        id: ChargeId::parse("chg_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
        org_id: org("brf-solsidan"),
        user_id: UserId::parse("usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
        description: "Ny nyckelbricka".into(),
        amount: d("100.00"),
        includes_vat: true,
        vat_rate: d("0.25"),
        date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        created_at: t("2026-11-20T13:00:00Z"),
    }]
}

pub fn usage_days() -> Vec<csms_domain::usage::UsageDay> {
    use csms_domain::usage::{Mark, Peak, Revenue, SessionFact, UsageDay, UsageKey, Use};
    use rust_decimal::Decimal;
    vec![
        UsageDay {
            key: UsageKey {
                org_id: org("brf-solrosen"),
                station_id: station("CP-1"),
                evse_id: 1,
                day: "2026-11-05".parse().unwrap(),
            },
            site_id: Some(site("garage")),
            opening: Some(Use::Available),
            marks: vec![
                Mark {
                    at: t("2026-11-05T17:58:00Z"),
                    state: Use::Occupied,
                },
                Mark {
                    at: t("2026-11-05T18:00:00.500Z"),
                    state: Use::Charging,
                },
            ],
            sessions: vec![SessionFact {
                session_id: csms_domain::SessionId::parse("CP-1~7").unwrap(),
                started_at: t("2026-11-05T17:59:00Z"),
                ended_at: Some(t("2026-11-05T21:00:00Z")),
                energy_wh: Some(Decimal::new(212_345, 1)),
                revenue: Some(Revenue {
                    revision: 2,
                    currency: "SEK".into(),
                    net: Decimal::new(4000, 2),
                    vat: Decimal::new(1000, 2),
                    gross: Decimal::new(5000, 2),
                }),
            }],
            peaks: vec![Peak {
                hour: t("2026-11-05T18:00:00Z"),
                watts: Decimal::from(11_040),
            }],
            version: 4,
        },
        UsageDay {
            key: UsageKey {
                org_id: OrgId::default_org(),
                station_id: station("CP-2"),
                evse_id: 0,
                day: "2026-11-06".parse().unwrap(),
            },
            site_id: None,
            opening: None,
            marks: vec![Mark {
                at: t("2026-11-06T03:00:00Z"),
                state: Use::Offline,
            }],
            sessions: vec![],
            peaks: vec![],
            version: 1,
        },
    ]
}

pub fn payments() -> Vec<csms_domain::billing::payment::Payment> {
    use csms_domain::billing::invoice::InvoiceId;
    use csms_domain::billing::payment::{Payment, PaymentId};
    let unmatched = Payment {
        id: PaymentId::bgmax(17, "000000000002").unwrap(),
        provider: "bankgiro".into(),
        reference: "".into(),
        amount: d("50.00"),
        currency: "SEK".into(),
        paid_on: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        payer_name: None,
        invoice_id: None,
        org_id: None,
        surplus: d("0"),
        received_at: t("2026-12-05T08:30:12Z"),
        version: 1,
    };
    let matched = Payment {
        id: PaymentId::bgmax(17, "000000000001").unwrap(),
        reference: "3000001705".into(),
        amount: d("200.00"),
        payer_name: Some("Eva Lind".into()),
        invoice_id: Some(
            InvoiceId::parse("brf-solsidan~2026-11~usr_01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
        ),
        org_id: Some(org("brf-solsidan")),
        surplus: d("33.75"),
        version: 2,
        ..unmatched.clone()
    };
    vec![unmatched, matched]
}
