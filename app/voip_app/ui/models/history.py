"""The history screen's model: my recent calls, newest first, and calling someone back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import flet as ft

from voip_app.clock import Clock
from voip_app.errors import VoipError
from voip_app.media.base import MediaError
from voip_app.ui.models.call import Fail
from voip_app.ui.models.contacts import ContactsModel
from voip_app.ui.models.text import format_duration, format_when, history_status_text
from voip_app.ui.ports import EnginePort, NoPlayer, Player
from voip_contract import Call, CallStatus, Contact


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: str
    peer_id: str
    peer_name: str
    direction: str
    status: CallStatus
    status_text: str
    duration_text: str
    time_text: str
    about_text: str = ""
    """The CRM record the call was about and its note (outcome, text), if any."""
    recording_id: str | None = None
    """The call's complete recording, which plays from the row."""

    @property
    def missed(self) -> bool:
        return self.status is CallStatus.MISSED and self.direction == "incoming"


def history_row(call: Call, now: datetime) -> HistoryRow:
    """One call as a row, its time told relative to ``now``."""
    peer = call.callee if call.direction == "outgoing" else call.caller
    return HistoryRow(
        id=call.id,
        peer_id=peer.id,
        peer_name=peer.display_name,
        direction=call.direction,
        status=call.status,
        status_text=history_status_text(call),
        duration_text=format_duration(call.duration_s),
        time_text=format_when(call.created_at, now),
        about_text=about_text(call),
        recording_id=recording.id
        if (recording := call.recording) and recording.status == "complete"
        else None,
    )


def about_text(call: Call) -> str:
    """``Deal: ACME renewal · No answer: try again Monday`` (the parts there are)."""
    parts = []
    if call.context is not None:
        kind = call.context.object_type.replace("_", " ").capitalize()
        parts.append(f"{kind}: {call.context.label}")
    if call.note is not None:
        outcome = (call.note.outcome or "").replace("_", " ").capitalize()
        parts.append(": ".join(p for p in (outcome, call.note.text or "") if p))
    return " · ".join(p for p in parts if p)


@ft.observable
@dataclass
class HistoryModel:
    """My call history as rows."""

    engine: EnginePort
    contacts: ContactsModel
    fail: Fail
    clock: Clock
    player: Player = field(default_factory=NoPlayer)
    rows: list[HistoryRow] = field(default_factory=list)
    loading: bool = False
    playing: str | None = None
    """The call whose recording plays (or played last)."""
    noting: str | None = None
    """The call whose note is being written (``note.*``), if any."""
    note_outcomes: list[str] = field(default_factory=list)
    note_outcome: str | None = None
    note_text: str = ""
    note_busy: bool = False

    async def opened(self) -> None:
        """The history screen opened: the missed calls are seen, the list is read again."""
        self.seen()
        await self.refresh()

    def seen(self) -> None:
        """Everything listed has been seen: the missed-call badge goes to zero."""
        self.contacts.missed_count = 0
        self.engine.mark_missed_seen()

    async def refresh(self) -> None:
        self.loading = True
        try:
            calls = await self.engine.history()
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
            return
        finally:
            self.loading = False
        self.show(calls)

    def show(self, calls: list[Call] | tuple[Call, ...]) -> None:
        now = self.clock.now()
        self.rows = [history_row(c, now) for c in calls]

    async def play(self, call_id: str) -> None:
        """Play the call's recording: a URL signed for it and me, handed to the player."""
        row = next((r for r in self.rows if r.id == call_id), None)
        if row is None or row.recording_id is None:
            return
        try:
            url = await self.engine.recording_url(row.recording_id)
        except VoipError as exc:
            await self.fail(exc)
            return
        self.playing = call_id
        self.player.play(url)

    async def call_back(self, call_id: str) -> None:
        row = next((r for r in self.rows if r.id == call_id), None)
        if row is None:
            return
        self.contacts.remember(
            Contact(id=row.peer_id, display_name=row.peer_name, email="", presence="offline")
        )
        await self.contacts.call(row.peer_id)

    async def start_note(self, call_id: str) -> None:
        """Open the note of a call (``history.row.<id>.note``): its outcomes are read first."""
        try:
            outcomes = await self.engine.outcomes()
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
            return
        self.note_outcomes, self.note_outcome, self.note_text = outcomes, None, ""
        self.noting = call_id

    def choose_outcome(self, outcome: str) -> None:
        """Pick an outcome; picking the chosen one again leaves none."""
        self.note_outcome = None if self.note_outcome == outcome else outcome

    def type_note(self, text: str) -> None:
        self.note_text = text

    def cancel_note(self) -> None:
        self.noting = None

    async def save_note(self) -> None:
        """Send the note; the row shows it. Nothing to send (no outcome, no text) closes it."""
        call_id, text = self.noting, self.note_text.strip() or None
        if call_id is None:
            return
        if self.note_outcome is None and text is None:
            self.noting = None
            return
        self.note_busy = True
        try:
            noted = await self.engine.note_call(call_id, self.note_outcome, text)
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
            return
        finally:
            self.note_busy = False
        self.noting = None
        now = self.clock.now()
        self.rows = [history_row(noted, now) if r.id == call_id else r for r in self.rows]
