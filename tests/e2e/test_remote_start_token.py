"""Issue 14, point 6: a 2.0.1 station that starts a transaction for a RequestStartTransaction but leaves the id
token out of `TransactionEvent Started`. The CSMS takes the token from the remote start the event's
`remoteStartId` names: the command it sent, holding the token."""

from __future__ import annotations

from ocpp.v201 import call as call201

from csms_e2e import iso, now_utc, run, unique
from test_commands import Connected


async def _started_without_token(c: Connected, tx: str, remote_start_id: int | None):
    info = {"transaction_id": tx}
    if remote_start_id is not None:
        info["remote_start_id"] = remote_start_id
    return await c.cp.send(call201.TransactionEvent(
        event_type="Started", timestamp=iso(now_utc()), trigger_reason="RemoteStart", seq_no=0,
        transaction_info=info, evse={"id": 1, "connector_id": 1}))


def test_a_started_event_without_id_token_takes_the_token_of_the_remote_start_it_names(runner):
    tag = unique("RST")[:20]
    runner.create_token(tag)

    async def scenario():
        async with Connected(runner, "2.0.1") as c:
            cmd = (await c.command({"type": "remoteStart", "idToken": tag, "evseId": 1}, status=200)).json()
            assert cmd["status"] == "accepted"
            action, payload = c.cp.received[-1]
            assert action == "RequestStartTransaction"
            tx = unique("TX")[:30]
            answer = await _started_without_token(c, tx, payload["remoteStartId"])
            assert answer.id_token_info is not None and answer.id_token_info["status"] == "Accepted", \
                "the token taken from the remote start is authorized like one the station sent"
            session = runner.session_for(c.station, tx)
            assert session["idToken"] == tag, session

    run(scenario())


def test_a_remote_start_id_the_csms_never_sent_leaves_the_session_without_a_token(runner):
    tag = unique("RSU")[:20]
    runner.create_token(tag)

    async def scenario():
        async with Connected(runner, "2.0.1") as c:
            await c.command({"type": "remoteStart", "idToken": tag, "evseId": 1}, status=200)
            _, payload = c.cp.received[-1]
            tx = unique("TX")[:30]
            # An even id: the CSMS's remote start ids are always odd, so this one names no command.
            other = (payload["remoteStartId"] + 1) % 2_000_000_000
            await _started_without_token(c, tx, other)
            session = runner.session_for(c.station, tx)
            assert session.get("idToken") is None, session

    run(scenario())
