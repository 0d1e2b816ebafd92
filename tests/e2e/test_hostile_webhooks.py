"""Webhooks as an attacker holding a partner key would use them (issue #13, point 6), and the API's 405/413 answers
(point 8).

- A `read` or `commands` key cannot point a webhook at loopback, the cloud metadata address, an `*.internal` name,
  IPv4 hidden in IPv6 (mapped, NAT64), or the benchmarking range: 403 naming `url` where the runner allows private
  targets (the local default), 400 where it does not.
- The admin key can register a local receiver on a runner that allows private targets; deliveries arrive, but the
  delivery log — readable by the partner keys of the organisation — shows no answer body, and a failed connection
  reads "connection failed", not the socket error.
- On a runner with CSMS_WEBHOOK_ALLOW_PRIVATE=false even the admin key is refused.
- 405 and 413 answers, unknown paths and bodies that are not JSON come in the documented error shape.
"""

from __future__ import annotations

import socket

import pytest

from csms_e2e import assert_error, poll, run
from test_commands import Connected
from test_webhooks import receiver  # noqa: F401 (the module fixture: a webhook receiver per module)

HOSTILE_URLS = [
    "http://127.0.0.1:9000/hook",
    "https://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/",
    "http://foo.internal/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://localhost:9000/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]:8080/",
    "https://[64:ff9b::7f00:1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]/",
    "https://[::1]/",
    "https://198.18.0.1/",
    "https://2130706433/",
    "https://0x7f.0.0.1/",
    "https://10.0.0.1/",
    "https://[fd00::1]/",
]


def partner_key(runner, scopes) -> str:
    return runner.api_ok("POST", "/api-keys", {"name": "attacker", "scopes": list(scopes)}, status=201)["key"]


def register(runner, url: str, key: str = "admin"):
    return runner.api("POST", "/webhooks", {"url": url, "events": ["station.connected"]}, key=key)


@pytest.mark.parametrize("scopes", [["read"], ["commands"]])
def test_partner_keys_cannot_register_private_targets(runner, scopes):
    key = partner_key(runner, scopes)
    for url in HOSTILE_URLS:
        err = assert_error(register(runner, url, key), 403, "forbidden")
        assert err["message"].startswith("url: ") and "admin" in err["message"], (url, err)
    assert runner.api_ok("GET", "/webhooks", key=key)["items"] == [], "nothing was stored"
    # A public https target is still theirs to register (delivered only if it resolves to public addresses).
    hook = runner.api_ok("POST", "/webhooks", {"url": "https://hooks.example.com/csms", "events": ["session.ended"]},
                         status=201, key=key)
    assert runner.api("DELETE", f"/webhooks/{hook['id']}", key=key).status_code == 204


def test_admin_registers_a_local_receiver_whose_answers_stay_out_of_the_log(runner, receiver):
    reader = partner_key(runner, ["read"])
    hook = runner.api_ok("POST", "/webhooks", {"url": receiver.url("/admin-made"), "events": ["station.connected"]},
                         status=201)
    # Nothing listens on this port: the log must not say how the connection failed.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    closed = runner.api_ok("POST", "/webhooks",
                           {"url": f"http://127.0.0.1:{closed_port}/x", "events": ["station.connected"]},
                           status=201)

    async def scenario():
        async with Connected(runner, "1.6") as c:
            return c.station

    station = run(scenario())
    got = receiver.wait_for("/admin-made", "station.connected", lambda e: e["data"]["stationId"] == station)
    assert got["answered"] == 200

    def attempts(hook_id):
        items = runner.api_ok("GET", f"/webhooks/{hook_id}/deliveries", key=reader)["items"]
        mine = [d for d in items if d["payload"]["data"]["stationId"] == station and d["attempts"]]
        return mine[0]["attempts"] if mine else None

    delivered = poll(lambda: attempts(hook["id"]), timeout=10, what="the delivery logged")
    assert delivered[0]["statusCode"] == 200
    assert delivered[0].get("responseBody") is None, "a private target's answer is not shown"
    assert "thanks" not in str(delivered), delivered
    failed = poll(lambda: attempts(closed["id"]), timeout=10, what="the failed attempt logged")
    assert failed[0]["error"] == "connection failed", failed[0]
    assert failed[0].get("statusCode") is None and failed[0].get("responseBody") is None


def test_a_runner_without_private_targets_refuses_them_even_to_the_admin(runner_factory):
    strict = runner_factory("strict")
    strict.extra_env = {"CSMS_WEBHOOK_ALLOW_PRIVATE": "false"}
    strict.start()
    try:
        key = partner_key(strict, ["read"])
        for url in HOSTILE_URLS:
            for who in ["admin", key]:
                err = assert_error(register(strict, url, who), 400, "invalid_request")
                assert err["message"].startswith("url: "), (url, err)
        # Plain http goes with private targets, and there are none here.
        err = assert_error(register(strict, "http://hooks.example.com/"), 400, "invalid_request")
        assert err["message"] == "url: must use https"
        assert strict.api_ok("GET", "/webhooks")["items"] == []
    finally:
        strict.stop(check=True)


def test_405_413_404_and_non_json_bodies_answer_in_the_error_shape(runner):
    r = runner.api("PATCH", "/stations")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["content-type"] == "application/json"
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}
    assert_error(runner.api("PUT", "/webhooks/x"), 405, "method_not_allowed")

    big = b"{\"id\":\"" + b"x" * (2 * 1024 * 1024) + b"\"}"
    assert_error(runner.api("POST", "/stations", data=big), 413, "payload_too_large")

    assert_error(runner.api("GET", "/no-such-endpoint"), 404, "not_found")
    assert_error(runner.api("GET", "/stations", headers={"Accept": "text/html"}, params={"limit": "0"}), 400,
                 "invalid_request")
    for content_type, body in [("application/x-www-form-urlencoded", "id=CP-1"), ("text/plain", "hello"),
                               ("application/xml", "<station/>")]:
        assert_error(runner.api("POST", "/stations", data=body, headers={"Content-Type": content_type}), 400,
                     "invalid_request")
