"""The event loop's lag and the collector's pauses, logged: what a stall of the loop was made of.

A task sleeps ``period`` seconds again and again; how much later than asked it wakes is the
loop's lag (a handler or a collection that held the loop). ``gc.callbacks`` time each
collection. Every ``report_s`` one ``loop stats`` record gives the worst of each since the
last one (only when something happened), so a benchmark can read the worst of a run from the
log. ``VOIP_LOOP_WATCH=false`` turns it off.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


def tune_gc(threshold0: int, threshold1: int = 0, threshold2: int = 0, *, freeze: bool) -> None:
    """After start: what exists now (modules, models, compiled statements) lives for ever, so
    ``freeze`` moves it out of the collector's way (a full collection then walks only what came
    later); a higher ``threshold0`` collects the young generation less often; ``threshold1``
    and ``threshold2`` set how many younger collections come before an older one (0: as is).

    No collection follows the freeze, on purpose: Python's next full collection then waits
    until the objects promoted since reach a quarter of what the last one kept (the frozen
    start-up's), which keeps full collections rare; :mod:`server.gcpolicy`, when on, collects
    and freezes again on its own."""
    if freeze:
        gc.collect()
        gc.freeze()
    now = gc.get_threshold()
    asked = (threshold0, threshold1, threshold2)
    gc.set_threshold(*(t if t > 0 else was for t, was in zip(asked, now, strict=True)))


class GcPauses:
    """The longest collection (per generation seen) since :meth:`take`."""

    def __init__(self) -> None:
        self._started = 0.0
        self.worst_ms = 0.0
        self.worst_gen = -1
        self.count = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = (time.perf_counter() - self._started) * 1000
        self.count += 1
        if took > self.worst_ms:
            self.worst_ms, self.worst_gen = took, int(info.get("generation", -1))

    def take(self) -> tuple[float, int, int]:
        """``(worst ms, its generation, collections)`` since the last take; starts afresh."""
        out = (self.worst_ms, self.worst_gen, self.count)
        self.worst_ms, self.worst_gen, self.count = 0.0, -1, 0
        return out


async def watch(period: float = 0.02, report_s: float = 5.0) -> None:
    """Measure the loop's lag and the collections' pauses for ever; log the worst every
    ``report_s`` seconds (wall clock: this is about the real loop, not the injected clock)."""
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    worst_lag, next_report = 0.0, time.monotonic() + report_s
    try:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(period)
            now = time.monotonic()
            worst_lag = max(worst_lag, (now - asked - period) * 1000)
            if now >= next_report:
                gc_ms, gen, count = pauses.take()
                if worst_lag >= 5 or gc_ms >= 5:
                    log.info(
                        "loop stats",
                        extra={
                            "loop_lag_max_ms": round(worst_lag, 1),
                            "gc_pause_max_ms": round(gc_ms, 1),
                            "gc_pause_gen": gen,
                            "gc_collections": count,
                        },
                    )
                worst_lag, next_report = 0.0, now + report_s
    finally:
        gc.callbacks.remove(pauses)
