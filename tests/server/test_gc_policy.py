"""The collector's freezing policy (:mod:`server.gcpolicy`): its decisions on a fake clock and
a fake collector, then the policy in a real server with real Socket.IO clients.

Specification (``check_s`` 1, ``floor`` 100, ``garbage_ratio`` 1, ``refresh_min_s`` 60, and
400 objects frozen at start):
- After a collection of generation 0 nothing is frozen.
- After a collection of generation 1 or 2 everything in the old generation (it just survived)
  is frozen, and counted.
- A check refreshes (unfreeze, then one full collection, whose end freezes the survivors, then
  a second, empty one, so that Python's next full collection does not wait for a quarter of
  everything to be promoted) when
  the objects frozen since the last refresh reach ``garbage_ratio`` times the frozen
  population the last refresh left (at start: what was frozen then; never less than
  ``floor``), but never sooner than ``refresh_min_s`` after start or after the last refresh.
  Otherwise it does nothing.
- After a refresh the count starts at 0 and the next limit is ``garbage_ratio`` times what
  survived it.
- In a real server (a refresh at every check): the frozen population grows when sockets
  connect and falls back when they go.
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

CONFIG = GcPolicyConfig(check_s=1, floor=100, garbage_ratio=1.0, refresh_min_s=60)


class FakeCollector:
    """Counts of objects by where they are; ``garbage_old`` of the old ones are unreachable.
    Its full collection ends, as Python's does, by calling the policy's callback."""

    def __init__(self, frozen: int) -> None:
        self.old = 0
        self.garbage_old = 0
        self.frozen = frozen
        self.calls: list[str] = []
        self.policy: GcPolicy | None = None

    def old_count(self) -> int:
        return self.old

    def frozen_count(self) -> int:
        return self.frozen

    def collect(self) -> int:
        self.calls.append("collect")
        freed, self.garbage_old = self.garbage_old, 0
        self.old -= freed
        assert self.policy is not None
        self.policy.callback("stop", {"generation": 2})
        return freed

    def freeze(self) -> None:
        self.calls.append("freeze")
        self.frozen, self.old = self.frozen + self.old, 0

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")
        self.old, self.frozen = self.old + self.frozen, 0


def policy() -> tuple[GcPolicy, FakeClock, FakeCollector]:
    clock, collector = FakeClock(), FakeCollector(frozen=400)
    gcp = collector.policy = GcPolicy(CONFIG, clock, collector)
    return gcp, clock, collector


def full_collection(gcp: GcPolicy, collector: FakeCollector, survivors: int) -> None:
    """One of Python's own full collections, ending with ``survivors`` in the old generation."""
    collector.old = survivors
    gcp.callback("start", {"generation": 2})
    gcp.callback("stop", {"generation": 2})


def test_young_collections_freeze_nothing() -> None:
    gcp, _, collector = policy()
    collector.old = 150
    gcp.callback("start", {"generation": 0})
    gcp.callback("stop", {"generation": 0})
    assert collector.calls == []
    assert (collector.old, collector.frozen, gcp.frozen_since) == (150, 400, 0)


def test_older_collections_freeze_and_count_their_survivors() -> None:
    gcp, _, collector = policy()
    full_collection(gcp, collector, 150)
    assert collector.calls == ["freeze"]
    assert (collector.old, collector.frozen, gcp.frozen_since) == (0, 550, 150)
    collector.old = 30
    gcp.callback("start", {"generation": 1})
    gcp.callback("stop", {"generation": 1})
    assert (collector.old, collector.frozen, gcp.frozen_since) == (0, 580, 180)


def test_refresh_waits_for_the_limit_and_for_refresh_min_s_after_start() -> None:
    gcp, clock, collector = policy()
    clock.advance(60)
    full_collection(gcp, collector, 399)  # the limit: the 400 frozen at start
    assert gcp.check() is False
    full_collection(gcp, collector, 1)
    clock.advance(-1)  # 59 s after start
    assert gcp.check() is False
    clock.advance(1)
    collector.calls.clear()
    assert gcp.check() is True
    assert collector.calls == ["unfreeze", "collect", "freeze", "collect", "freeze"]


def test_after_a_refresh_the_limit_is_what_survived_it() -> None:
    gcp, clock, collector = policy()
    full_collection(gcp, collector, 400)
    clock.advance(60)
    collector.garbage_old = 300  # of the 800 frozen, 300 are cyclic garbage: 500 live
    assert gcp.check() is True
    assert (collector.frozen, gcp.frozen_since, gcp.limit()) == (500, 0, 500)
    full_collection(gcp, collector, 499)
    clock.advance(60)
    assert gcp.check() is False
    full_collection(gcp, collector, 1)
    assert gcp.check() is True


def test_refreshes_are_at_least_refresh_min_s_apart() -> None:
    gcp, clock, collector = policy()
    clock.advance(60)
    full_collection(gcp, collector, 1000)
    assert gcp.check() is True  # 1,400 survive: the next limit
    full_collection(gcp, collector, 2000)
    clock.advance(59)
    assert gcp.check() is False
    clock.advance(1)
    assert gcp.check() is True


def test_the_limit_is_never_below_floor() -> None:
    clock, collector = FakeClock(), FakeCollector(frozen=10)
    gcp = collector.policy = GcPolicy(CONFIG, clock, collector)
    clock.advance(60)
    assert gcp.limit() == 100
    full_collection(gcp, collector, 99)
    assert gcp.check() is False


# -- in a real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refreshing_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A server that refreshes at every check (0.2 s; each refresh logs what it left frozen),
    with young collections frequent enough for a few sockets' objects to reach the old
    generation."""
    env = {
        "VOIP_GC_REFREEZE": "true",
        "VOIP_GC_THRESHOLD1": "2",
        "VOIP_GC_CHECK_S": "0.2",
        "VOIP_GC_REFRESH_MIN_S": "0",
        "VOIP_GC_GARBAGE_RATIO": "0.001",
        "VOIP_GC_THRESHOLD0": "100",
    }
    workdir = tmp_path_factory.mktemp("gc-policy")
    yield from start_stack(workdir, database=None, env=env, with_sfu=False)


def refreshes(log: Path) -> list[dict[str, Any]]:
    """The server's ``gc refresh`` records so far."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if '"gc refresh"' in line:
            out.append(json.loads(line))
    return out


async def frozen_after(log: Path, seen: int) -> tuple[int, int]:
    """What the next refresh after the first ``seen`` ones left frozen; how many there are."""
    for _ in range(200):
        found = refreshes(log)
        if len(found) > seen:
            return found[-1]["gc_frozen"], len(found)
        await asyncio.sleep(0.1)
    raise AssertionError("no gc refresh record")


async def test_frozen_objects_grow_with_sockets_and_go_with_them(refreshing_stack: Stack) -> None:
    stack = Stack(refreshing_stack.server, None)
    log = stack.server.log_path
    people = await stack.tenant(*(f"u{i}" for i in range(40)))
    base, seen = await frozen_after(log, len(refreshes(log)))
    async with stack.clients(*people.values()):
        _, seen = await frozen_after(log, seen)  # a refresh that began before all connected
        peak, seen = await frozen_after(log, seen)
    _, seen = await frozen_after(log, seen)
    after, _ = await frozen_after(log, seen)
    await stack.aclose()
    assert peak > base + 40 * 50  # each socket keeps some 175 objects
    assert after < base + (peak - base) / 2
