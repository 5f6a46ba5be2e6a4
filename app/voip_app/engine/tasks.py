"""Background tasks, each kept in a :class:`TaskSet` until it ends (as livekit's ``Room`` keeps its
tasks): a failure is logged, never lost, and the set is drained on close.

The engine keeps four (:class:`EngineTasks`): the session's upkeep (renewing the token, for as long
as the session lasts), the session's one-off work (outlives a call; drained at sign-out), the
call's (cancelled when the call ends) and clean-ups (leaving a room: never cancelled, awaited with
a bound at sign-out).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

CLEANUP_WITHIN_S = 10.0
"""How long sign-out lets clean-ups (leaving a room) finish on their own."""


class TaskSet:
    """A set of running tasks."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task of this set."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        self._empty.clear()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._empty.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def _others(self) -> list[asyncio.Task[Any]]:
        current = asyncio.current_task()
        return [t for t in self._tasks if t is not current]

    def cancel(self) -> None:
        """Cancel every task but the one calling."""
        for task in self._others():
            task.cancel()

    async def drain(self) -> None:
        """Cancel every task but the one calling, and wait until they have stopped."""
        pending = self._others()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def finish(self, within_s: float = CLEANUP_WITHIN_S) -> None:
        """Let the tasks end on their own; cancel only what still runs after ``within_s``."""
        pending = self._others()
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=within_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)

    async def idle(self) -> None:
        """Return once no task of this set runs."""
        await self._empty.wait()


@dataclass(frozen=True)
class EngineTasks:
    """Everything the engine runs in the background, by how long it may live."""

    upkeep: TaskSet = field(default_factory=TaskSet)
    session: TaskSet = field(default_factory=TaskSet)
    call: TaskSet = field(default_factory=TaskSet)
    cleanups: TaskSet = field(default_factory=TaskSet)
