"""People and sign-in from the outside, against csms-local started with a bootstrap platform admin: sign in (the
cookie and its CSRF token), /auth/me, a state-changing request without the token refused, a person of organisation B
sees A's station as missing, sign-out-everywhere ends the other session, a disabled person is signed out and cannot
sign in again."""

from __future__ import annotations

import pytest
import requests

from csms_e2e import assert_error, started_runner, unique

ROOT_EMAIL = "root@example.se"
ROOT_PASSWORD = "root-password-123"


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    env = {"CSMS_BOOTSTRAP_ADMIN_EMAIL": ROOT_EMAIL, "CSMS_BOOTSTRAP_ADMIN_PASSWORD": ROOT_PASSWORD}
    with started_runner(csms_bin, e2e_tmp, "test_users", extra_env=env) as r:
        yield r


class Browser:
    """A cookie jar and the CSRF token of its session, like a browser tab of the operator's interface."""

    def __init__(self, runner):
        self.base = f"{runner.base_url}/api/v1"
        self.http = requests.Session()
        self.csrf: str | None = None

    def sign_in(self, email: str, password: str) -> requests.Response:
        r = self.http.post(f"{self.base}/auth/sign-in", json={"email": email, "password": password}, timeout=10)
        if r.status_code == 200:
            self.csrf = r.json()["csrfToken"]
        return r

    def call(self, method: str, path: str, json=None, *, csrf: bool = True, headers: dict | None = None):
        h = dict(headers or {})
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        return self.http.request(method, f"{self.base}{path}", json=json, headers=h, timeout=10)


def signed_in(runner, email: str, password: str) -> Browser:
    b = Browser(runner)
    r = b.sign_in(email, password)
    assert r.status_code == 200, r.text
    return b


def test_the_bootstrap_admin_signs_in_and_reads_who_they_are(runner):
    b = Browser(runner)
    r = b.sign_in("ROOT@example.se", ROOT_PASSWORD)
    assert r.status_code == 200, r.text
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("csms_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert "Secure" not in cookie, "plain HTTP locally"
    me = b.call("GET", "/auth/me").json()
    assert me["user"]["email"] == ROOT_EMAIL
    assert me["user"]["memberships"] == [{"organisationId": "default", "role": "platformAdmin"}]
    assert me["csrfToken"] == b.csrf
    assert_error(Browser(runner).call("GET", "/auth/me"), 401, "unauthorized")
    wrong = Browser(runner).sign_in(ROOT_EMAIL, "not-the-password")
    unknown = Browser(runner).sign_in("nobody@example.se", ROOT_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_a_state_changing_request_needs_the_csrf_token(runner):
    root = signed_in(runner, ROOT_EMAIL, ROOT_PASSWORD)
    station = {"id": unique("CP-U")}
    err = assert_error(root.call("POST", "/stations", station, csrf=False), 403, "forbidden")
    assert err["message"].startswith("X-CSRF-Token"), err
    assert root.call("GET", "/stations", csrf=False).status_code == 200
    made = root.call("POST", "/stations", station)
    assert made.status_code == 201, made.text


def test_a_person_of_another_organisation_sees_nothing_of_a(runner):
    org_b = unique("org-b").lower()
    runner.api_ok("POST", "/organisations", {
        "id": org_b, "kind": "company", "legalName": "B AB", "organisationNumber": "556036-0793",
        "contactEmail": "b@example.se", "address": {"street": "Gatan 2", "postalCode": "111 22", "city": "Stockholm"},
    }, status=201)
    station_a = runner.create_station(unique("CP-A"))["id"]
    email = f"{unique('admin-of-b').lower()}@example.se"
    made = runner.api_ok("POST", "/users", {"email": email, "name": "B's admin", "password": "b-password-123",
                                            "role": "orgAdmin"}, status=201, headers={"X-Organisation": org_b})
    assert made["role"] == "orgAdmin", made
    b = signed_in(runner, email, "b-password-123")
    assert_error(b.call("GET", f"/stations/{station_a}"), 404, "not_found")
    assert_error(b.call("PATCH", f"/stations/{station_a}", {"name": "taken"}), 404, "not_found")
    assert_error(b.call("GET", "/stations", headers={"X-Organisation": "default"}), 404, "not_found")
    own = b.call("POST", "/stations", {"id": unique("CP-B")})
    assert own.status_code == 201, own.text
    ids = [s["id"] for s in b.call("GET", "/stations").json()["items"]]
    assert station_a not in ids and own.json()["id"] in ids


def test_sign_out_everywhere_ends_the_other_session(runner):
    email = f"{unique('anna').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": email, "name": "Anna", "password": "anna-password-1",
                                     "role": "viewer"}, status=201)
    laptop = signed_in(runner, email, "anna-password-1")
    phone = signed_in(runner, email, "anna-password-1")
    assert laptop.call("GET", "/stations").status_code == 200
    # A viewer reads but does not write.
    assert_error(laptop.call("POST", "/stations", {"id": unique("CP-V")}), 403, "forbidden")
    out = phone.call("POST", "/auth/sign-out-everywhere")
    assert out.status_code == 204, out.text
    assert_error(laptop.call("GET", "/stations"), 401, "unauthorized")
    assert_error(phone.call("GET", "/auth/me"), 401, "unauthorized")


