"""Time, injected: the server reads the time and waits only through a :class:`Clock`.

Ring deadlines, rejoin graces, the sweeps, node liveness, the sign-in guard's window and the
lifetimes of the server's own tokens all depend on the time. The server runs on
:class:`SystemClock`; tests hand the same code a fake clock (``tests/server/fakes.py``) and move
it, instead of waiting for a deadline to pass.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the server gets the time from."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The wall clock and the event loop's timer."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
