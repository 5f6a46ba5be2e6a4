"""The app's view-models: observable state plus the methods the views call.

Plain Python over :mod:`voip_app.ui.ports`: no page, no controls, no I/O of their own, so they are
unit-tested with a fake engine (``tests/ui/test_viewmodels.py``). Views render these objects and
re-render when a field changes (``@ft.observable``); every user action is one method here.

Every failure ends up in :class:`Banner` (``banner.error`` on screen) as a message that says what
happened and what to do next, with an action button where one helps (retry, open settings).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import flet as ft

from voip_app.call import Phase
from voip_app.errors import (
    RequestRefused,
    ServerUnreachable,
    SignInThrottled,
    Unauthorized,
    VoipError,
)
from voip_app.media.base import AudioOutput, MediaError
from voip_app.platform import Permission, PermissionState, Platform
from voip_app.ui.ports import (
    CallChanged,
    CallSnapshot,
    ConnectionChanged,
    EngineFailed,
    EnginePort,
    EngineUpdate,
    HistoryChanged,
    OutputsChanged,
    Post,
    PresenceChanged,
    Ringer,
    SessionRenewed,
    SessionStore,
    Spawn,
)
from voip_contract import Call, CallStatus, Contact, ErrorCode, Presence, Reason, User

log = logging.getLogger(__name__)

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
LOST_CONNECTION = "Lost the connection to the call server. Reconnecting…"


class Tab(StrEnum):
    CONTACTS = "contacts"
    HISTORY = "history"
    SETTINGS = "settings"


class BannerAction(StrEnum):
    NONE = ""
    RETRY_SIGN_IN = "retry_sign_in"
    ALLOW_MICROPHONE = "allow_microphone"
    OPEN_SETTINGS = "open_settings"
    CALL_AGAIN = "call_again"
    SIGN_IN_AGAIN = "sign_in_again"


_ACTION_LABELS = {
    BannerAction.RETRY_SIGN_IN: "Try again",
    BannerAction.ALLOW_MICROPHONE: "Allow microphone",
    BannerAction.OPEN_SETTINGS: "Open settings",
    BannerAction.CALL_AGAIN: "Call again",
    BannerAction.SIGN_IN_AGAIN: "Sign in",
}


@ft.observable
@dataclass
class Banner:
    """The one error message on screen, with its way forward."""

    message: str = ""
    action: BannerAction = BannerAction.NONE

    @property
    def visible(self) -> bool:
        return bool(self.message)

    @property
    def action_label(self) -> str:
        return _ACTION_LABELS.get(self.action, "")

    def show(self, message: str, action: BannerAction = BannerAction.NONE) -> None:
        self.message = message
        self.action = action

    def clear(self) -> None:
        self.message = ""
        self.action = BannerAction.NONE


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    name: str
    email: str
    presence: Presence

    @property
    def initials(self) -> str:
        return initials(self.name)


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

    @property
    def missed(self) -> bool:
        return self.status is CallStatus.MISSED and self.direction == "incoming"


def initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def format_duration(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a call; empty when it never connected."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def elapsed_text(answered_at: datetime | None, now: datetime) -> str:
    """The in-call timer's text at ``now``."""
    if answered_at is None:
        return "0:00"
    return format_duration((now - answered_at).total_seconds())


def history_status_text(call: Call) -> str:
    """What a history row says about how the call went, from the viewer's side."""
    outgoing = call.direction == "outgoing"
    match call.status:
        case CallStatus.COMPLETED:
            return "Outgoing" if outgoing else "Incoming"
        case CallStatus.MISSED:
            if call.reason is Reason.CALLEE_OFFLINE and outgoing:
                return "Not reached (offline)"
            return "No answer" if outgoing else "Missed"
        case CallStatus.DECLINED:
            return "Declined"
        case CallStatus.CANCELED:
            return "Cancelled" if outgoing else "Missed (cancelled)"
        case CallStatus.BUSY:
            return "Busy"
        case CallStatus.FAILED:
            return "Failed"
        case _:
            return "In progress"


