"""Keeps a page's re-renders running.

Flet runs each session's re-renders in one task (``Session.__updates_scheduler``, flet 1.0.5):
it takes the components marked dirty and renders and patches each one, with no ``try`` around
them. One exception there (a render, a patch) ends that task, silently (the session holds the
task, so asyncio never reports it), and the page never changes again while the engine goes on:
a call rings and the screen still shows the contacts. :func:`restart_if_dead` notices such a
task, logs its exception, starts the loop again (Flet's own public
``start_updates_scheduler``) and draws the page again; :func:`guard` asks every
:data:`CHECK_S` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from voip_app.clock import Clock

log = logging.getLogger(__name__)

CHECK_S = 2.0
UPDATES_TASK = "_Session__updates_task"
"""Where Flet's session keeps that task (a private name: ``test_update_guard`` checks that
the installed Flet still has it)."""


def restart_if_dead(session: Any, redraw: Callable[[], None]) -> bool:
    """If the session's update task ended with an exception: log it, start the loop again,
    call ``redraw``; say whether it did. A running task, or one that ended because the
    session closed, is left alone."""
    task = getattr(session, UPDATES_TASK, None)
    if task is None or not task.done() or task.cancelled():
        return False
    failure = task.exception()
    if failure is None:
        return False
    log.error("the page's updates stopped on an error; started again", exc_info=failure)
    session.start_updates_scheduler()
    redraw()
    return True


async def guard(session: Any, redraw: Callable[[], None], clock: Clock) -> None:
    """Every :data:`CHECK_S` seconds, :func:`restart_if_dead`, until cancelled."""
    while True:
        restart_if_dead(session, redraw)
        await clock.sleep(CHECK_S)
