"""The collector's freezing policy (:mod:`server.gcpolicy`): its decisions on a fake clock and
a fake collector, then the policy in a real server with real Socket.IO clients.

Specification (``check_s`` 1, ``freeze_at`` 100, ``garbage_ratio`` 1, ``refresh_min_s`` 60,
and 400 objects frozen at start):
- While the old generation (not frozen) holds fewer than ``freeze_at`` objects, a check does
  nothing.
- With ``freeze_at`` or more, a check collects what is not frozen and then freezes what
  survived (in that order: garbage is never frozen); the old generation is then empty.
- The objects frozen since the last refresh add up. A refresh (unfreeze, collect, freeze, in
  that order) is due when they reach ``garbage_ratio`` times the frozen population measured at
  the last refresh (at start: what was frozen then; never less than ``freeze_at``), but never
  sooner than ``refresh_min_s`` after start or after the last refresh.
- After a refresh, the count starts at 0 and the next limit is ``garbage_ratio`` times what
  survived it.
- The server freezes its sockets' long-lived objects once their old generation reaches
  ``VOIP_GC_FREEZE_AT`` (its ``gc freeze`` log record).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.gcpolicy import GcPolicy, GcPolicyConfig
from tests.server.conftest import start_stack
from tests.server.fakes import FakeClock
from tests.server.harness import Stack

CONFIG = GcPolicyConfig(check_s=1, freeze_at=100, garbage_ratio=1.0, refresh_min_s=60)


class FakeCollector:
    """Counts of objects by where they are; ``garbage_old`` of the old ones are unreachable."""

    def __init__(self, frozen: int) -> None:
        self.old = 0
        self.garbage_old = 0
        self.frozen = frozen
        self.calls: list[str] = []

    def old_count(self) -> int:
        return self.old

    def frozen_count(self) -> int:
        return self.frozen

    def collect(self) -> int:
        self.calls.append("collect")
        freed, self.garbage_old = self.garbage_old, 0
        self.old -= freed
        return freed

    def freeze(self) -> None:
        self.calls.append("freeze")
        self.frozen, self.old = self.frozen + self.old, 0

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")
        self.old, self.frozen = self.old + self.frozen, 0


def policy() -> tuple[GcPolicy, FakeClock, FakeCollector]:
    clock, collector = FakeClock(), FakeCollector(frozen=400)
    return GcPolicy(CONFIG, clock, collector), clock, collector


def test_below_freeze_at_nothing_happens() -> None:
    gcp, clock, collector = policy()
    collector.old = 99
    clock.advance(1)
    assert gcp.check() is None
    assert collector.calls == []


def test_at_freeze_at_the_survivors_of_a_collection_are_frozen() -> None:
    gcp, clock, collector = policy()
    collector.old, collector.garbage_old = 150, 30
    clock.advance(1)
    assert gcp.check() == "freeze"
    assert collector.calls == ["collect", "freeze"]
    assert (collector.old, collector.frozen) == (0, 400 + 120)


def test_refresh_waits_for_the_limit_and_for_refresh_min_s_after_start() -> None:
    gcp, clock, collector = policy()
    for _ in range(4):  # 4 x 100 frozen = the 400 frozen at start: the limit, at 4 s
        collector.old = 100
        clock.advance(1)
        assert gcp.check() == "freeze"
    collector.calls.clear()
    clock.advance(55)  # 59 s after start
    assert gcp.check() is None
    clock.advance(1)
    collector.garbage_old = 0
    assert gcp.check() == "refresh"
    assert collector.calls == ["unfreeze", "collect", "freeze"]


def test_after_a_refresh_the_limit_is_what_survived_it() -> None:
    gcp, clock, collector = policy()
    for _ in range(4):
        collector.old = 100
        clock.advance(1)
        gcp.check()
    clock.advance(60)
    collector.garbage_old = 300  # of the 800 frozen, 300 were cyclic garbage: 500 live
    assert gcp.check() == "refresh"
    assert collector.frozen == 500
    for _ in range(4):  # 400 frozen since: below 500, no refresh even 60 s later
        collector.old = 100
        clock.advance(1)
        assert gcp.check() == "freeze"
    clock.advance(60)
    assert gcp.check() is None
    collector.old = 100
    assert gcp.check() == "freeze"  # 500 now
    clock.advance(1)
    assert gcp.check() == "refresh"


def test_refreshes_are_at_least_refresh_min_s_apart() -> None:
    gcp, clock, collector = policy()
    clock.advance(60)
    collector.old = 1000
    assert gcp.check() == "freeze"
    assert gcp.check() == "refresh"
    collector.old = 2000
    clock.advance(59)
    assert gcp.check() == "freeze"
    assert gcp.check() is None
    clock.advance(1)
    assert gcp.check() == "refresh"


def test_the_limit_is_never_below_freeze_at() -> None:
    clock, collector = FakeClock(), FakeCollector(frozen=10)
    gcp = GcPolicy(CONFIG, clock, collector)
    clock.advance(60)
    assert gcp.limit() == 100
    collector.old = 50
    assert gcp.check() is None


# -- in a real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_policy_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A server whose policy freezes at 2,000 old objects, checked every 0.2 s (and whose
    young collections run often enough for 40 sockets' objects to reach the old generation)."""
    env = {"VOIP_GC_FREEZE_AT": "2000", "VOIP_GC_CHECK_S": "0.2", "VOIP_GC_THRESHOLD0": "100"}
    workdir = tmp_path_factory.mktemp("gc-policy")
    yield from start_stack(workdir, database=None, env=env, with_sfu=False)


def records(log: Path, msg: str) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("msg") == msg:
            out.append(rec)
    return out


async def test_the_server_freezes_what_its_sockets_keep(small_policy_stack: Stack) -> None:
    stack = Stack(small_policy_stack.server, None)
    log = stack.server.log_path
    before = len(records(log, "gc freeze"))
    people = await stack.tenant(*(f"u{i}" for i in range(40)))
    async with stack.clients(*people.values()):
        for _ in range(100):  # each socket keeps some 175 objects: 40 pass 2,000
            fresh = records(log, "gc freeze")[before:]
            if sum(r["gc_frozen"] for r in fresh) >= 2000:
                break
            await asyncio.sleep(0.1)
    assert sum(r["gc_frozen"] for r in records(log, "gc freeze")[before:]) >= 2000
    await stack.aclose()
