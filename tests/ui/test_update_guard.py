"""The guard on a page's re-renders (``voip_app.ui.update_guard``).

Specification:
- A session whose update task ended with an error: the error is logged, the session's loop is
  started again once, and the page is drawn again once.
- A task still running, one that ended because the session closed (no error), one cancelled,
  or no task at all: nothing is done.
- :func:`guard` looks every ``CHECK_S`` seconds of its clock, so a loop that dies later is
  started again at the next look.
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

from voip_app.clock import FakeClock
from voip_app.ui import update_guard
from voip_app.ui.update_guard import CHECK_S, guard, restart_if_dead


class StandInSession:
    """What the guard uses of Flet's session: the task and the call that starts it."""

    def __init__(self, body: Callable[[], Awaitable[None]]) -> None:
        self._body = body
        self.starts = 0
        self._Session__updates_task = asyncio.ensure_future(body())

    def start_updates_scheduler(self) -> None:
        self.starts += 1
        self._Session__updates_task = asyncio.ensure_future(self._body())


async def _fails() -> None:
    raise ValueError("a render that fails")


async def _runs() -> None:
    await asyncio.Event().wait()


async def _ends() -> None:
    return None


async def test_a_loop_that_died_is_logged_started_again_and_the_page_drawn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = StandInSession(_fails)
    await asyncio.sleep(0)
    drawn: list[bool] = []
    with caplog.at_level(logging.ERROR, logger=update_guard.__name__):
        assert restart_if_dead(session, lambda: drawn.append(True))
    assert (session.starts, drawn) == (1, [True])
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "a render that fails" in str(record.exc_info[1])


@pytest.mark.parametrize("body", [_runs, _ends])
async def test_a_running_or_closed_loop_is_left_alone(
    body: Callable[[], Awaitable[None]],
) -> None:
    session = StandInSession(body)
    await asyncio.sleep(0)
    assert not restart_if_dead(session, lambda: pytest.fail("drawn"))
    assert session.starts == 0
    session._Session__updates_task.cancel()
    await asyncio.sleep(0)
    assert not restart_if_dead(session, lambda: pytest.fail("drawn"))
    assert not restart_if_dead(object(), lambda: pytest.fail("drawn"))


async def test_the_guard_looks_every_few_seconds() -> None:
    clock = FakeClock()
    session = StandInSession(_runs)
    drawn: list[bool] = []
    watching = asyncio.ensure_future(guard(session, lambda: drawn.append(True), clock))
    await clock.until_sleeping()
    session._Session__updates_task = asyncio.ensure_future(_fails())  # it dies later
    await asyncio.sleep(0)
    assert (session.starts, drawn) == (0, [])
    clock.advance(CHECK_S)
    await clock.until_sleeping()
    assert (session.starts, drawn) == (1, [True])
    watching.cancel()
    session._Session__updates_task.cancel()


def test_flet_keeps_the_task_where_the_guard_looks() -> None:
    source = inspect.getsource(Session)
    assert update_guard.UPDATES_TASK.removeprefix("_Session") in source
    assert callable(Session.start_updates_scheduler)
