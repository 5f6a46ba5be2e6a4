"""Which contacts' presence the engine watches (:class:`PresenceWatch`), and applying what the
server says about them.

The app watches the contacts on screen, not everyone it holds: presence costs the server one
event per watcher, so a watch of the rows someone can see (and a margin a short scroll reaches)
is what keeps a tenant of hundreds cheap. The screen reports its rows
(:meth:`PresenceWatch.visible`); until it does, or with no screen at all (``voip-softphone``),
the top of the list is watched (:data:`FIRST_SCREEN_WATCH`).

A watch goes out at once after a load or on a new connection, and for a new set of rows once
they have held still (:data:`WATCH_SETTLE_S`, at most :data:`WATCH_LATEST_S` late: a fling
reports a set per frame); the same set is not sent twice on one connection. Only the latest
watch's ack is applied, and a ``presence`` event wins over an older ack for its user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from voip_app.engine.events import (
    PresenceHeardEvent,
    PresenceWatchedEvent,
    PresenceWatchFailedEvent,
)
from voip_app.engine.shared import Shared
from voip_app.errors import VoipError
from voip_contract import Contact, Presence, PresenceChanged
from voip_contract.base import PRESENCE_WATCH_MAX

FIRST_SCREEN_WATCH = 30
"""Contacts watched (the top of the list) before the screen says which rows it shows: a window
760 px high shows about 8.5 rows of 76 px (``ui.models.contacts.ROW_EXTENT``; 10 with the rows
cut at its edges) and a screenful below them is the margin, 20; 30 covers a taller window too,
and is what the screen reports once scrolled (a screenful above, on and below: 3 x 10)."""
WATCH_SETTLE_S = 0.3
"""A watch goes out once the rows on screen have held still this long."""
WATCH_LATEST_S = 1.0
"""... or this long after the first change it answers, whatever still moves (a slow scroll)."""


class PresenceWatch:
    """The ``presence_watch`` of the signed-in user's link; see the module docstring."""

    def __init__(self, shared: Shared) -> None:
        self._out, self._tasks, self._clock = shared.out, shared.tasks, shared.clock
        self._session = shared.session
        self._visible: tuple[str, ...] | None = None
        """The ids of the rows on screen and their margin, as the screen last said."""
        self._sent: frozenset[str] | None = None
        """The ids of the latest watch sent on this connection (``None``: none yet)."""
        self._due: datetime | None = None
        self._latest: datetime | None = None
        self._waiting = False
        self._watch_seq = 0
        self._presence_seq = 0
        self._presence_heard: dict[str, int] = {}
        """``_presence_seq`` at each user's latest ``presence`` event (for the watch acks)."""

    def forget(self) -> None:
        """Signed out: nothing heard, shown or watched is kept."""
        self._presence_heard.clear()
        self._visible = self._sent = None

    def heard(self, event: PresenceChanged) -> None:
        """A ``presence`` event: it wins over any watch ack in flight for that user."""
        self._presence_seq += 1
        self._presence_heard[event.user_id] = self._presence_seq
        update = {event.user_id: event.presence}
        self._out.update(contacts=_with_presences(self._out.snapshot.contacts, update))
        self._out.log(PresenceHeardEvent(user_id=event.user_id, presence=event.presence))

    def visible(self, user_ids: Sequence[str]) -> None:
        """The screen shows these contacts (with a margin): watch them, once they hold still."""
        ids = tuple(dict.fromkeys(user_ids))[:PRESENCE_WATCH_MAX]
        if ids != self._visible:
            self._visible = ids
            self.soon()

    def relinked(self) -> None:
        """A new connection (it watches nobody): watch again, even the same set."""
        self._sent = None
        self.now()

    def now(self) -> None:
        """Watch what is on screen, in the background (after a load: nothing moves)."""
        self._tasks.session.spawn(self._watch())

    def soon(self) -> None:
        """Watch what is on screen, once it has held still for :data:`WATCH_SETTLE_S`."""
        now = self._clock.now()
        self._due = now + timedelta(seconds=WATCH_SETTLE_S)
        if self._latest is None:
            self._latest = now + timedelta(seconds=WATCH_LATEST_S)
        if not self._waiting:
            self._waiting = True
            self._tasks.session.spawn(self._settle_then_watch())

    async def _settle_then_watch(self) -> None:
        try:
            while self._due is not None and self._latest is not None:
                wait = (min(self._due, self._latest) - self._clock.now()).total_seconds()
                if wait <= 0:
                    break
                await self._clock.sleep(wait)
        finally:
            self._waiting, self._due, self._latest = False, None, None
        await self._watch()

    def wanted(self) -> list[str]:
        """The ids to watch: the rows on screen that are still held (the top of the list when
        the screen has said nothing, or names only people a new load dropped)."""
        contacts = self._out.snapshot.contacts
        if self._visible is not None:
            held = {c.id for c in contacts}
            shown = [uid for uid in self._visible if uid in held]
            if shown or not self._visible:
                return shown
        return [c.id for c in contacts[:FIRST_SCREEN_WATCH]]

    async def _watch(self) -> None:
        """Send the watch and apply the ack's snapshot, except for users a ``presence`` event
        told about meanwhile (the event is as new as the snapshot or newer). Only the latest
        watch's ack is applied."""
        signaling = self._session.signaling
        if signaling is None:
            return
        ids = self.wanted()
        if frozenset(ids) == self._sent:
            return  # this connection already watches exactly these
        self._watch_seq += 1
        seq, since, self._sent = self._watch_seq, self._presence_seq, frozenset(ids)
        try:
            now = await signaling.watch_presence(ids)
        except VoipError as exc:
            if seq == self._watch_seq:
                self._sent = None  # unknown what the server holds: the next one goes out
            self._out.log(PresenceWatchFailedEvent(error=str(exc)))  # the next LinkUp watches
            return
        if seq != self._watch_seq or signaling is not self._session.signaling:
            return
        heard = self._presence_heard
        states = {p.user_id: p.presence for p in now if heard.get(p.user_id, 0) <= since}
        self._out.update(contacts=_with_presences(self._out.snapshot.contacts, states))
        self._out.log(PresenceWatchedEvent(count=len(ids)))


def _with_presences(
    contacts: tuple[Contact, ...], states: Mapping[str, Presence]
) -> tuple[Contact, ...]:
    return tuple(
        c.model_copy(update={"presence": states[c.id]})
        if c.id in states and states[c.id] != c.presence
        else c
        for c in contacts
    )
