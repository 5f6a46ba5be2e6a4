"""Time, as one small seam: every deadline, backoff and renewal in the app asks a :class:`Clock`
(the engine's parts, the API client timing a fresh token, the UI's call timer).

:data:`SYSTEM_CLOCK` is the real one (the wall clock in UTC, ``asyncio.sleep``). :class:`FakeClock`
moves only when a test says so (:meth:`FakeClock.advance`), so timers are tested in milliseconds
instead of by waiting; like ``httpx.MockTransport`` it ships with the code it stands in for.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The time of day and waiting."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` (at once for zero or less)."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0))


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock for tests: ``now()`` stands still and sleepers wake only on :meth:`advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # a real sleep(0) yields once; so does this one
            return
        wake = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), wake))
        self._changed.set()
        await wake

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock now."""
        self._sleepers = [(due, wake) for due, wake in self._sleepers if not wake.done()]
        return len(self._sleepers)

    def advance(self, seconds: float) -> None:
        """Move time on and wake every sleeper that is due (earliest first)."""
        self._now += timedelta(seconds=seconds)
        due = sorted((s for s in self._sleepers if s[0] <= self._now), key=lambda s: s[0])
        for _, wake in due:
            if not wake.done():
                wake.set_result(None)
        self._sleepers = [s for s in self._sleepers if not s[1].done()]

    async def until_sleeping(self, count: int = 1, within_s: float = 5.0) -> None:
        """Wait (a real-time bound) until ``count`` tasks sleep on this clock."""
        async with asyncio.timeout(within_s):
            while self.sleepers < count:
                self._changed.clear()
                await self._changed.wait()
