"""Keeps a page's re-renders running.

Flet runs each session's re-renders in one task (``Session.__updates_scheduler``, flet 1.0.5):
it takes the components marked dirty and renders and patches each one, with no ``try`` around
them. One exception there (a render, a patch) ends that task, silently (the session holds the
task, so asyncio never reports it), and the page never changes again while the engine goes on:
a call rings and the screen still shows the contacts. :func:`guard` hears that task end; if it
ended on an error, it logs the error, starts the loop again (Flet's own public
``start_updates_scheduler``), draws the page again, and guards the new task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

UPDATES_TASK = "_Session__updates_task"
"""Where Flet's session keeps that task (a private name: ``test_update_guard`` checks that
the installed Flet still has it)."""


def guard(session: Any, redraw: Callable[[], None]) -> None:
    """Watch the session's update task (once the page is rendered: it starts the task). A task
    that ends because the session closed (cancelled, or without an error) is left alone."""
    task = getattr(session, UPDATES_TASK, None)
    if isinstance(task, asyncio.Future):
        task.add_done_callback(lambda ended: _ended(ended, session, redraw))


def _ended(task: asyncio.Future[Any], session: Any, redraw: Callable[[], None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    log.error("the page's updates stopped on an error; started again", exc_info=task.exception())
    session.start_updates_scheduler()
    redraw()
    guard(session, redraw)
