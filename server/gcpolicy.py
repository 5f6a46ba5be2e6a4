"""The collector's freezing policy: full collections walk only what is new, and what freezing
holds back is bounded.

Python's full (generation 2) collection walks every object the collector tracks. With 5,000
sockets connected that is some 900,000 objects (the transport's tasks, queues and timers per
socket) and a pause of 100-200 ms each time. ``gc.freeze()`` moves every tracked object into a
permanent generation that no collection walks, so the pauses shrink to what is not frozen; the
price is that a frozen object that later becomes cyclic garbage is never freed, until
``gc.unfreeze()`` and a full collection. This policy takes the gain and bounds the price:

- **freeze** (free, after every collection of generation 1 or 2): such a collection leaves
  the young generations empty and moves what survived it to the old one; since the policy
  froze what was old before, everything not frozen has just survived a collection, so nothing
  frozen then is garbage yet. The policy freezes it (``gc.freeze()`` only links lists) and
  counts it (a walk of what the collection just walked). A collection then walks only what
  came since the last one: the young generations, whose size the thresholds bound
  (``VOIP_GC_THRESHOLD0/1``), never the objects of the sockets connected earlier.
- **refresh** (a full pause, rarely): the objects frozen since the last refresh are an upper
  bound of the frozen garbage (some of them were freed since, by their reference count). Every
  ``check_s`` of the clock: when they reach ``garbage_ratio`` times the frozen population the
  last refresh left (at start: what was frozen then; at least ``floor`` objects), and the last
  refresh (or the start) is ``refresh_min_s`` ago or more, unfreeze, collect everything once
  (the callback above then freezes the survivors) and start counting again. Frozen garbage thus
  stays below ``garbage_ratio`` times the live objects, plus what accrues during
  ``refresh_min_s``: as a tracing collector that lets its heap grow to twice the live data.

Measured (docs/benchmarks.md, *Stalls and the collector*), and why ``VOIP_GC_REFREEZE`` is
off by default: with 5,000 sockets connecting, the worst pause fell from about 100 to 28 ms
in one run and not in another; a socket that goes leaves some 60-70 objects of cyclic garbage
frozen, and a refresh, a full collection of everything, took 0.3-1.5 s (2.4 s when 20,000
sockets had come and gone before it), more than the pauses it spares.

The decisions run on the injected clock (:mod:`server.clock`); the collector is behind
:class:`Collector` so that a unit test can state them without Python's collector.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.clock import Clock

log = logging.getLogger(__name__)


class Collector(Protocol):
    """What the policy asks of the collector."""

    def old_count(self) -> int:
        """Objects in the oldest generation that are not frozen."""
        ...

    def frozen_count(self) -> int:
        """Objects frozen now (a walk of them all: the policy asks only at start)."""
        ...

    def collect(self) -> int:
        """A full collection of what is not frozen (which calls :meth:`GcPolicy.collected`)."""
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
    floor: int = 50_000
    garbage_ratio: float = 1.0
    refresh_min_s: float = 300.0


class GcPolicy:
    """Freezes after each collection of the older generations; refreshes when due (module
    doc)."""

    def __init__(self, config: GcPolicyConfig, clock: Clock, collector: Collector) -> None:
        self.config = config
        self.clock = clock
        self.collector = collector
        self.live_frozen = collector.frozen_count()
        self.frozen_since = 0
        self.last_refresh = clock.now()  # the first refresh, too, waits refresh_min_s
        self.refreshes = 0

    def limit(self) -> float:
        """Objects frozen since the last refresh at which the next one is due."""
        return self.config.garbage_ratio * max(self.live_frozen, self.config.floor)

    def collected(self, generation: int) -> int:
        """After a collection of ``generation``: freeze what it moved to the old generation (all
        that is there: what was before is frozen) unless it was a young one; how many."""
        if generation < 1:
            return 0
        survivors = self.collector.old_count()
        self.collector.freeze()
        self.frozen_since += survivors
        return survivors

    def check(self) -> bool:
        """One look at the clock and the count; whether it refreshed."""
        now = self.clock.now()
        if self.frozen_since < self.limit() or not self._refresh_allowed(now):
            return False
        started = time.perf_counter()
        before, self.frozen_since = self.frozen_since, 0
        self.collector.unfreeze()
        freed = self.collector.collect()  # calls collected(2): all survivors frozen, counted
        self.live_frozen, self.frozen_since = self.frozen_since, 0
        # Python's next full collection waits for a quarter of what the last one left to be
        # promoted: an empty one now (all is frozen) makes that 0, not all the live objects.
        self.collector.collect()
        self.frozen_since = 0
        self.last_refresh = now
        self.refreshes += 1
        log.info(
            "gc refresh",
            extra={
                "gc_freed": freed,
                "gc_frozen": self.live_frozen,
                "gc_frozen_since_refresh": before,
                "gc_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return True

    def _refresh_allowed(self, now: datetime) -> bool:
        return (now - self.last_refresh).total_seconds() >= self.config.refresh_min_s

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        """For ``gc.callbacks``: :meth:`collected` when a collection stops."""
        if phase == "stop":
            self.collected(int(info.get("generation", 0)))

    async def run(self) -> None:
        """Freeze after collections and check every ``check_s``, for ever (a background job of
        the server)."""
        gc.callbacks.insert(0, self.callback)  # first: the pause logged includes its count
        # Python runs a full collection only once the objects promoted since the last one reach
        # a quarter of what that one left: one now, of the little not frozen at start, makes
        # that little, not the start-up's objects.
        self.collector.collect()
        try:
            while True:
                await self.clock.sleep(self.config.check_s)
                self.check()
        finally:
            gc.callbacks.remove(self.callback)