def format_when(moment: datetime, now: datetime) -> str:
    """``14:05`` today, ``Mon 14:05`` this week, ``12 Mar 14:05`` before (local time)."""
    local = moment.astimezone()
    today = now.astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (today - local.date()).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%d %b %H:%M")


def history_row(call: Call, now: datetime) -> HistoryRow:
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
    )


def ended_message(snapshot: CallSnapshot) -> tuple[str, BannerAction] | None:
    """The banner for a call that ended badly from this side, or ``None`` for a normal end."""
    name = snapshot.peer_name or "They"
    outgoing = snapshot.direction == "outgoing"
    if snapshot.error:
        return snapshot.error, BannerAction.CALL_AGAIN if outgoing else BannerAction.NONE
    status, reason = snapshot.status, snapshot.reason
    if status is CallStatus.BUSY or reason is Reason.CALLEE_BUSY:
        return f"{name} is on another call. Try again in a few minutes.", BannerAction.CALL_AGAIN
    if status is CallStatus.FAILED or reason is Reason.MEDIA_UNAVAILABLE:
        return (
            "The call could not connect: the media server is unavailable. Try again shortly.",
            BannerAction.CALL_AGAIN if outgoing else BannerAction.NONE,
        )
    if not outgoing:
        return None
    if reason is Reason.CALLEE_OFFLINE:
        return (
            f"{name} is offline. They will see your missed call; try again later.",
            BannerAction.CALL_AGAIN,
        )
    if status is CallStatus.MISSED:
        return f"{name} did not answer. They will see your missed call.", BannerAction.CALL_AGAIN
    if status is CallStatus.DECLINED:
        return f"{name} declined the call.", BannerAction.CALL_AGAIN
    return None


def sign_in_error(exc: BaseException) -> tuple[str, BannerAction]:
    """A failed sign-in (other than a wrong password) as a message with a way forward."""
    if isinstance(exc, SignInThrottled):
        return str(exc), BannerAction.NONE
    if isinstance(exc, RequestRefused):
        return (
            "The call server could not sign you in right now. Try again in a moment.",
            BannerAction.RETRY_SIGN_IN,
        )
    return error_message(exc)


def error_message(exc: BaseException) -> tuple[str, BannerAction]:
    """Any failure as a message with a way forward."""
    if isinstance(exc, Unauthorized):
        return "Your session has expired. Sign in again.", BannerAction.SIGN_IN_AGAIN
    if isinstance(exc, ServerUnreachable):
        return (
            f"{exc.message} Check the server address and your connection, then try again.",
            BannerAction.RETRY_SIGN_IN,
        )
    if isinstance(exc, RequestRefused) and exc.code is ErrorCode.UNAVAILABLE:
        return (
            "Calling is unavailable right now (the media server did not answer). "
            "Try again in a moment.",
            BannerAction.CALL_AGAIN,
        )
    if isinstance(exc, RequestRefused) and exc.code is ErrorCode.BUSY:
        return f"{exc.message} Try again in a few minutes.", BannerAction.CALL_AGAIN
    if isinstance(exc, VoipError | MediaError):
        return str(exc), BannerAction.NONE
    log.exception("unexpected failure", exc_info=exc)
    return f"Something went wrong: {exc}. Try again.", BannerAction.NONE


@ft.observable
@dataclass
class SignInForm:
    server_url: str = DEFAULT_SERVER_URL
    email: str = ""
    password: str = ""
    busy: bool = False
    error: str = ""

    def type(self, field_name: str, value: str) -> None:
        """A keystroke in a text field: kept, but no re-render (the field already shows it, and
        pushing it back could overwrite keys typed since)."""
        if field_name not in ("server_url", "email", "password"):
            raise ValueError(f"no text field {field_name!r}")
        object.__setattr__(self, field_name, value)

    @property
    def can_submit(self) -> bool:
        return bool(self.server_url.strip() and self.email.strip() and self.password) and (
            not self.busy
        )


