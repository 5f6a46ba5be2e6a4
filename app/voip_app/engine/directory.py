"""My tenant's directory with live presence, and my call history with its missed-call count.

:class:`Directory` loads every page of contacts (up to :data:`CONTACTS_MAX_PAGES`), watches the
presence of the ones on screen (:mod:`voip_app.engine.presence`; ``presence_watch``: in a tenant
above the server's fan-out limit only watched users' changes reach us), applies ``presence``
events, and counts missed calls not yet seen. When searches or watches overlap, only the latest
one's result is applied.
"""

from __future__ import annotations

from datetime import datetime

from voip_app.engine.presence import PresenceWatch
from voip_app.engine.shared import Shared
from voip_app.engine.snapshot import log
from voip_app.errors import VoipError
from voip_contract import Call, CallStatus, Contact, Party, PresenceChanged

CONTACTS_PAGE_SIZE = 200
"""The server's largest page."""
CONTACTS_MAX_PAGES = 50
"""Directory loads stop after this many pages (10,000 contacts); the search narrows it down."""
HISTORY_SIZE = 50


class Directory:
    """Contacts, presence and history of the signed-in user."""

    def __init__(self, shared: Shared) -> None:
        self._out, self._tasks, self._clock = shared.out, shared.tasks, shared.clock
        self._session = shared.session
        self._search_seq = 0
        self.presence = PresenceWatch(shared)
        """Which contacts' presence is watched (the rows on screen), and applying it."""
        self._missed_seen_at: datetime | None = None

    def forget(self) -> None:
        """Signed out: nothing heard or shown is kept."""
        self.presence.forget()

    async def refresh_contacts(self, query: str = "") -> tuple[Contact, ...]:
        """Load my tenant's contacts filtered by ``query``, every page up to
        :data:`CONTACTS_MAX_PAGES`. When searches overlap, only the latest one's result is kept."""
        self._search_seq += 1
        seq = self._search_seq
        api = self._session.require_api()
        found: dict[str, Contact] = {}
        cursor: str | None = None
        for _ in range(CONTACTS_MAX_PAGES):
            page = await api.contacts(query=query, limit=CONTACTS_PAGE_SIZE, cursor=cursor)
            found.update((c.id, c) for c in page.items)
            cursor = page.next_cursor
            if not cursor or not page.items:
                cursor = None
                break
        if cursor is not None:
            log.info("directory truncated at %d contacts", len(found))
        if seq == self._search_seq:
            self._out.update(contacts=tuple(found.values()), contacts_truncated=cursor is not None)
            self.watch_soon()
        return tuple(found.values())

    def peer(self, user_id: str) -> Party:
        """The contact ``user_id`` as a call's party (its id when it is not loaded)."""
        for contact in self._out.snapshot.contacts:
            if contact.id == user_id:
                return Party(id=contact.id, display_name=contact.display_name)
        return Party(id=user_id, display_name=user_id)

    # --- presence (:mod:`voip_app.engine.presence`) -----------------------------------------

    def heard(self, event: PresenceChanged) -> None:
        """A ``presence`` event: it wins over any watch ack in flight for that user."""
        self.presence.heard(event)

    def watch_soon(self) -> None:
        """Watch again what is on screen, in the background (after a load)."""
        self.presence.now()

    # --- history ----------------------------------------------------------------------------

    async def refresh_history(self) -> tuple[Call, ...]:
        """Load my recent calls, newest first, and recount missed calls."""
        page = await self._session.require_api().calls(limit=HISTORY_SIZE)
        history = tuple(page.items)
        self._out.update(history=history, missed_count=self._count_missed(history))
        return history

    async def note_call(self, call_id: str, outcome: str | None, text: str | None) -> Call:
        """My outcome and note on a finished call; the history shows it at once."""
        noted = await self._session.require_api().put_note(call_id, outcome=outcome, text=text)
        history = tuple(noted if c.id == noted.id else c for c in self._out.snapshot.history)
        self._out.update(history=history)
        return noted

    async def outcomes(self) -> list[str]:
        """The outcomes my tenant offers for a call."""
        return await self._session.require_api().outcomes()

    async def refresh_quietly(self) -> None:
        """Contacts and history again; a failure is only logged."""
        for refresh in (self.refresh_contacts, self.refresh_history):
            try:
                await refresh()
            except VoipError as exc:
                log.info("refresh failed: %s", exc)

    def mark_missed_seen(self) -> None:
        """The user looked at their missed calls: the badge goes to zero."""
        self._missed_seen_at = self._clock.now()
        self._out.update(missed_count=0)

    def _count_missed(self, history: tuple[Call, ...]) -> int:
        seen = self._missed_seen_at
        return sum(
            1
            for c in history
            if c.direction == "incoming"
            and c.status is CallStatus.MISSED
            and (seen is None or c.created_at > seen)
        )
