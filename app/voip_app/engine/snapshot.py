"""The engine's observable surface: one immutable :class:`EngineSnapshot`, replaced on every change
and pushed to every subscriber, and the log of :class:`~voip_app.engine.events.EngineEvent` s.

Every part of the engine (session, directory, the call's driver, the media link) changes the
snapshot through the one :class:`Publisher` it shares, so a subscriber sees one consistent value.
A listener that raises is logged and the others still hear the news.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from voip_app.call.model import ActiveCall
from voip_app.engine.events import EngineEvent
from voip_app.listeners import notify
from voip_app.media.base import AudioOutput
from voip_contract import Call, Contact, User

log = logging.getLogger("voip_app.engine")

ConnectionState = Literal["signed_out", "connecting", "online", "reconnecting", "expired"]
"""``expired``: the server refused the session's token on a reconnect; signaling has stopped
retrying and stays down until the next sign-in (``session_expired`` is set too)."""


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Everything the UI shows, as one immutable value."""

    connection: ConnectionState = "signed_out"
    server_url: str | None = None
    user: User | None = None
    contacts: tuple[Contact, ...] = ()
    call: ActiveCall | None = None
    history: tuple[Call, ...] = ()
    missed_count: int = 0
    outputs: tuple[AudioOutput, ...] = ()
    error: str | None = None
    session_expired: bool = False
    """The server refused our token: the user must sign in again. When signaling was refused,
    it has stopped reconnecting (``connection == "expired"``); when an HTTP request was, a live
    signaling link stays up until it drops, so a call in progress can finish."""
    access_token: str | None = field(default=None, repr=False)
    """The current access token, renewed before it expires: what to remember for a resume."""
    contacts_truncated: bool = False
    """The directory has more contacts than the engine loads (``CONTACTS_MAX_PAGES``)."""


SnapshotListener = Callable[[EngineSnapshot], None]
EventListener = Callable[[EngineEvent], None]


class Publisher:
    """Holds the current snapshot; tells subscribers of every change and event listeners of
    every :class:`EngineEvent`."""

    def __init__(self) -> None:
        self._snapshot = EngineSnapshot()
        self._listeners: list[SnapshotListener] = []
        self._event_listeners: list[EventListener] = []

    @property
    def snapshot(self) -> EngineSnapshot:
        return self._snapshot

    def subscribe(self, listener: SnapshotListener) -> Callable[[], None]:
        """Call ``listener(snapshot)`` after every change; returns the unsubscribe function."""
        return _added(self._listeners, listener)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Receive every :class:`EngineEvent`; returns the remove function."""
        return _added(self._event_listeners, listener)

    def update(self, **changes: Any) -> None:
        """A new snapshot with ``changes``, told to every subscriber."""
        self.reset(replace(self._snapshot, **changes))

    def set_call(self, call: ActiveCall | None) -> None:
        self.update(call=call)

    def reset(self, snapshot: EngineSnapshot) -> None:
        """Replace the whole snapshot (sign-out) and tell every subscriber."""
        self._snapshot = snapshot
        notify(list(self._listeners), snapshot, log=log, what="snapshot")

    def log(self, event: EngineEvent) -> None:
        notify(list(self._event_listeners), event, log=log, what="event")


def _added(listeners: list[Any], listener: Any) -> Callable[[], None]:
    listeners.append(listener)

    def remove() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return remove