@ft.observable
@dataclass
class ContactsState:
    query: str = ""
    rows: list[ContactRow] = field(default_factory=list)
    loading: bool = False
    missed_count: int = 0


@ft.observable
@dataclass
class CallState:
    """The call on screen (``snapshot.phase`` idle: none)."""

    snapshot: CallSnapshot = field(default_factory=CallSnapshot)
    outputs: list[AudioOutput] = field(default_factory=list)

    @property
    def screen(self) -> str:
        """``outgoing``, ``incoming``, ``incall`` or ``""`` (no call screen)."""
        phase = self.snapshot.phase
        outgoing = self.snapshot.direction == "outgoing"
        if phase in (Phase.DIALING, Phase.RINGING_OUT) or (phase is Phase.CONNECTING and outgoing):
            return "outgoing"
        if phase is Phase.INCOMING:
            return "incoming"
        if phase in (Phase.CONNECTING, Phase.ACTIVE, Phase.RECONNECTING):
            return "incall"
        return ""

    @property
    def status_text(self) -> str:
        phase = self.snapshot.phase
        return {
            Phase.DIALING: "Calling…",
            Phase.RINGING_OUT: "Ringing…",
            Phase.CONNECTING: "Connecting…",
            Phase.INCOMING: "Incoming call",
            Phase.ACTIVE: "Connected",
            Phase.RECONNECTING: "Reconnecting…",
        }.get(phase, "")

    @property
    def quality_text(self) -> str:
        if self.snapshot.phase is Phase.RECONNECTING:
            return "Reconnecting…"
        if self.snapshot.phase is Phase.CONNECTING:
            return "Connecting…"
        return {
            "excellent": "Excellent connection",
            "good": "Good connection",
            "poor": "Poor connection",
            "lost": "Connection lost",
        }.get(self.snapshot.quality, "Connected")

    @property
    def output_label(self) -> str:
        output = self.snapshot.output
        return output.name if output else "System default"


@ft.observable
@dataclass
class HistoryState:
    rows: list[HistoryRow] = field(default_factory=list)
    loading: bool = False


@ft.observable
@dataclass
class SettingsState:
    inputs: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    input_id: str = ""
    output_id: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    theme_mode: str = "system"
    """``system``, ``light`` or ``dark``."""


