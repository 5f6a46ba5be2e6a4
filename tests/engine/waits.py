"""Waiting on an engine's snapshots in tests: events, never polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from voip_app.call import Phase
from voip_app.engine import CallEngine, EngineSnapshot


async def until(
    engine: CallEngine, predicate: Callable[[EngineSnapshot], bool], within: float = 20
) -> EngineSnapshot:
    """The engine's snapshot once ``predicate`` holds; ``TimeoutError`` after ``within`` s."""
    if predicate(engine.snapshot):
        return engine.snapshot
    reached = asyncio.Event()
    unsubscribe = engine.subscribe(lambda s: reached.set() if predicate(s) else None)
    try:
        await asyncio.wait_for(reached.wait(), within)
    finally:
        unsubscribe()
    return engine.snapshot


def in_phase(phase: Phase) -> Callable[[EngineSnapshot], bool]:
    """A predicate: the engine has a call, in ``phase``."""
    return lambda s: s.call is not None and s.call.phase is phase
