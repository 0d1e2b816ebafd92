"""Invitations and password resets from the outside, against csms-local: the mail lands as an `.eml` file in the
data dir's outbox, the admin-only outbox endpoint lists and serves it, Python's own e-mail parser reads it (headers,
encoded Swedish subject, the link), and the link in it does what it says — once."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
import requests

from csms_e2e import assert_error, started_runner, unique


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp):
    with started_runner(csms_bin, e2e_tmp, "test_mail") as r:
        yield r


def newest_mail(runner) -> tuple[dict, email.message.EmailMessage]:
    listed = runner.api_ok("GET", "/outbox", params={"limit": 1})["items"]
    assert listed, "a mail was written"
    entry = listed[0]
    raw = runner.api("GET", f"/outbox/{entry['id']}")
    assert raw.status_code == 200, raw.text
    assert raw.headers["Content-Type"] == "message/rfc822"
    # The same bytes are on disk, where a mail program opens them.
    on_disk = (runner.data_dir / "outbox" / f"{entry['id']}.eml").read_bytes()
    assert on_disk == raw.content
    return entry, email.message_from_bytes(raw.content, policy=email.policy.default)


def link_in(message: email.message.EmailMessage, runner, page: str) -> str:
    text = message.get_content()
    found = re.search(rf"{re.escape(runner.base_url)}{page}\?token=(\S+)", text)
    assert found, f"no {page} link to this runner in:\n{text}"
    return found.group(1)


def post(runner, path: str, body: dict, session: requests.Session | None = None) -> requests.Response:
    http = session or requests
    return http.post(f"{runner.base_url}/api/v1{path}", json=body, timeout=10)


def test_an_invitation_is_mailed_and_its_link_makes_a_signed_in_member_once(runner):
    address = f"{unique('eva').lower()}@example.se"
    made = runner.api_ok("POST", "/invitations", {"email": address, "role": "driver", "name": "Eva Lind"},
                         status=201)
    assert made["status"] == "pending" and made["language"] == "en", made  # the default organisation's language

    entry, message = newest_mail(runner)
    assert entry["to"] == address and entry["kind"] == "invitation"
    assert message["To"].addresses[0].addr_spec == address
    assert message["From"].addresses[0].addr_spec == "noreply@localhost"
    assert message["X-CSMS-Kind"] == "invitation"
    assert message["Subject"].startswith("Invitation to ")
    token = link_in(message, runner, "/invitation")

    offer = post(runner, "/auth/invitations/inspect", {"token": token})
    assert offer.status_code == 200, offer.text
    assert offer.json()["hasAccount"] is False and offer.json()["role"] == "driver"

    browser = requests.Session()
    accepted = post(runner, "/auth/invitations/accept", {"token": token, "password": "eva-password-1"}, browser)
    assert accepted.status_code == 200, accepted.text
    assert "csms_session" in browser.cookies
    me = browser.get(f"{runner.base_url}/api/v1/auth/me", timeout=10).json()
    assert me["user"]["email"] == address
    assert me["user"]["memberships"] == [{"organisationId": "default", "role": "driver"}]

    again = post(runner, "/auth/invitations/accept", {"token": token, "password": "eva-password-2"})
    assert_error(again, 409, "conflict")
    listed = runner.api_ok("GET", "/invitations")["items"]
    assert next(i for i in listed if i["id"] == made["id"])["status"] == "accepted"


def test_a_forgotten_password_is_replaced_through_the_mailed_link(runner):
    address = f"{unique('olle').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": address, "name": "Olle", "password": "old-password-1",
                                     "role": "viewer", "language": "sv"}, status=201)
    before = len(runner.api_ok("GET", "/outbox")["items"])
    unknown = post(runner, "/auth/password-reset", {"email": f"nobody-{address}"})
    known = post(runner, "/auth/password-reset", {"email": address})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json(), "the answer does not tell whether the address has an account"
    assert len(runner.api_ok("GET", "/outbox")["items"]) == before + 1

    entry, message = newest_mail(runner)
    assert entry["kind"] == "passwordReset"
    assert message["Subject"] == "Välj ett nytt lösenord", "the encoded Swedish subject reads back"
    assert "Hej Olle!" in message.get_content()
    token = link_in(message, runner, "/reset-password")

    short = post(runner, "/auth/password-reset/complete", {"token": token, "password": "short"})
    assert assert_error(short, 400)["message"].startswith("password:")
    done = post(runner, "/auth/password-reset/complete", {"token": token, "password": "new-password-1"})
    assert done.status_code == 204, done.text
    old = post(runner, "/auth/sign-in", {"email": address, "password": "old-password-1"})
    assert old.status_code == 401
    new = post(runner, "/auth/sign-in", {"email": address, "password": "new-password-1"})
    assert new.status_code == 200, new.text
    reused = post(runner, "/auth/password-reset/complete", {"token": token, "password": "third-password-1"})
    assert_error(reused, 409, "conflict")


def test_the_outbox_is_the_platform_admins_alone(runner):
    key = runner.api_ok("POST", "/api-keys", {"name": unique("partner"), "scopes": ["admin"]}, status=201)["key"]
    assert_error(runner.api("GET", "/outbox", key=key), 403, "forbidden")
    assert_error(runner.api("GET", "/outbox", key=None), 401, "unauthorized")
    assert_error(runner.api("GET", "/outbox/../../etc/passwd"), 404)
    assert_error(runner.api("GET", "/outbox/01JEQ3V3N7Q4G8W1Z5X2M9K0AB"), 404, "not_found")
