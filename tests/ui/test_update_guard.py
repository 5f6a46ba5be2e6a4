"""The guard on a page's re-renders (``voip_app.ui.update_guard``).

Specification:
- When the session's update task ends on an error: the error is logged, the session's loop is
  started again once, the page is drawn again once, and the new task is guarded in turn.
- A task that ends because the session closed (without an error, or cancelled), or no task at
  all: nothing is done.
- The installed Flet still keeps that task where the guard looks, and still starts it with
  ``start_updates_scheduler``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

import pytest
from flet.messaging.session import Session

from voip_app.ui import update_guard
from voip_app.ui.update_guard import guard


class StandInSession:
    """What the guard uses of Flet's session: the task, and the call that starts it (each
    start runs the next of ``bodies``)."""

    def __init__(self, *bodies: Callable[[], Awaitable[None]]) -> None:
        self._bodies = list(bodies)
        self.starts = 0
        self._Session__updates_task = asyncio.ensure_future(self._bodies.pop(0)())

    def start_updates_scheduler(self) -> None:
        self.starts += 1
        self._Session__updates_task = asyncio.ensure_future(self._bodies.pop(0)())


async def _fails() -> None:
    raise ValueError("a render that fails")


async def _runs() -> None:
    await asyncio.Event().wait()


async def _ends() -> None:
    return None


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_loop_that_dies_is_logged_started_again_and_the_page_drawn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = StandInSession(_fails, _fails, _runs)
    drawn: list[bool] = []
    with caplog.at_level(logging.ERROR, logger=update_guard.__name__):
        guard(session, lambda: drawn.append(True))
        await _turns()
    assert (session.starts, drawn) == (2, [True, True])  # the second death is heard too
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == [
        "a render that fails",
        "a render that fails",
    ]
    session._Session__updates_task.cancel()


@pytest.mark.parametrize("body", [_ends, _runs])
async def test_a_loop_that_ends_with_its_session_is_left_alone(
    body: Callable[[], Awaitable[None]],
) -> None:
    session = StandInSession(body)
    guard(session, lambda: pytest.fail("drawn"))
    await _turns()
    session._Session__updates_task.cancel()  # (a session that closes cancels its task)
    await _turns()
    assert session.starts == 0
    guard(object(), lambda: pytest.fail("drawn"))  # no task: nothing to guard


def test_flet_keeps_the_task_where_the_guard_looks() -> None:
    source = inspect.getsource(Session)
    assert update_guard.UPDATES_TASK.removeprefix("_Session") in source
    assert callable(Session.start_updates_scheduler)
