"""Engine.IO's long-polling transport carries a call as the WebSocket does.

The app opens its socket as a WebSocket at once, but a socket.io client left at its defaults (a
CRM's web page, say) starts on HTTP long-polling and upgrades later, and one behind a proxy that
refuses WebSockets stays on polling. The server keeps a socket's first request for its life in a
slimmed form (``server.sio.environ``); these sockets send and receive through later requests
of their own, which is what this checks with real clients.
"""

from __future__ import annotations

import pytest
import socketio

from tests.server.harness import Recorder, Stack


async def test_a_call_between_a_polling_socket_and_an_upgraded_one(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob")
    alice = Recorder(stack.url, people["alice"], transports=("polling",))
    bob = Recorder(stack.url, people["bob"], transports=("polling", "websocket"))
    await alice.connect()
    await bob.connect()
    try:
        assert alice.sio.transport() == "polling"
        assert bob.sio.transport() == "websocket"  # the upgrade is part of connect()
        call = await alice.invite(people["bob"])
        assert call["status"] == "RINGING", call
        incoming = await bob.next_matching("incoming")
        assert incoming["call"]["id"] == call["id"]
        accepted = await bob.call("accept", {"call_id": call["id"]})
        assert accepted["ok"], accepted
        await alice.next_matching("accepted", call_id=call["id"])
        assert await alice.call("hangup", {"call_id": call["id"]}) == {"ok": True}
        for side in (alice, bob):
            ended = await side.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")
        assert (await stack.get_call(bob.person, call["id"]))["status"] == "COMPLETED"
    finally:
        await alice.disconnect()
        await bob.disconnect()


async def test_a_polling_socket_is_refused_without_a_valid_token(stack: Stack) -> None:
    people = await stack.tenant("carol")
    carol = Recorder(stack.url, people["carol"], transports=("polling",))
    carol.person.token = "not-a-token"
    with pytest.raises(socketio.exceptions.ConnectionError):
        await carol.connect()
    await carol.disconnect()
