"""Issue 17, the pages behind the mailed links in real Chromium (axe-core on every page, screenshots like
test_portal.py).

An admin invites an address through `POST /invitations`; the link in the `.eml` the outbox holds is opened as the
mail has it (`/invitation?token=…`), the page says which organisation and role, the invitee chooses a name and a
password and lands signed in on their own page. The same link again says in words that it has been used. A person
who forgot their password asks for a link from the sign-in page (the page's answer for an unknown address is the
same), opens the mailed `/reset-password?token=…`, chooses a new password and signs in with it. A form posted from
elsewhere, without the page's cookie, is refused."""

from __future__ import annotations

import email
import email.policy
import re

import requests

from csms_e2e import unique
# The browser and the visit with axe-core and screenshots are test_portal's.
from test_portal import PASSWORD, Visit, browser  # noqa: F401  (browser is a fixture)


def mail_link(runner, to: str, page: str) -> str:
    """The `page` link of the newest mail to `to`, as the mail has it."""
    for entry in runner.api_ok("GET", "/outbox", params={"limit": 20})["items"]:
        if entry["to"] == to:
            raw = runner.api("GET", f"/outbox/{entry['id']}")
            assert raw.status_code == 200, raw.text
            text = email.message_from_bytes(raw.content, policy=email.policy.default).get_content()
            found = re.search(rf"{re.escape(runner.base_url)}{page}\?token=\S+", text)
            assert found, f"no {page} link in:\n{text}"
            return found.group(0)
    raise AssertionError(f"no mail to {to}")


def test_an_invitation_link_opens_a_page_that_makes_a_signed_in_member_once(runner, browser):  # noqa: F811
    address = f"{unique('eva').lower()}@example.se"
    runner.api_ok("POST", "/invitations", {"email": address, "role": "driver", "name": "Eva Lind",
                                           "language": "sv"}, status=201)
    link = mail_link(runner, address, "/invitation")

    v = Visit(browser, runner, "invitee", None)
    try:
        v.goto(link.removeprefix(runner.base_url))
        assert "/portal/invitation?token=" in v.page.url, v.page.url
        assert v.lang() == "sv", "the invitation's language"
        text = v.page.inner_text("main")
        assert "som förare" in text and address in text, text
        assert v.page.input_value("#name") == "Eva Lind"
        v.check("invitation")
        v.switch_to("en")
        assert "as driver" in v.page.inner_text("main")
        v.check("invitation")

        # A post from another site, without the page's cookie, does nothing.
        token = link.split("token=", 1)[1]
        forged = requests.post(f"{runner.base_url}/portal/invitation", timeout=10, allow_redirects=False,
                               data={"token": token, "name": "Mallory", "password": "mallory-pass-1", "form": "x"})
        assert forged.status_code == 403 and "csms_session" not in forged.cookies, forged.status_code

        # Too short a password: the form again, with the reason at the top.
        v.page.fill("#password", "short")
        v.page.eval_on_selector("#password", "e => e.removeAttribute('minlength')")
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        assert v.page.inner_text("[role=alert]").startswith("password:")
        v.page.fill("#name", "Eva Lind")
        v.page.fill("#password", PASSWORD)
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        assert v.page.url.endswith("/portal/me"), v.page.url  # a driver's start page: signed in
        me = v.page.request.get(f"{runner.base_url}/api/v1/auth/me").json()
        assert me["user"]["email"] == address and me["user"]["name"] == "Eva Lind", me
        assert me["user"]["memberships"] == [{"organisationId": "default", "role": "driver"}]

        # The link again: used, in words (in the person's language now, Swedish, the invitation's).
        v.goto(link.removeprefix(runner.base_url), 409)
        assert v.page.inner_text("[role=alert]") == "Länken har redan använts."
        assert "Be den som bjöd in dig om en ny inbjudan." in v.page.inner_text("main")
        v.check("invitation-used")
        # A tampered link: not valid.
        v.goto(f"/invitation?token={token[:-2]}xx", 400)
        assert v.page.inner_text("[role=alert]").startswith("Länken är inte giltig")
        audit = runner.api_ok("GET", "/audit-log", params={"limit": 50})["items"]
        assert any(e["operation"] == "POST /portal/invitation" for e in audit), audit[:5]
    finally:
        v.close()


def test_a_forgotten_password_is_replaced_through_the_pages(runner, browser):  # noqa: F811
    address = f"{unique('olle').lower()}@example.se"
    runner.api_ok("POST", "/users", {"email": address, "name": "Olle", "password": "old-password-1",
                                     "role": "viewer", "language": "en"}, status=201)
    v = Visit(browser, runner, "forgetful", None)
    try:
        v.goto("/portal/sign-in")
        v.switch_to("en")
        v.page.click("text=Forgot your password?")
        v.page.wait_for_load_state()
        assert v.page.url.endswith("/portal/forgot-password"), v.page.url
        v.check("forgot-password")

        # An unknown address gets the same page as a known one.
        before = len(runner.api_ok("GET", "/outbox")["items"])
        v.page.fill("#email", f"nobody-{address}")
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        unknown = v.page.inner_text("main")
        v.page.fill("#email", address)
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        assert v.page.inner_text("main") == unknown, "the page does not tell which addresses have an account"
        assert "a link to choose a new password is on its way" in unknown
        assert len(runner.api_ok("GET", "/outbox")["items"]) == before + 1
        v.check("forgot-password-sent")

        link = mail_link(runner, address, "/reset-password")
        v.goto(link.removeprefix(runner.base_url))
        assert "/portal/reset-password?token=" in v.page.url
        v.check("reset-password")
        v.page.fill("#password", "new-password-1")
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        assert "/portal/sign-in" in v.page.url, v.page.url
        assert v.page.inner_text("[role=status]") == "The password is changed. Sign in with the new one."
        v.page.fill("#email", address)
        v.page.fill("#password", "new-password-1")
        v.page.click("main button[type=submit]")
        v.page.wait_for_load_state()
        assert v.page.url.endswith("/portal/stations"), v.page.url  # a viewer's start page: signed in

        # The used reset link says so, and offers a new one.
        v.goto(link.removeprefix(runner.base_url), 409)
        assert v.page.inner_text("[role=alert]") == "The link has been used already."
        assert v.page.locator("main a[href='/portal/forgot-password']").count() == 1
        v.check("reset-password-used")
    finally:
        v.close()