def test_a_disabled_person_is_signed_out_and_cannot_sign_in(runner):
    email = f"{unique('bo').lower()}@example.se"
    made = runner.api_ok("POST", "/users", {"email": email, "name": "Bo", "password": "bo-password-12",
                                            "role": "operator"}, status=201)
    bo = signed_in(runner, email, "bo-password-12")
    assert bo.call("GET", "/auth/me").status_code == 200
    runner.api_ok("PATCH", f"/users/{made['id']}", {"disabled": True})
    assert_error(bo.call("GET", "/auth/me"), 401, "unauthorized")
    again = Browser(runner).sign_in(email, "bo-password-12")
    assert again.status_code == 401, again.text
    runner.api_ok("PATCH", f"/users/{made['id']}", {"disabled": False})
    assert Browser(runner).sign_in(email, "bo-password-12").status_code == 200


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 (HMAC-SHA1, 6 digits, 30 s), as an authenticator app computes it."""
    import base64
    import hashlib
    import hmac
    import struct
    import time as _time
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((at if at is not None else _time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_an_admin_signs_in_with_an_authenticator_code_as_well(runner):
    import time as _time
    email = f"{unique('totp').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": email, "name": "Two Factor", "password": "two-factor-pass",
                                     "role": "orgAdmin"}, status=201)
    admin = signed_in(runner, email, "two-factor-pass")
    setup = admin.call("POST", "/auth/second-factor")
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert setup.json()["otpauthUri"].startswith(f"otpauth://totp/CSMS:{email}?secret={secret}")
    # The CSMS takes the step before, the current and the next one (a phone's clock may be off), each once: the
    # test uses the three in order, inside one step (it waits for a fresh one if this one is nearly over).
    if _time.time() % 30 > 20:
        _time.sleep(30 - _time.time() % 30 + 0.2)
    now = _time.time()
    assert admin.call("POST", "/auth/second-factor/confirm", {"code": totp(secret, now - 30)}).status_code == 204
    assert admin.call("GET", "/auth/me").json()["user"]["secondFactor"] is True

    without = Browser(runner).sign_in(email, "two-factor-pass")
    assert without.status_code == 401 and without.json()["error"]["code"] == "second_factor_required", without.text
    browser = Browser(runner)
    body = {"email": email, "password": "two-factor-pass", "code": totp(secret, now)}
    r = browser.http.post(f"{browser.base}/auth/sign-in", json=body, timeout=10)
    assert r.status_code == 200, r.text
    again = requests.post(f"{browser.base}/auth/sign-in", json=body, timeout=10)
    assert again.status_code == 401, "a code works once"
    old = requests.post(f"{browser.base}/auth/sign-in", json={**body, "code": totp(secret, now - 30)}, timeout=10)
    assert old.status_code == 401, "nor does an older one"
    browser.csrf = r.json()["csrfToken"]
    assert browser.call("POST", "/auth/second-factor/disable", {"code": totp(secret, now + 30)}).status_code == 204
    assert Browser(runner).sign_in(email, "two-factor-pass").status_code == 200


def test_an_admin_removes_the_second_factor_of_a_person_who_lost_their_phone(runner):
    email = f"{unique('lost').lower()}@example.se"
    made = runner.api_ok("POST", "/users", {"email": email, "name": "Lost Phone", "password": "lost-phone-pass",
                                            "role": "operator"}, status=201)
    person = signed_in(runner, email, "lost-phone-pass")
    secret = person.call("POST", "/auth/second-factor").json()["secret"]
    assert person.call("POST", "/auth/second-factor/confirm", {"code": totp(secret)}).status_code == 204
    assert Browser(runner).sign_in(email, "lost-phone-pass").json()["error"]["code"] == "second_factor_required"

    # Another organisation's admin does not see the person.
    other = runner.create_organisation("org-2fa")
    theirs = runner.api_ok("POST", "/api-keys", {"name": "admin of B", "scopes": ["admin"]}, status=201,
                           headers={"X-Organisation": other})["key"]
    assert_error(runner.api("DELETE", f"/users/{made['id']}/second-factor", key=theirs), 404, "not_found")
    removed = runner.api("DELETE", f"/users/{made['id']}/second-factor")
    assert removed.status_code == 204, removed.text
    assert_error(person.call("GET", "/auth/me"), 401, "unauthorized")  # signed out everywhere
    assert Browser(runner).sign_in(email, "lost-phone-pass").status_code == 200
    assert_error(runner.api("DELETE", f"/users/{made['id']}/second-factor"), 409, "conflict")
    audit = runner.api_ok("GET", "/audit-log")["items"]
    removals = [e for e in audit if e["operation"] == "DELETE /users/{id}/second-factor"
                and e["path"] == f"/api/v1/users/{made['id']}/second-factor"]
    assert [e["actor"] for e in removals] == ["admin"], audit[:3]
