"""The contacts screen's model: my tenant's people with live presence, the search, the missed-call
badge, calling someone, and which rows are on screen (their presence is what the engine watches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import flet as ft

from voip_app.errors import VoipError
from voip_app.media.base import MediaError
from voip_app.ui.models.call import CallModel, Fail
from voip_app.ui.models.text import initials
from voip_app.ui.ports import EnginePort
from voip_contract import Contact, Presence

ROW_EXTENT = 76
"""Every contact row's height in the list, in logical pixels (the list lays them out at this
height, so a scroll offset says which rows are on screen)."""
LIST_PADDING = 6
"""Space above the first row (and below the last)."""


def rows_to_watch(count: int, offset: float, viewport: float) -> range:
    """The rows of a list of ``count`` scrolled ``offset`` pixels, ``viewport`` pixels tall, that
    are on screen, and a screenful above and below them (a short scroll shows no stale dot)."""
    first = int(max(0.0, offset - LIST_PADDING) // ROW_EXTENT)
    screenful = math.ceil(max(viewport, 0.0) / ROW_EXTENT) + 1  # a row cut at each edge
    if first >= count:  # the list got shorter under the offset: its end is what shows
        first = max(0, count - screenful)
    return range(max(0, first - screenful), min(count, first + 2 * screenful))


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    name: str
    email: str
    presence: Presence

    @property
    def initials(self) -> str:
        return initials(self.name)


@ft.observable
@dataclass
class ContactsModel:
    """The people I can call, as the latest search found them."""

    engine: EnginePort
    calls: CallModel
    fail: Fail
    me: str | None = None
    """The signed-in user's id: not listed."""
    query: str = ""
    rows: list[ContactRow] = field(default_factory=list)
    loading: bool = False
    missed_count: int = 0
    _known: dict[str, Contact] = field(default_factory=dict)
    _window: tuple[float, float] | None = None
    """The list's scroll offset and viewport height, as it last reported them."""
    _watching: list[str] = field(default_factory=list)
    """The ids last reported to the engine as on screen."""

    async def search(self, query: str) -> None:
        # Set quietly: the search field already shows it (see SignInForm.type); results re-render.
        object.__setattr__(self, "query", query)
        self.loading = True
        try:
            found = await self.engine.contacts(query.strip())
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
            return
        finally:
            self.loading = False
        if query != self.query:
            return  # a newer search is on its way
        found = [c for c in found if c.id != self.me]
        self._known.update({c.id: c for c in found})
        self.rows = [ContactRow(c.id, c.display_name, c.email, c.presence) for c in found]
        self._report()

    def scrolled(self, offset: float, viewport: float) -> None:
        """The list is scrolled ``offset`` pixels and shows ``viewport`` pixels of it."""
        self._window = (offset, viewport)
        self._report()

    def shown(self) -> None:
        """The screen is (back) on: its new list starts at the top."""
        if self._window is not None:
            self.scrolled(0.0, self._window[1])

    def _report(self) -> None:
        """Tell the engine which rows are on screen (with their margin), when that changed.
        Until the list reports a scroll the engine watches the top of the list itself."""
        if self._window is None:
            return
        ids = [self.rows[i].id for i in rows_to_watch(len(self.rows), *self._window)]
        if ids != self._watching:
            self._watching = ids
            self.engine.watch_visible(ids)

    def known(self, contact_id: str) -> Contact | None:
        """The contact ``contact_id`` as a search found it (or as it was called)."""
        return self._known.get(contact_id)

    def remember(self, contact: Contact) -> None:
        """Someone to call who is not in the list (a history row's peer)."""
        self._known.setdefault(contact.id, contact)

    async def call(self, contact_id: str) -> None:
        contact = self._known.get(contact_id)
        if contact is not None:
            await self.calls.dial(contact)

    def presence_changed(self, user_id: str, presence: Presence) -> None:
        rows = self.rows
        for i, row in enumerate(rows):
            if row.id == user_id and row.presence != presence:
                changed = ContactRow(row.id, row.name, row.email, presence)
                self.rows = [*rows[:i], changed, *rows[i + 1 :]]
                break
        known = self._known.get(user_id)
        if known is not None:
            self._known[user_id] = known.model_copy(update={"presence": presence})

    def clear(self) -> None:
        """Signed out: nobody listed, no badge."""
        self.rows, self.missed_count, self.me = [], 0, None
        self._window, self._watching = None, []
