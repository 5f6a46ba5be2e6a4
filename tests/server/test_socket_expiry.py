"""A socket does not outlive its token: it presents a renewed one (``renew_token``) before the
old one expires, or it can do nothing once it has and the server closes it. (The sweep's
timing on a fake clock: ``test_access_domain.py``.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt

from server.auth import AUDIENCE, ISSUER
from tests.server.harness import Person, Recorder, Stack

LIFETIME_S = 3


def _token(stack: Stack, person: Person, lifetime_s: int) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": person.id, "iat": now, "exp": now + lifetime_s}
    return jwt.encode(claims, stack.settings().jwt_key(), algorithm="HS256")


def _short_lived(stack: Stack, person: Person) -> Person:
    return Person(
        person.id,
        person.tenant_id,
        person.email,
        person.display_name,
        _token(stack, person, LIFETIME_S),
    )


async def _invite(client: Recorder, callee: Person) -> dict[str, Any]:
    return await client.call("invite", {"callee_id": callee.id, "request_id": uuid.uuid4().hex})


async def test_a_socket_whose_token_expired_can_do_nothing_and_is_closed(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob")
    alice, bob = people["alice"], people["bob"]
    expiring = await Recorder(stack.url, _short_lived(stack, alice)).connect()
    renewing = await Recorder(stack.url, _short_lived(stack, alice)).connect()
    others = await Recorder(stack.url, bob).connect()
    try:
        bad = await renewing.call("renew_token", {"token": _token(stack, bob, 600)})
        assert (bad["ok"], bad["error"]["code"]) == (False, "forbidden")
        garbage = await renewing.call("renew_token", {"token": "x"})
        assert garbage["ok"] is False
        renewed = await renewing.call("renew_token", {"token": _token(stack, alice, 600)})
        assert renewed["ok"], renewed
        assert renewed["expires_at"]

        await asyncio.sleep(LIFETIME_S + 0.2)

        if expiring.sio.connected:  # not yet swept: it may not act all the same
            late = await _invite(expiring, bob)
            assert (late["ok"], late["error"]["code"]) == (False, "forbidden")
        await asyncio.wait_for(expiring.sio.wait(), 10)
        assert not expiring.sio.connected
        assert others.pending("incoming") == 0
        # The socket that renewed in time stays and calls.
        await asyncio.sleep(1.5)
        assert renewing.sio.connected
        ack = await _invite(renewing, bob)
        assert ack["ok"], ack
        assert (await renewing.call("cancel", {"call_id": ack["call"]["id"]}))["ok"]
    finally:
        for r in (expiring, renewing, others):
            await r.disconnect()
