//! The pricing use case over the embedded store: idempotent first pricing,
//! no tariff, and a warning when the spot prices used are fallback prices.

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use csms_domain::session::{Session, SessionEnd, SessionUpdate};
use csms_domain::spot::{BiddingZone, SpotDay, SpotSlot, SpotSource};
use csms_domain::tariff::{
    AssignmentTarget, EnergyPrice, PriceComponent, Restrictions, SpotFormula, Tariff,
    TariffAssignment, TariffElement,
};
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{
    PricedSessionStore, SessionStore, SpotPriceStore, SystemClock, TariffStore,
};
use csms_pricing::{Priced, PricingService};
use csms_store_redb::EmbeddedStore;
use rust_decimal::Decimal;
use std::sync::Arc;

#[tokio::test]
async fn first_pricing_is_idempotent_and_fallback_prices_are_flagged() {
    let store = Arc::new(EmbeddedStore::temporary());
    let service = PricingService::new(store.clone(), Arc::new(SystemClock));
    let zone = BiddingZone::parse("SE3").unwrap();
    let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let t0 = zone.day_start(date) + TimeDelta::hours(10);

    let station = StationId::parse("CP-SVC").unwrap();
    let mut s = Session::blank(
        &station,
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(1),
        t0,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        started_at: Some(t0),
        meter_start_wh: Some(Decimal::from(1000)),
        end: Some(SessionEnd {
            ended_at: t0 + TimeDelta::hours(1),
            reason: None,
            meter_stop_wh: Some(Decimal::from(5000)),
        }),
        ..Default::default()
    });
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();

    // No tariff anywhere: nothing to price, and the resolution says where it looked.
    match service.price_session(&s.id).await.unwrap() {
        Priced::NoTariff(r) => assert_eq!(r.steps.len(), 2, "{r:?}"),
        other => panic!("expected no tariff, got {other:?}"),
    }

    let tariff = Tariff {
        id: "trf-spot".into(),
        org_id: OrgId::default_org(),
        name: "spot".into(),
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![TariffElement {
            components: vec![PriceComponent::Energy {
                price: EnergyPrice::Spot(SpotFormula {
                    zone,
                    factor: Decimal::ONE,
                    markup: Decimal::new(10, 2),
                    grid_fee: Decimal::ZERO,
                    energy_tax: Decimal::ZERO,
                    floor: Some(Decimal::ZERO),
                    ceiling: None,
                }),
            }],
            restrictions: Restrictions::default(),
        }],
        min_price: None,
        max_price: None,
        version: 1,
        effective_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        deleted_at: None,
    };
    store.put_tariff(&tariff, 0).await.unwrap();
    store
        .create_assignment(&TariffAssignment {
            id: "ast-org".into(),
            org_id: OrgId::default_org(),
            tariff_id: tariff.id.clone(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t0,
        })
        .await
        .unwrap();
    let start = zone.day_start(date);
    store
        .put_spot_day(&SpotDay {
            zone,
            date,
            currency: "SEK".into(),
            resolution_minutes: 60,
            slots: (0..24)
                .map(|h| SpotSlot {
                    start: start + TimeDelta::hours(h),
                    end: start + TimeDelta::hours(h + 1),
                    price: Decimal::ONE,
                })
                .collect(),
            source: SpotSource::Fallback {
                rule: "previous-day".into(),
            },
            fetched_at: start,
        })
        .await
        .unwrap();

    let Priced::Done { priced, new } = service.price_session(&s.id).await.unwrap() else {
        panic!("priced");
    };
    assert!(new);
    // 4 kWh × 1.10 = 4.40 net.
    assert_eq!(priced.net, Decimal::new(440, 2));
    assert!(
        priced.warnings.iter().any(|w| w.contains("fallback")),
        "{:?}",
        priced.warnings
    );
    // Priced again (a redelivered message): the same record, nothing new written.
    let Priced::Done { priced: again, new } = service.price_session(&s.id).await.unwrap() else {
        panic!("priced");
    };
    assert!(!new);
    assert_eq!(again, priced);
    assert_eq!(store.priced_revisions(&s.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_late_stop_reprices_a_session_the_csms_closed_once() {
    use csms_domain::session::{CloseReason, InferredEnd};
    let store = Arc::new(EmbeddedStore::temporary());
    let service = PricingService::new(store.clone(), Arc::new(SystemClock));
    let t0 = Utc::now() - TimeDelta::hours(2);
    let mut s = Session::blank(
        &StationId::parse("CP-LATE").unwrap(),
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(7),
        t0,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        started_at: Some(t0),
        meter_start_wh: Some(Decimal::from(1000)),
        registers: vec![(t0 + TimeDelta::minutes(10), Decimal::from(3000))],
        ..Default::default()
    });
    s.apply(&SessionUpdate {
        inferred_end: Some(InferredEnd {
            at: t0 + TimeDelta::minutes(30),
            reason: CloseReason::StationRebooted,
        }),
        ..Default::default()
    });
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    store
        .put_tariff(
            &Tariff {
                id: "trf-flat".into(),
                org_id: OrgId::default_org(),
                name: "flat".into(),
                currency: "SEK".into(),
                vat_rate: Decimal::ZERO,
                time_zone: Some("Europe/Stockholm".into()),
                elements: vec![TariffElement {
                    components: vec![PriceComponent::Energy {
                        price: EnergyPrice::Fixed {
                            per_kwh: Decimal::ONE,
                        },
                    }],
                    restrictions: Restrictions::default(),
                }],
                min_price: None,
                max_price: None,
                version: 1,
                effective_at: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
                created_at: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
                deleted_at: None,
            },
            0,
        )
        .await
        .unwrap();
    store
        .create_assignment(&TariffAssignment {
            id: "ast-flat".into(),
            org_id: OrgId::default_org(),
            tariff_id: "trf-flat".into(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t0,
        })
        .await
        .unwrap();
    let revision_and_energy = |p: Priced| match p {
        Priced::Done { priced, .. } => (priced.revision, priced.energy_wh, priced.warnings),
        other => panic!("expected a price, got {other:?}"),
    };
    let (rev, wh, warnings) = revision_and_energy(service.price_session(&s.id).await.unwrap());
    assert_eq!((rev, wh), (1, Decimal::from(2000)));
    assert!(
        warnings.iter().any(|w| w.contains("stationRebooted")),
        "{warnings:?}"
    );

    // The charger's stop arrives after all.
    s.apply(&SessionUpdate {
        end: Some(SessionEnd {
            ended_at: t0 + TimeDelta::minutes(12),
            reason: Some("Local".into()),
            meter_stop_wh: Some(Decimal::from(3500)),
        }),
        ..Default::default()
    });
    s.updated_at = Utc::now();
    s.version = 2;
    store.put_session(&s, 1).await.unwrap();
    let (rev, wh, _) = revision_and_energy(service.price_session(&s.id).await.unwrap());
    assert_eq!((rev, wh), (2, Decimal::from(2500)));
    let (rev, _, _) = revision_and_energy(service.price_session(&s.id).await.unwrap());
    assert_eq!(rev, 2, "repriced once, not on every redelivery");
}

/// The service checks the organisation itself: another organisation's
/// caller can neither reprice a session nor preview a station's price, and
/// is told what a caller asking for a missing one is told.
#[tokio::test]
async fn another_organisation_can_neither_reprice_nor_preview() {
    use csms_domain::actor::{ActedBy, Actor};
    use csms_pricing::PriceSessionError;
    let store = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(SystemClock);
    let service = PricingService::new(store.clone(), clock.clone());
    let station = csms_charging::registry::register_station(
        &*store,
        &*clock,
        csms_charging::registry::NewStation {
            id: "CP-A".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let mut s = Session::blank(
        &station.id,
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(7),
        t0,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        started_at: Some(t0),
        meter_start_wh: Some(Decimal::ZERO),
        end: Some(SessionEnd {
            ended_at: t0 + TimeDelta::hours(1),
            reason: None,
            meter_stop_wh: Some(Decimal::from(1000)),
        }),
        ..Default::default()
    });
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();

    let b = Actor::new(OrgId::parse("org-b").unwrap(), ActedBy::ApiKey("kb".into()));
    let err = service.reprice(&b, &s.id, "mine now").await.unwrap_err();
    assert!(matches!(err, PriceSessionError::NotFound(_)), "{err}");
    assert_eq!(
        store.get_priced_session(&s.id).await.unwrap(),
        None,
        "nothing written"
    );
    let err = service
        .preview(&b, &station.id, None, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PriceSessionError::StationNotFound(_)),
        "{err}"
    );

    // Its own organisation may.
    let a = Actor::new(OrgId::default_org(), ActedBy::ApiKey("ka".into()));
    assert!(service.preview(&a, &station.id, None, t0).await.is_ok());
    match service.reprice(&a, &s.id, "checked").await.unwrap() {
        Priced::NoTariff(_) => {}
        other => panic!("no tariff is assigned: {other:?}"),
    }
}

/// A tariff that names no time zone evaluates its restrictions in the zone
/// of the site where the session happens; at a station without a site (or
/// on a site without a record) in `Europe/Stockholm`.
#[tokio::test]
async fn a_tariff_without_a_zone_takes_the_sites() {
    use csms_domain::actor::{ActedBy, Actor};
    use csms_domain::tenant::{time_zone, Address, Site};
    use csms_kernel::ports::SiteStore;
    let store = Arc::new(EmbeddedStore::temporary());
    let clock = Arc::new(SystemClock);
    let service = PricingService::new(store.clone(), clock.clone());
    let org = OrgId::default_org();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 8, 30, 0).unwrap();
    store
        .create_site(&Site {
            id: csms_domain::SiteId::parse("helsinki").unwrap(),
            org_id: org.clone(),
            name: "Helsinki garage".into(),
            address: Address::parse("Katu 1", "00100", "Helsinki", "FI").unwrap(),
            coordinates: None,
            time_zone: time_zone("Europe/Helsinki").unwrap(),
            bidding_zone: None,
            opening_hours: None,
            created_at: t0,
            updated_at: t0,
            version: 1,
        })
        .await
        .unwrap();
    let register = |id: &str, site: Option<&str>| csms_charging::registry::NewStation {
        id: id.into(),
        site_id: site.map(Into::into),
        ..Default::default()
    };
    for (id, site) in [
        ("CP-HEL", Some("helsinki")),
        ("CP-NONE", None),
        ("CP-OLD", Some("no-record")),
    ] {
        csms_charging::registry::register_station(&*store, &*clock, register(id, site))
            .await
            .unwrap();
    }
    let fixed = |per_kwh: i64| PriceComponent::Energy {
        price: EnergyPrice::Fixed {
            per_kwh: Decimal::from(per_kwh),
        },
    };
    // 10:00–11:00 local costs 9, any other time 2.
    let tariff = Tariff {
        id: "trf-local".into(),
        org_id: org.clone(),
        name: "morning peak".into(),
        currency: "SEK".into(),
        vat_rate: Decimal::ZERO,
        time_zone: None,
        elements: vec![
            TariffElement {
                components: vec![fixed(9)],
                restrictions: Restrictions {
                    start_time: chrono::NaiveTime::from_hms_opt(10, 0, 0),
                    end_time: chrono::NaiveTime::from_hms_opt(11, 0, 0),
                    ..Default::default()
                },
            },
            TariffElement {
                components: vec![fixed(2)],
                restrictions: Restrictions::default(),
            },
        ],
        min_price: None,
        max_price: None,
        version: 1,
        effective_at: t0 - TimeDelta::days(1),
        created_at: t0 - TimeDelta::days(1),
        deleted_at: None,
    };
    store.put_tariff(&tariff, 0).await.unwrap();
    store
        .create_assignment(&TariffAssignment {
            id: "ast-local".into(),
            org_id: org.clone(),
            tariff_id: tariff.id.clone(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t0,
        })
        .await
        .unwrap();
    let actor = Actor::new(org, ActedBy::PlatformAdmin);
    // 08:30 UTC is 10:30 in Helsinki and 09:30 in Stockholm.
    let price_at = |station: &'static str| {
        let (service, actor) = (service.clone(), actor.clone());
        async move {
            let p = service
                .preview(&actor, &StationId::parse(station).unwrap(), None, t0)
                .await
                .unwrap();
            (p.prices[0].unit_price, p.tariff.unwrap().time_zone)
        }
    };
    assert_eq!(
        price_at("CP-HEL").await,
        (Decimal::from(9), Some("Europe/Helsinki".into())),
        "the site's morning"
    );
    assert_eq!(
        price_at("CP-NONE").await,
        (Decimal::from(2), None),
        "Stockholm's 09:30"
    );
    assert_eq!(
        price_at("CP-OLD").await,
        (Decimal::from(2), None),
        "a site without a record"
    );
}

#[tokio::test]
async fn a_session_that_cannot_be_priced_raises_an_alarm_and_a_reprice_resolves_it() {
    use csms_domain::actor::{ActedBy, Actor};
    use csms_kernel::ports::{AlarmStore, PageRequest};
    use csms_pricing::PriceSessionError;
    let store = Arc::new(EmbeddedStore::temporary());
    let service = PricingService::new(store.clone(), Arc::new(SystemClock));
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let station = StationId::parse("CP-OVER").unwrap();
    let mut s = Session::blank(
        &station,
        OrgId::default_org(),
        None,
        &csms_domain::TransactionId::from(9),
        t0,
    );
    s.apply(&SessionUpdate {
        is_start: true,
        started_at: Some(t0),
        meter_start_wh: Some(Decimal::ZERO),
        end: Some(SessionEnd {
            ended_at: t0 + TimeDelta::hours(1),
            reason: None,
            meter_stop_wh: Some(Decimal::from(4000)),
        }),
        ..Default::default()
    });
    s.version = 1;
    store.put_session(&s, 0).await.unwrap();
    let tariff = |version: u64, per_kwh: Decimal| Tariff {
        id: "trf-huge".into(),
        org_id: OrgId::default_org(),
        name: "huge".into(),
        currency: "SEK".into(),
        vat_rate: Decimal::new(25, 2),
        time_zone: Some("Europe/Stockholm".into()),
        elements: vec![TariffElement {
            components: vec![PriceComponent::Energy {
                price: EnergyPrice::Fixed { per_kwh },
            }],
            restrictions: Restrictions::default(),
        }],
        min_price: None,
        max_price: None,
        version,
        effective_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        deleted_at: None,
    };
    store.put_tariff(&tariff(1, Decimal::MAX), 0).await.unwrap();
    store
        .create_assignment(&TariffAssignment {
            id: "ast-huge".into(),
            org_id: OrgId::default_org(),
            tariff_id: "trf-huge".into(),
            target: AssignmentTarget::Organisation,
            group: None,
            created_at: t0,
        })
        .await
        .unwrap();
    let active = || async {
        let page = PageRequest {
            limit: 10,
            cursor: None,
        };
        store
            .list_alarms(&OrgId::default_org(), true, &page)
            .await
            .unwrap()
            .items
    };

    for _ in 0..2 {
        let err = service.price_session(&s.id).await.unwrap_err();
        assert!(
            matches!(err, PriceSessionError::Engine(_)) && !err.is_retryable(),
            "{err}"
        );
    }
    let open = active().await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].id, format!("session-pricing-failed:{}", s.id));
    assert_eq!(open[0].kind, "sessionPricingFailed");
    assert_eq!(open[0].occurrences, 2, "a redelivery counts on it");
    assert_eq!(open[0].details["stationId"], "CP-OVER");

    // The tariff mended, a reprice prices it and resolves the alarm.
    store
        .put_tariff(&tariff(2, Decimal::new(250, 2)), 1)
        .await
        .unwrap();
    let a = Actor::new(OrgId::default_org(), ActedBy::ApiKey("ka".into()));
    let Priced::Done { priced, .. } = service.reprice(&a, &s.id, "tariff mended").await.unwrap()
    else {
        panic!("priced");
    };
    assert_eq!(priced.net, Decimal::from(10));
    assert!(active().await.is_empty(), "resolved");
}
