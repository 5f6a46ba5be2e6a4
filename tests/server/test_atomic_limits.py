"""The invite limit is exact under parallel invites (PostgreSQL too: the count and the insert
it allows are one step under a lock per caller)."""

from __future__ import annotations

import asyncio
import uuid

from tests.server.harness import Stack

INVITE_LIMIT = 8  # VOIP_INVITE_LIMIT_PER_MIN of the module's server (conftest)


async def test_parallel_invites_never_pass_the_limit(stack: Stack) -> None:
    names = ["alice", *(f"u{n}" for n in range(20))]
    people = await stack.tenant(*names)
    async with stack.clients(people["alice"]) as (alice,):
        acks = await asyncio.gather(
            *(
                alice.call("invite", {"callee_id": people[n].id, "request_id": uuid.uuid4().hex})
                for n in names[1:]
            )
        )
    outcomes = [a["call"]["status"] if a["ok"] else a["error"]["code"] for a in acks]
    # Nobody is connected: every admitted invite ends MISSED at once (no line stays held).
    assert outcomes.count("MISSED") == INVITE_LIMIT, outcomes
    assert outcomes.count("rate_limited") == 20 - INVITE_LIMIT, outcomes
