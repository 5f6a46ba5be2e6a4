"""The collector's freezing policy: full collections walk only what is new, and what freezing
holds back is bounded.

Python's full (generation 2) collection walks every object the collector tracks. With 5,000
sockets connected that is some 900,000 objects (the transport's tasks, queues and timers per
socket) and a pause of 100-200 ms each time. ``gc.freeze()`` moves every tracked object into a
permanent generation that no collection walks, so the pauses shrink to what is not frozen; the
price is that a frozen object that later becomes cyclic garbage is never freed, until
``gc.unfreeze()`` and a full collection. This policy takes the gain and bounds the price:

- **freeze** (cheap, often): every ``check_s`` it counts the old generation (what survived the
  young collections and is not frozen). At ``freeze_at`` objects or more it collects what is
  not frozen (a pause proportional to ``freeze_at``, not to the sockets) and freezes the
  survivors. So the long-lived objects of sockets that connect leave the collector's way in
  batches, and nothing that is already garbage gets frozen.
- **refresh** (a full pause, rarely): the objects frozen since the last refresh are counted
  (an upper bound of the frozen garbage: some of them were freed since, by their reference
  count). When they reach ``garbage_ratio`` times the frozen population measured at the last
  refresh (at least ``freeze_at``), and the last refresh is ``refresh_min_s`` ago or more, it
  unfreezes, collects everything once and freezes the survivors again. Frozen garbage thus
  stays below ``garbage_ratio`` times the live objects (plus what accrues during
  ``refresh_min_s``; the first refresh, too, comes ``refresh_min_s`` after start at the
  earliest), as a tracing collector that lets its heap grow to twice the live data.

The decisions run on the injected clock (:mod:`server.clock`); the collector is behind
:class:`Collector` so that a unit test can state them without Python's collector.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from server.clock import Clock

log = logging.getLogger(__name__)

Action = Literal["freeze", "refresh"]


class Collector(Protocol):
    """What the policy asks of the collector."""

    def old_count(self) -> int:
        """Objects in the oldest generation that are not frozen."""
        ...

    def frozen_count(self) -> int:
        """Objects frozen now (a walk of them all: the policy asks only at start)."""
        ...

    def collect(self) -> int:
        """A full collection of what is not frozen; the objects it freed."""
        ...

    def freeze(self) -> None:
        """Freeze every tracked object."""
        ...

    def unfreeze(self) -> None:
        """Give every frozen object back to the oldest generation."""
        ...


class PythonCollector:
    """:class:`Collector` over the :mod:`gc` module."""

    def old_count(self) -> int:
        return len(gc.get_objects(generation=2))

    def frozen_count(self) -> int:
        return gc.get_freeze_count()

    def collect(self) -> int:
        return gc.collect()

    def freeze(self) -> None:
        gc.freeze()

    def unfreeze(self) -> None:
        gc.unfreeze()


@dataclass(frozen=True)
class GcPolicyConfig:
    """The policy's settings (``VOIP_GC_...``, :class:`server.config_fields.TransportSettings`)."""

    check_s: float = 1.0
    freeze_at: int = 50_000
    garbage_ratio: float = 1.0
    refresh_min_s: float = 300.0


class GcPolicy:
    """Decides, every ``check_s`` of the clock, whether to freeze or to refresh (module doc)."""

    def __init__(self, config: GcPolicyConfig, clock: Clock, collector: Collector) -> None:
        self.config = config
        self.clock = clock
        self.collector = collector
        self.live_frozen = collector.frozen_count()
        self.frozen_since = 0
        self.last_refresh = clock.now()  # the first refresh, too, waits refresh_min_s

    def limit(self) -> float:
        """Objects frozen since the last refresh at which the next one is due."""
        return self.config.garbage_ratio * max(self.live_frozen, self.config.freeze_at)

    def check(self) -> Action | None:
        """One look at the collector; what it did (``None``: nothing)."""
        now = self.clock.now()
        if self.frozen_since >= self.limit() and self._refresh_allowed(now):
            self._refresh(now)
            return "refresh"
        if self.collector.old_count() >= self.config.freeze_at:
            self._freeze()
            return "freeze"
        return None

    def _refresh_allowed(self, now: datetime) -> bool:
        return (now - self.last_refresh).total_seconds() >= self.config.refresh_min_s

    def _freeze(self) -> None:
        started = time.perf_counter()
        freed = self.collector.collect()
        survivors = self.collector.old_count()
        self.collector.freeze()
        self.frozen_since += survivors
        log.info(
            "gc freeze",
            extra={
                "gc_frozen": survivors,
                "gc_freed": freed,
                "gc_frozen_since_refresh": self.frozen_since,
                "gc_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    def _refresh(self, now: datetime) -> None:
        started = time.perf_counter()
        self.collector.unfreeze()
        freed = self.collector.collect()
        live = self.collector.old_count()
        self.collector.freeze()
        log.info(
            "gc refresh",
            extra={
                "gc_freed": freed,
                "gc_frozen": live,
                "gc_frozen_since_refresh": self.frozen_since,
                "gc_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        self.live_frozen, self.frozen_since, self.last_refresh = live, 0, now

    async def run(self) -> None:
        """Check every ``check_s`` for ever (a background job of the server)."""
        while True:
            await self.clock.sleep(self.config.check_s)
            self.check()