@ft.observable
@dataclass
class AppModel:
    """The whole app's state and its actions; one per page/session."""

    engine: EnginePort
    ringer: Ringer
    store: SessionStore
    platform: Platform
    post: Post
    spawn: Spawn
    user: User | None = None
    server_url: str = DEFAULT_SERVER_URL
    tab: Tab = Tab.CONTACTS
    connected: bool = True
    starting: bool = True
    banner: Banner = field(default_factory=Banner)
    signin: SignInForm = field(default_factory=SignInForm)
    contacts: ContactsState = field(default_factory=ContactsState)
    call: CallState = field(default_factory=CallState)
    history: HistoryState = field(default_factory=HistoryState)
    settings: SettingsState = field(default_factory=SettingsState)
    _contacts_by_id: dict[str, Contact] = field(default_factory=dict)
    _last_callee: Contact | None = None
    _ringing: bool = False
    _sign_out_after_call: str | None = None

    def __post_init__(self) -> None:
        self.engine.set_listener(self._on_engine_update)

    # --- session -------------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    async def start(self) -> None:
        """Resume the remembered session, if any; otherwise show sign-in."""
        try:
            remembered = await self.store.load()
            if remembered is None:
                return
            server_url, email, token = remembered
            self.signin.server_url, self.signin.email = server_url, email
            if not token:
                return  # only the server and email are remembered: the password is never kept
            try:
                user = await self.engine.resume(server_url, token)
            except VoipError as exc:
                if isinstance(exc, Unauthorized):
                    await self.store.clear()
                    self.banner.show("Your session has expired. Sign in again.")
                else:
                    self.banner.show(*error_message(exc))
                return
            await self._signed_in(user, server_url)
        finally:
            self.starting = False

    async def submit_sign_in(self) -> None:
        form = self.signin
        if not form.can_submit:
            form.error = "Enter the server address, your email and your password."
            return
        form.busy, form.error = True, ""
        self.banner.clear()
        server_url = form.server_url.strip().rstrip("/")
        try:
            user, token = await self.engine.sign_in(server_url, form.email.strip(), form.password)
        except Unauthorized:
            form.error = "Wrong email or password. Check them and try again."
            self.banner.show(form.error)
            return
        except (VoipError, MediaError) as exc:
            form.error, action = sign_in_error(exc)
            self.banner.show(form.error, action)
            return
        finally:
            form.busy = False
        form.password = ""
        await self.store.save(server_url, user.email, token)
        await self._signed_in(user, server_url)

    async def _signed_in(self, user: User, server_url: str) -> None:
        self.user, self.server_url, self.tab = user, server_url, Tab.CONTACTS
        self.connected = True
        self.banner.clear()
        self._load_settings()
        await self.search(self.contacts.query)
        await self.refresh_history()

    async def sign_out(self, reason: str = "") -> None:
        """Sign out (``reason``: why, when it was not the person's choice)."""
        self._stop_ringing()
        try:
            await self.engine.sign_out()
        finally:
            await self.store.clear()
            self.user = None
            self.call.snapshot = CallSnapshot()
            self.contacts.rows, self.history.rows = [], []
            self.contacts.missed_count = 0
            self.banner.clear()
            if reason:
                self.banner.show(reason)

    # --- contacts ------------------------------------------------------------------------------

    async def search(self, query: str) -> None:
        # Set quietly: the search field already shows it (see SignInForm.type); results re-render.
        object.__setattr__(self.contacts, "query", query)
        self.contacts.loading = True
        try:
            found = await self.engine.contacts(query.strip())
        except (VoipError, MediaError) as exc:
            await self._fail(exc)
            return
        finally:
            self.contacts.loading = False
        if query != self.contacts.query:
            return  # a newer search is on its way
        me = self.user.id if self.user else None
        found = [c for c in found if c.id != me]
        self._contacts_by_id.update({c.id: c for c in found})
        self.contacts.rows = [ContactRow(c.id, c.display_name, c.email, c.presence) for c in found]

    async def call_contact(self, contact_id: str) -> None:
        contact = self._contacts_by_id.get(contact_id)
        if contact is None or self.call.snapshot.phase not in (Phase.IDLE, Phase.ENDED):
            return
        if not await self._microphone_ready():
            return
        self.banner.clear()
        self._last_callee = contact
        if self.call.snapshot.phase is Phase.ENDED:
            self.engine.dismiss()
        self.call.snapshot = CallSnapshot(
            phase=Phase.DIALING,
            peer_id=contact.id,
            peer_name=contact.display_name,
            direction="outgoing",
        )
        try:
            await self.engine.dial(contact)
        except (VoipError, MediaError) as exc:
            self.call.snapshot = CallSnapshot()
            await self._fail(exc)

    async def call_back(self, call_id: str) -> None:
        row = next((r for r in self.history.rows if r.id == call_id), None)
        if row is None:
            return
        if row.peer_id not in self._contacts_by_id:
            self._contacts_by_id[row.peer_id] = Contact(
                id=row.peer_id, display_name=row.peer_name, email="", presence="offline"
            )
        await self.call_contact(row.peer_id)

    async def _microphone_ready(self) -> bool:
        state = self.platform.permission_state(Permission.MICROPHONE)
        if state is PermissionState.DENIED:
            state = await self.platform.request_permission(Permission.MICROPHONE)
        if state is PermissionState.GRANTED:
            await self.platform.request_permission(Permission.BLUETOOTH)  # optional: headsets
            return True
        if state is PermissionState.BLOCKED:
            self.banner.show(
                "Microphone access is off for this app. Turn it on in the app's settings "
                "to make and answer calls.",
                BannerAction.OPEN_SETTINGS,
            )
        else:
            self.banner.show(
                "Calls need the microphone. Allow it so the other person can hear you.",
                BannerAction.ALLOW_MICROPHONE,
            )
        return False

    # --- the call ------------------------------------------------------------------------------

    async def accept(self) -> None:
        if self.call.snapshot.phase is not Phase.INCOMING:
            return
        if not await self._microphone_ready():
            return
        self._stop_ringing()
        await self._run(self.engine.accept)

    async def decline(self) -> None:
        if self.call.snapshot.phase is Phase.INCOMING:
            self._stop_ringing()
            await self._run(self.engine.decline)

    async def cancel(self) -> None:
        if self.call.snapshot.phase in (Phase.DIALING, Phase.RINGING_OUT, Phase.CONNECTING):
            await self._run(self.engine.cancel)

    async def hang_up(self) -> None:
        if self.call.snapshot.phase in (Phase.CONNECTING, Phase.ACTIVE, Phase.RECONNECTING):
            await self._run(self.engine.hang_up)

    async def toggle_mute(self) -> None:
        snap = self.call.snapshot
        if snap.phase not in (Phase.ACTIVE, Phase.RECONNECTING, Phase.CONNECTING):
            return
        muted = not snap.muted
        await self._run(lambda: self.engine.set_muted(muted))

    async def load_outputs(self) -> None:
        try:
            self.call.outputs = await self.engine.audio_outputs()
        except (VoipError, MediaError) as exc:
            await self._fail(exc)

    async def select_output(self, output_id: str) -> None:
        await self._run(lambda: self.engine.select_audio_output(output_id))

    async def _run(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except (VoipError, MediaError) as exc:
            await self._fail(exc)

    # --- history and settings ------------------------------------------------------------------

    def select_tab(self, tab: Tab) -> None:
        self.tab = tab
        if tab is Tab.HISTORY:
            self.contacts.missed_count = 0
            self.engine.mark_missed_seen()

    async def refresh_history(self) -> None:
        self.history.loading = True
        try:
            calls = await self.engine.history()
        except (VoipError, MediaError) as exc:
            await self._fail(exc)
            return
        finally:
            self.history.loading = False
        self._set_history(calls)

    def _set_history(self, calls: list[Call] | tuple[Call, ...]) -> None:
        now = datetime.now(UTC)
        self.history.rows = [history_row(c, now) for c in calls]

    def _load_settings(self) -> None:
        devices = self.engine.audio_devices()
        s = self.settings
        s.inputs = [(d.id, d.name) for d in devices.inputs]
        s.outputs = [(d.id, d.name) for d in devices.outputs]
        s.versions = dict(self.engine.versions())

    async def select_input_device(self, device_id: str) -> None:
        self.settings.input_id = device_id
        await self._run(
            lambda: self.engine.select_audio_devices(
                device_id or None, self.settings.output_id or None
            )
        )

    async def select_output_device(self, device_id: str) -> None:
        self.settings.output_id = device_id
        await self._run(
            lambda: self.engine.select_audio_devices(
                self.settings.input_id or None, device_id or None
            )
        )

    def set_theme_mode(self, mode: str) -> None:
        if mode in ("system", "light", "dark"):
            self.settings.theme_mode = mode

    # --- the banner's way forward --------------------------------------------------------------

    async def banner_action(self) -> None:
        action = self.banner.action
        self.banner.clear()
        match action:
            case BannerAction.RETRY_SIGN_IN:
                if self.user is not None:
                    await self._signed_in(self.user, self.server_url)
                else:
                    await self.submit_sign_in()
            case BannerAction.ALLOW_MICROPHONE:
                await self.platform.request_permission(Permission.MICROPHONE)
            case BannerAction.OPEN_SETTINGS:
                self.platform.open_app_settings()
            case BannerAction.CALL_AGAIN:
                if self._last_callee is not None:
                    self._contacts_by_id.setdefault(self._last_callee.id, self._last_callee)
                    await self.call_contact(self._last_callee.id)
            case BannerAction.SIGN_IN_AGAIN:
                await self.sign_out()
            case _:
                pass

    async def _fail(self, exc: BaseException) -> None:
        message, action = error_message(exc)
        if isinstance(exc, Unauthorized) and self.signed_in:
            await self._session_over(message)
            return
        self.banner.show(message, action)

    async def _session_over(self, message: str) -> None:
        """The server refused the session: sign out now, or once the call in progress ends
        (its signaling link and media still work; the next sign-in would cut them)."""
        if self.call.snapshot.phase in (Phase.IDLE, Phase.ENDED):
            await self.sign_out(message)
        else:
            self._sign_out_after_call = message
            self.banner.show(message)

    # --- engine news (arrives through ``post``, on the UI's loop) ------------------------------

    def _on_engine_update(self, update: EngineUpdate) -> None:
        self.post(lambda: self._apply(update))

    def _apply(self, update: EngineUpdate) -> None:
        match update:
            case CallChanged(snapshot):
                self._apply_call(snapshot)
            case PresenceChanged(user_id, presence):
                self._apply_presence(user_id, presence)
            case ConnectionChanged(connected, message):
                self.connected = connected
                if not connected and self.signed_in:
                    self.banner.show(message or LOST_CONNECTION)
                elif connected and self.banner.message in (LOST_CONNECTION, message):
                    self.banner.clear()
            case HistoryChanged(calls, missed_count):
                if self.signed_in:
                    self._set_history(calls)
                    self.contacts.missed_count = 0 if self.tab is Tab.HISTORY else missed_count
            case OutputsChanged(outputs):
                self.call.outputs = list(outputs)
            case EngineFailed(message, session_expired):
                if session_expired and self.signed_in:
                    self.spawn(lambda: self._session_over(message))
                elif self.signed_in:
                    self.banner.show(message)
            case SessionRenewed(access_token):
                if self.user is not None and self.server_url:
                    user, server_url = self.user, self.server_url
                    self.spawn(lambda: self.store.save(server_url, user.email, access_token))

    def _apply_call(self, snapshot: CallSnapshot) -> None:
        previous = self.call.snapshot
        self.call.snapshot = snapshot
        if snapshot.phase is Phase.INCOMING and not self._ringing:
            self._ringing = True
            self.ringer.start()
        elif snapshot.phase is not Phase.INCOMING:
            self._stop_ringing()
        if snapshot.phase is Phase.ENDED and previous.phase is not Phase.ENDED:
            self._call_ended(snapshot)

    def _call_ended(self, snapshot: CallSnapshot) -> None:
        if self._sign_out_after_call is not None:
            message, self._sign_out_after_call = self._sign_out_after_call, None
            self.spawn(lambda: self.sign_out(message))
            return
        outcome = ended_message(snapshot)
        if outcome is not None:
            self.banner.show(*outcome)

    def _apply_presence(self, user_id: str, presence: Presence) -> None:
        rows = self.contacts.rows
        for i, row in enumerate(rows):
            if row.id == user_id and row.presence != presence:
                rows = [
                    *rows[:i],
                    ContactRow(row.id, row.name, row.email, presence),
                    *rows[i + 1 :],
                ]
                self.contacts.rows = rows
                break
        known = self._contacts_by_id.get(user_id)
        if known is not None:
            self._contacts_by_id[user_id] = known.model_copy(update={"presence": presence})

    def _stop_ringing(self) -> None:
        if self._ringing:
            self._ringing = False
            self.ringer.stop()
