"""Delivering news to callbacks that the engine does not own.

A listener that raises is a bug in the listener, not in the one telling it: the error is logged
with what was being delivered, and the loop that delivered it goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def notify(
    listeners: Iterable[Callable[[T], None] | None], news: T, *, log: logging.Logger, what: str
) -> None:
    """Call every listener with ``news``; log (never raise) what one of them raised."""
    for listener in listeners:
        if listener is None:
            continue
        try:
            listener(news)
        except Exception:
            log.exception("%s listener failed on %s", what, type(news).__name__)
