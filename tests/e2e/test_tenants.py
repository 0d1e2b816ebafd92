"""Tenants from the outside: the platform admin creates an organisation, makes it an admin key, and that key
builds the organisation's site and a station on it; another organisation's key sees none of it."""

from __future__ import annotations

from csms_e2e import assert_error, unique


def org_body(org_id: str) -> dict:
    return {
        "id": org_id, "kind": "brf", "legalName": "Bostadsrättsföreningen Solsidan",
        "organisationNumber": "7696001234", "vatNumber": "SE769600123401",
        "address": {"street": "Solvägen 3", "postalCode": "12345", "city": "Solna"},
        "contactEmail": "styrelsen@solsidan.se", "language": "sv",
        "payoutAccount": {"bankgiro": "5050-1055"},
    }


def admin_key_of(runner, org_id: str) -> str:
    """An admin-scoped key of `org_id`, made by the platform admin acting in it (X-Organisation)."""
    key = runner.api_ok("POST", "/api-keys", {"name": f"admin of {org_id}", "scopes": ["admin"]}, status=201,
                        headers={"X-Organisation": org_id})
    return key["key"]


def test_an_organisation_with_its_site_and_station_is_walled_off(runner):
    org_a, org_b = unique("brf-a").lower(), unique("brf-b").lower()
    created = runner.api_ok("POST", "/organisations", org_body(org_a), status=201)
    assert created["organisationNumber"] == "769600-1234", created
    assert created["address"]["postalCode"] == "123 45", created
    runner.api_ok("POST", "/organisations", org_body(org_b), status=201)
    assert_error(runner.api("POST", "/organisations", org_body(org_a)), 409, "conflict")
    bad = org_body(unique("brf-c").lower()) | {"organisationNumber": "769600-1235"}
    err = assert_error(runner.api("POST", "/organisations", bad), 400, "invalid_request")
    assert err["message"] == "organisationNumber: check digit is wrong", err

    key_a, key_b = admin_key_of(runner, org_a), admin_key_of(runner, org_b)
    # An organisation's admin key may not create organisations: that is the platform admin's.
    assert_error(runner.api("POST", "/organisations", org_body(unique("brf-d").lower()), key=key_a),
                 403, "forbidden")

    site_id = unique("garage").lower()
    site = runner.api_ok("POST", "/sites", {
        "id": site_id, "name": "Norra garaget",
        "address": {"street": "Solvägen 3", "postalCode": "123 45", "city": "Solna"},
        "coordinates": {"lat": 59.36, "lon": 18.0}, "biddingZone": "SE3",
        "openingHours": {"mon": ["06:00-18:00"], "sat": ["10:00-14:00"]},
    }, status=201, key=key_a)
    assert site["organisationId"] == org_a and site["timeZone"] == "Europe/Stockholm", site

    station_id = unique("CP-T")
    station = runner.api_ok("POST", "/stations", {"id": station_id, "siteId": site_id}, status=201, key=key_a)
    assert station["siteId"] == site_id, station
    # A station may stand only on a site of its organisation.
    err = assert_error(runner.api("POST", "/stations", {"id": unique("CP-T"), "siteId": site_id}, key=key_b),
                       400, "invalid_request")
    assert err["message"] == "siteId: no such site", err

    # A's own key sees A, and only A.
    orgs = runner.api_ok("GET", "/organisations", key=key_a)["items"]
    assert [o["id"] for o in orgs] == [org_a], orgs
    assert runner.api_ok("GET", "/sites", key=key_a)["items"] == [site]
    renamed = runner.api_ok("PATCH", f"/organisations/{org_a}", {"legalName": "Brf Solsidan"}, key=key_a)
    assert renamed["legalName"] == "Brf Solsidan" and renamed["version"] == 2, renamed

    # B's key: A's organisation, site and station answer like ids nobody has.
    for method, path, body in [
        ("GET", f"/organisations/{org_a}", None),
        ("PATCH", f"/organisations/{org_a}", {"legalName": "taken"}),
        ("GET", f"/sites/{site_id}", None),
        ("PATCH", f"/sites/{site_id}", {"name": "taken"}),
        ("DELETE", f"/sites/{site_id}", None),
        ("GET", f"/stations/{station_id}", None),
    ]:
        assert_error(runner.api(method, path, body, key=key_b), 404, "not_found")
    assert runner.api_ok("GET", "/sites", key=key_b)["items"] == []
    assert [o["id"] for o in runner.api_ok("GET", "/organisations", key=key_b)["items"]] == [org_b]

    # The site keeps its station, so it is not deleted; the platform admin sees every organisation.
    err = assert_error(runner.api("DELETE", f"/sites/{site_id}", key=key_a), 409, "conflict")
    assert "1 station" in err["message"], err
    every = []
    cursor = None
    while True:
        page = runner.api_ok("GET", "/organisations", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        every += [o["id"] for o in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert {"default", org_a, org_b} <= set(every), every
    assert runner.api_ok("GET", "/organisations/default")["legalName"] == "Default organisation"


def test_the_audit_log_names_who_changed_what_and_stays_in_its_organisation(runner):
    org_a, org_b = unique("brf-au").lower(), unique("brf-bu").lower()
    runner.api_ok("POST", "/organisations", org_body(org_a), status=201)
    runner.api_ok("POST", "/organisations", org_body(org_b), status=201)
    key_a, key_b = admin_key_of(runner, org_a), admin_key_of(runner, org_b)
    key_a_id = key_a.split("_")[1]

    station_id = unique("CP-AU")
    runner.api_ok("POST", "/stations", {"id": station_id, "password": "a-secret-password-of-16"}, status=201,
                  key=key_a)
    runner.api_ok("PATCH", f"/stations/{station_id}", {"name": "Garage 7"}, key=key_a)
    # B's attempt on A's station changes nothing and is logged nowhere.
    assert_error(runner.api("PATCH", f"/stations/{station_id}", {"name": "B was here"}, key=key_b),
                 404, "not_found")

    log_a = runner.api_ok("GET", "/audit-log", key=key_a)["items"]
    # Newest first; the platform admin made A's key while acting in A, so that is in A's log too.
    assert [e["operation"] for e in log_a] == ["PATCH /stations/{id}", "POST /stations", "POST /api-keys"], log_a
    assert [e["actor"] for e in log_a] == [key_a_id, key_a_id, "admin"], log_a
    assert log_a[0]["path"] == f"/api/v1/stations/{station_id}" and log_a[0]["fields"] == ["name"], log_a
    assert "a-secret-password-of-16" not in str(log_a)
    log_b = runner.api_ok("GET", "/audit-log", key=key_b)["items"]
    assert [e["operation"] for e in log_b] == ["POST /api-keys"], log_b
    # The platform admin reads A's log through X-Organisation.
    assert runner.api_ok("GET", "/audit-log", headers={"X-Organisation": org_a})["items"] == log_a
