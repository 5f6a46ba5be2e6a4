"""The call engine: API client + signaling + media + the call state machine, for the UI to bind to.

The UI (and ``voip-softphone``) talks only to :class:`CallEngine`:

- plain async methods: :meth:`~CallEngine.sign_in`, :meth:`~CallEngine.sign_out`,
  :meth:`~CallEngine.refresh_contacts`, :meth:`~CallEngine.refresh_history`,
  :meth:`~CallEngine.call`, :meth:`~CallEngine.accept`, :meth:`~CallEngine.decline`,
  :meth:`~CallEngine.cancel`, :meth:`~CallEngine.hang_up`, :meth:`~CallEngine.set_muted`,
  :meth:`~CallEngine.select_output`, :meth:`~CallEngine.dismiss`,
  :meth:`~CallEngine.mark_missed_seen`, :meth:`~CallEngine.close`;
- one immutable :class:`EngineSnapshot` (:attr:`~CallEngine.snapshot`), replaced on every change
  and pushed to every listener added with :meth:`~CallEngine.subscribe`;
- a log of :class:`EngineEvent` s (:meth:`~CallEngine.add_event_listener`) for bots and tests.

Errors: :meth:`~CallEngine.sign_in` and the refresh methods raise
:class:`~voip_app.errors.VoipError` (its ``str`` is fit to show). Call actions never raise for
server or network failures: the call ends with the outcome, and ``snapshot.error`` /
``snapshot.call.error`` say what went wrong. They raise
:class:`~voip_app.callstate.IllegalTransition` only when the action makes no sense now (accepting
with no incoming call), and change nothing then.

Every listener runs on the event loop; one that raises is logged and the engine goes on. Every
background task of a call is tracked and cancelled when the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from voip_app.api import ApiClient
from voip_app.callstate import CallMachine, Event, EventKind, IllegalTransition, Phase
from voip_app.errors import RequestRefused, ServerUnreachable, Unauthorized, VoipError
from voip_app.listeners import notify
from voip_app.media.base import (
    AudioOutput,
    AudioOutputChanged,
    Connected,
    ConnectionQuality,
    ConnectionQualityChanged,
    Disconnected,
    MediaError,
    MediaEvent,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)
from voip_app.signaling import (
    AuthRefused,
    LinkDown,
    LinkUp,
    SignalEvent,
    Signaling,
    SignalingClient,
)
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    Call,
    CallStatus,
    Contact,
    Direction,
    Ended,
    ErrorCode,
    Incoming,
    Party,
    Presence,
    PresenceChanged,
    Reason,
    Ringing,
    RoomToken,
    User,
)
from voip_contract.models import PRESENCE_WATCH_MAX

log = logging.getLogger(__name__)

ConnectionState = Literal["signed_out", "connecting", "online", "reconnecting", "expired"]
"""``expired``: the server refused the session's token on a reconnect; signaling has stopped
retrying and stays down until the next sign-in (``session_expired`` is set too)."""

REJOIN_ATTEMPTS = 5
"""Full media disconnects are repaired with this many fresh-token rejoins before giving up."""
REJOIN_FIRST_DELAY_S = 0.5
CONTACTS_PAGE_SIZE = 200
"""The server's largest page."""
CONTACTS_MAX_PAGES = 50
"""Directory loads stop after this many pages (10,000 contacts); the search narrows it down."""
INVITE_ATTEMPTS = 3
"""An invite lost with the signaling link is sent this many times in all (same ``request_id``)."""
INVITE_RELINK_WAIT_S = 30.0
"""How long a lost invite waits for the signaling link to come back before the call fails."""
ANSWER_POLL_S = 1.5
ANSWER_POLLS = 60
"""Ringing out across a signaling reconnect, the call log is read every :data:`ANSWER_POLL_S`,
at most this many times, for an answer whose ``accepted`` event went to the old connection."""
RENEW_AT_FRACTION = 0.8
"""The access token is renewed (``POST /api/auth/refresh``) once this much of its lifetime has
passed, so a device signed in for days keeps a token its signaling can reconnect with."""
SESSION_CHECK_S = 60.0
"""How often the renewal looks at the wall clock: a phone's monotonic clock stops while it sleeps,
so one long timer could wake after the token expired. Also the retry interval when renewing
fails for want of the server."""
SESSION_EXPIRED = "Your session expired; sign in again."
FINISHED_CALLS_KEPT = 64
"""How many ids of calls that ended on this device are remembered, so that a late or re-sent
``incoming`` for one of them cannot ring again."""


# --- the observable surface -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """The call on this device, from dialing / incoming until :meth:`CallEngine.dismiss`.

    ``phase`` is the state machine's; ``status``/``reason`` are set once ``ended`` (``status`` is
    ``None`` when another device of mine answered). ``connected_at`` (UTC) starts the UI timer.
    """

    id: str | None
    peer: Party
    direction: Direction
    phase: Phase
    status: CallStatus | None = None
    reason: Reason | None = None
    muted: bool = False
    remote_muted: bool = False
    connected_at: datetime | None = None
    ring_expires_at: datetime | None = None
    quality: ConnectionQuality = "unknown"
    output: AudioOutput | None = None
    error: str | None = None


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
    """The directory has more contacts than the engine loads (:data:`CONTACTS_MAX_PAGES`)."""


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One line of the engine's log (``voip-softphone`` prints each as JSON)."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


SnapshotListener = Callable[[EngineSnapshot], None]
EventListener = Callable[[EngineEvent], None]


@dataclass(frozen=True, slots=True)
class MediaPrefs:
    """The user's device choices, handed to the media factory for every join."""

    input_id: str | None = None
    output_id: str | None = None


MediaFactory = Callable[[MediaPrefs], MediaSession]
ApiFactory = Callable[[str], ApiClient]
SignalingFactory = Callable[[str, Callable[[], str | None], str | None], Signaling]


def default_media_factory(prefs: MediaPrefs) -> MediaSession:
    """Desktop: the livekit SDK with the system's sound devices (imported only when used)."""
    from voip_app.audio.devices import DeviceAudio, list_devices
    from voip_app.media.livekit_session import LiveKitMediaSession

    audio = DeviceAudio(input_device=prefs.input_id, output_device=prefs.output_id)
    return LiveKitMediaSession(
        audio_input=audio.input,
        audio_output=audio.output,
        outputs=lambda: list_devices("output"),
    )


def _default_signaling(
    url: str, token: Callable[[], str | None], device_id: str | None
) -> Signaling:
    return SignalingClient(url, token, device_id=device_id)


# --- the engine -------------------------------------------------------------------------------


class CallEngine:
    """One signed-in user, at most one call at a time. See the module docstring."""

    def __init__(
        self,
        *,
        media_factory: MediaFactory = default_media_factory,
        api_factory: ApiFactory = ApiClient,
        signaling_factory: SignalingFactory = _default_signaling,
        device_id: str | None = None,
        session_check_s: float = SESSION_CHECK_S,
    ) -> None:
        self._media_factory = media_factory
        self._session_check_s = session_check_s
        self._api_factory = api_factory
        self._signaling_factory = signaling_factory
        self.device_id = device_id
        self._snapshot = EngineSnapshot()
        self._listeners: list[SnapshotListener] = []
        self._event_listeners: list[EventListener] = []
        self._api: ApiClient | None = None
        self._signaling: Signaling | None = None
        self._machine = CallMachine()
        self._media: MediaSession | None = None
        self._prefs = MediaPrefs()
        self._missed_seen_at: datetime | None = None
        self._call_tasks: set[asyncio.Task[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cleanups: set[asyncio.Task[Any]] = set()
        self._finished: deque[str] = deque(maxlen=FINISHED_CALLS_KEPT)
        self._contacts_seq = 0
        self._dial_seq = 0
        self._resuming: set[str] = set()
        self._answer_watch: asyncio.Task[Any] | None = None
        self._synced: tuple[Call, ...] = ()
        self._watch_seq = 0
        self._presence_seq = 0
        self._presence_heard: dict[str, int] = {}
        """``_presence_seq`` at each user's latest ``presence`` event (for the watch acks)."""
        self._link_changed = asyncio.Event()

    # --- observing ----------------------------------------------------------------------------

    @property
    def snapshot(self) -> EngineSnapshot:
        """The current state; a new object after every change."""
        return self._snapshot

    def subscribe(self, listener: SnapshotListener) -> Callable[[], None]:
        """Call ``listener(snapshot)`` after every change; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Receive every :class:`EngineEvent`; returns the remove function."""
        self._event_listeners.append(listener)

        def remove() -> None:
            if listener in self._event_listeners:
                self._event_listeners.remove(listener)

        return remove

    # --- session ------------------------------------------------------------------------------

    @property
    def access_token(self) -> str | None:
        """The session's bearer token (keep it to :meth:`resume` later); ``None`` signed out."""
        return self._api.access_token if self._api is not None else None

    async def sign_in(self, server_url: str, email: str, password: str) -> User:
        """Sign in, connect signaling, load contacts and history. Raises ``VoipError``."""
        return await self._start_session(server_url, email=email, password=password)

    async def resume(self, server_url: str, access_token: str) -> User:
        """Sign in again with a kept token; raises ``Unauthorized`` once it has expired."""
        return await self._start_session(server_url, token=access_token)

    async def _start_session(
        self,
        server_url: str,
        *,
        email: str = "",
        password: str = "",
        token: str | None = None,
    ) -> User:
        if self._api is not None:
            await self.sign_out()
        server_url = server_url.strip().rstrip("/")
        self._update(connection="connecting", server_url=server_url, error=None)
        api = self._api_factory(server_url)
        try:
            if token is not None:
                api.use_token(token)
                user = await api.me()
            else:
                user = (await api.login(email, password)).user
            signaling = self._signaling_factory(
                server_url, lambda: api.access_token, self.device_id
            )
            signaling.set_listener(self._on_signal)
            self._api, self._signaling = api, signaling
            await signaling.connect()
        except VoipError as exc:
            self._api, self._signaling = None, None
            await api.aclose()
            self._update(connection="signed_out", error=str(exc))
            self._log("sign_in_failed", error=str(exc))
            raise
        self._update(connection="online", user=user, access_token=api.access_token)
        self._log("signed_in", user_id=user.id, email=user.email)
        api.on_session_refused(self._on_session_refused)
        self._spawn(self._keep_session_fresh(api))
        await self._refresh_quietly()
        return user

    async def sign_out(self) -> None:
        """End any call, disconnect, forget the session. Safe when signed out."""
        await self._abandon_call()
        signaling, api = self._signaling, self._api
        self._signaling, self._api = None, None
        if signaling is not None:
            signaling.set_listener(None)
            await signaling.disconnect()
        if api is not None:
            await api.aclose()
        await _drain(self._tasks)
        await _finish(self._cleanups)
        self._machine = CallMachine()
        self._finished.clear()
        self._synced = ()
        self._presence_heard.clear()
        self._snapshot = EngineSnapshot()
        self._notify()
        self._wake_link_waiters()
        self._log("signed_out")

    async def close(self) -> None:
        """Sign out and stop everything the engine started."""
        await self.sign_out()

    async def _keep_session_fresh(self, api: ApiClient) -> None:
        """Renew the access token before it expires, for as long as the session lasts."""
        while (lifetime := api.token_lifetime) is not None:
            issued, expires = lifetime
            due = issued + (expires - issued) * RENEW_AT_FRACTION
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, self._session_check_s))
                continue
            try:
                renewed = await api.refresh()
            except Unauthorized:
                return  # _on_session_refused() has ended the session
            except VoipError as exc:
                if isinstance(exc, RequestRefused) and exc.code is ErrorCode.FORBIDDEN:
                    self._log("session_not_renewable", message=str(exc))
                    return  # an identity provider's token: the identity provider renews it
                self._log("session_renewal_failed", error=str(exc))
                await asyncio.sleep(self._session_check_s)  # the server is down or failing
                continue
            self._update(access_token=renewed.access_token)
            self._log("session_renewed", expires_in=renewed.expires_in)
            if renewed.expires_in * RENEW_AT_FRACTION < 1:
                # (almost) no life left: the session's limit is here, and the server will refuse
                # the next renewal; do not ask again at once
                await asyncio.sleep(self._session_check_s)

    def _on_session_refused(self, error: Unauthorized) -> None:
        """The server refused the access token of an HTTP request: sign in again."""
        if not self._snapshot.session_expired:
            self._update(error=SESSION_EXPIRED, session_expired=True)
            self._log("session_refused", message=str(error))

    # --- directory and history ----------------------------------------------------------------

    async def refresh_contacts(self, query: str = "") -> tuple[Contact, ...]:
        """Load my tenant's contacts filtered by ``query``, every page up to
        :data:`CONTACTS_MAX_PAGES`. When searches overlap, only the latest one's result is kept."""
        self._contacts_seq += 1
        seq = self._contacts_seq
        api = self._require_api()
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
        if seq == self._contacts_seq:
            self._update(contacts=tuple(found.values()), contacts_truncated=cursor is not None)
            self._spawn(self._watch_presence())
        return tuple(found.values())

    async def refresh_history(self) -> tuple[Call, ...]:
        """Load my recent calls, newest first, and recount missed calls."""
        page = await self._require_api().calls(limit=50)
        history = tuple(page.items)
        self._update(history=history, missed_count=self._count_missed(history))
        return history

    def mark_missed_seen(self) -> None:
        """The user looked at their missed calls: the badge goes to zero."""
        self._missed_seen_at = datetime.now(UTC)
        self._update(missed_count=0)

    # --- calls --------------------------------------------------------------------------------

    async def call(self, user_id: str) -> None:
        """Call a contact of my tenant by user id. Ends the previous ended call's screen.

        An invite that the signaling link lost (dropped while it waited for its answer, or sent
        while the link was down) is sent again once the link is back, with the same
        ``request_id``, so the server answers with the call it may already have made instead of
        ringing twice: at most :data:`INVITE_ATTEMPTS` sends, each retry waiting at most
        :data:`INVITE_RELINK_WAIT_S` for the link. Cancelled meanwhile, the invite is sent again
        only if the server's ``sync`` shows a call it may belong to (then it is cancelled).
        """
        signaling = self._require_signaling()
        if self._machine.phase is Phase.ENDED:
            self.dismiss()
        peer = self._peer_for(user_id)
        self._machine.handle(Event(EventKind.USER_DIAL))
        self._dial_seq += 1
        seq = self._dial_seq
        self._set_call(ActiveCall(id=None, peer=peer, direction="outgoing", phase=Phase.DIALING))
        self._log("dialing", callee_id=user_id)
        request_id = uuid.uuid4().hex
        try:
            call = await self._invite(signaling, user_id, request_id, seq)
        except VoipError as exc:
            if self._dialing(seq):
                status = CallStatus.BUSY if _code(exc) is ErrorCode.BUSY else CallStatus.FAILED
                reason = Reason.CALLEE_BUSY if status is CallStatus.BUSY else None
                self._end(Event(EventKind.SERVER_REFUSED, status, reason), error=str(exc))
            return
        if call is not None:
            self._invited(call, seq)

    async def _invite(
        self, signaling: Signaling, user_id: str, request_id: str, seq: int
    ) -> Call | None:
        """Send the invite, again after a lost link; ``None``: cancelled before the server had
        the call."""
        for attempt in range(1, INVITE_ATTEMPTS + 1):
            try:
                return await signaling.invite(user_id, request_id)
            except ServerUnreachable as exc:
                if attempt == INVITE_ATTEMPTS or not await self._relinked(signaling):
                    raise
                self._log("invite_retry", callee_id=user_id, attempt=attempt + 1, error=str(exc))
            if not self._dialing_or_ringing(seq) and not self._server_may_have(user_id):
                return None
        raise AssertionError("not reached")  # pragma: no cover

    def _invited(self, call: Call, seq: int) -> None:
        """The server's answer to this device's invite number ``seq``."""
        current = self._snapshot.call
        if seq != self._dial_seq or current is None or current.id is not None:
            # This dial's screen is gone (cancelled, then dismissed): only the server needs telling.
            self._remember_finished(call.id)
            self._stop_on_server(call)
            return
        self._set_call(replace(current, id=call.id, peer=call.callee))
        if self._machine.phase is Phase.ENDED:
            # Cancelled while the invite was on its way: tell the server now.
            self._remember_finished(call.id)
            self._stop_on_server(call)
        elif call.status.is_final:
            self._end(Event(EventKind.SERVER_ENDED, call.status, call.reason))
        elif call.status is CallStatus.IN_PROGRESS and self._machine.can(EventKind.SERVER_ACCEPTED):
            # Answered before a retried invite got through: `accepted` went to the old link.
            self._move(Event(EventKind.SERVER_ACCEPTED))
            self._spawn_call(self._rejoin(call.id))
        elif self._machine.phase is Phase.DIALING:
            self._move(Event(EventKind.SERVER_RINGING))

    def _stop_on_server(self, call: Call) -> None:
        if not call.status.is_final:
            action = "hangup" if call.status is CallStatus.IN_PROGRESS else "cancel"
            self._spawn(self._send_quietly(action, call.id))

    def _dialing_or_ringing(self, seq: int) -> bool:
        return seq == self._dial_seq and self._machine.phase in (Phase.DIALING, Phase.RINGING_OUT)

    def _dialing(self, seq: int) -> bool:
        return seq == self._dial_seq and self._machine.phase is Phase.DIALING

    def _server_may_have(self, callee_id: str) -> bool:
        """Does the last ``sync`` list an active outgoing call of mine to ``callee_id``?"""
        return any(
            c.direction == "outgoing" and c.callee.id == callee_id and not c.status.is_final
            for c in self._synced
        )

    async def _relinked(self, signaling: Signaling) -> bool:
        """Wait (at most :data:`INVITE_RELINK_WAIT_S`) until ``signaling`` is online and synced
        again; ``False`` when it is not by then, or the session ended or expired meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INVITE_RELINK_WAIT_S
        while self._signaling is signaling and self._snapshot.connection == "reconnecting":
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._link_changed.wait(), remaining)
            except TimeoutError:
                return False
        return self._signaling is signaling and self._snapshot.connection == "online"

    async def accept(self) -> None:
        """Answer the incoming call: get a room token and join the media."""
        call = self._current_call()
        self._machine.handle(Event(EventKind.USER_ACCEPT))
        self._set_call(replace(call, phase=self._machine.phase))
        self._log("accepting", call_id=call.id)
        assert call.id is not None  # incoming calls always have an id
        try:
            token = await self._require_signaling().accept(call.id)
        except VoipError as exc:
            if self._machine.phase is Phase.CONNECTING:
                self._end(Event(EventKind.SERVER_REFUSED, CallStatus.FAILED), error=str(exc))
            return
        if self._machine.phase is Phase.CONNECTING:
            self._spawn_call(self._join(token))

    async def decline(self) -> None:
        """Refuse the incoming call."""
        call = self._current_call()
        self._end(Event(EventKind.USER_DECLINE))
        if call.id is not None:
            await self._send_quietly("decline", call.id)

    async def cancel(self) -> None:
        """Stop calling before the callee answered."""
        call = self._current_call()
        self._end(Event(EventKind.USER_CANCEL))
        if call.id is not None:
            await self._send_quietly("cancel", call.id)

    async def hang_up(self) -> None:
        """End the call in progress."""
        call = self._current_call()
        self._end(Event(EventKind.USER_HANG_UP))
        if call.id is not None:
            await self._send_quietly("hangup", call.id)

    async def end_call(self) -> None:
        """Whatever fits the phase: cancel, decline or hang up; nothing when there is no call."""
        phase = self._machine.phase
        if phase in (Phase.DIALING, Phase.RINGING_OUT):
            await self.cancel()
        elif phase is Phase.INCOMING:
            await self.decline()
        elif phase in (Phase.CONNECTING, Phase.ACTIVE, Phase.RECONNECTING):
            await self.hang_up()

    def dismiss(self) -> None:
        """Leave the ended call's screen (``ended`` -> ``idle``)."""
        self._machine.handle(Event(EventKind.USER_DISMISS))
        self._update(call=None)

    async def set_muted(self, muted: bool) -> None:
        """Mute or unmute my microphone in the call."""
        call = self._current_call()
        if self._media is not None:
            await self._media.set_microphone_enabled(not muted)
        self._set_call(replace(call, muted=muted))
        self._log("muted" if muted else "unmuted", call_id=call.id)

    async def list_outputs(self) -> tuple[AudioOutput, ...]:
        """The outputs the call's audio can go to (empty outside a call)."""
        if self._media is None:
            return ()
        outputs = tuple(await self._media.list_audio_outputs())
        self._update(outputs=outputs)
        return outputs

    async def select_output(self, output_id: str) -> None:
        """Route the call's audio; also the default for the next calls."""
        self._prefs = replace(self._prefs, output_id=output_id)
        if self._media is not None:
            try:
                await self._media.select_audio_output(output_id)
            except MediaError as exc:
                self._update(error=str(exc))

    def set_input_device(self, input_id: str | None) -> None:
        """Choose the microphone for the next call (``None``: the system default)."""
        self._prefs = replace(self._prefs, input_id=input_id)

    @property
    def media_prefs(self) -> MediaPrefs:
        return self._prefs

    # --- signaling events ---------------------------------------------------------------------

    def _on_signal(self, event: SignalEvent) -> None:
        try:
            self._dispatch_signal(event)
        except IllegalTransition as exc:
            log.info("ignoring %s: %s", type(event).__name__, exc)

    def _dispatch_signal(self, event: SignalEvent) -> None:
        match event:
            case Incoming():
                self._on_incoming(event.call, event.ring_expires_at)
            case Ringing(call_id=call_id):
                if self._is_current(call_id) and self._machine.can(EventKind.SERVER_RINGING):
                    self._move(Event(EventKind.SERVER_RINGING))
            case Accepted():
                if self._is_current(event.call_id) and self._machine.can(EventKind.SERVER_ACCEPTED):
                    self._move(Event(EventKind.SERVER_ACCEPTED))
                    self._spawn_call(self._join(event))
            case AnsweredElsewhere(call_id=call_id):
                if self._is_current(call_id) and self._machine.can(
                    EventKind.SERVER_ANSWERED_ELSEWHERE
                ):
                    self._end(Event(EventKind.SERVER_ANSWERED_ELSEWHERE))
            case Ended():
                self._on_ended(event)
            case PresenceChanged():
                self._presence_seq += 1
                self._presence_heard[event.user_id] = self._presence_seq
                self._update(contacts=_with_presence(self._snapshot.contacts, event))
            case LinkUp():
                if event.reconnected and self._snapshot.contacts:
                    self._spawn(self._watch_presence())  # a new connection watches nobody
                self._synced = event.calls
                self._update(connection="online")
                self._log("signaling_up", reconnected=event.reconnected)
                self._reconcile(event.calls)
                if event.reconnected and self._machine.phase in (Phase.DIALING, Phase.RINGING_OUT):
                    self._watch_for_answer()
                self._wake_link_waiters()
            case LinkDown(reason=reason):
                if self._signaling is not None:
                    self._update(connection="reconnecting")
                    self._log("signaling_down", reason=reason)
            case AuthRefused(message=message):
                # The signaling client has stopped reconnecting; only a new sign-in starts again.
                self._update(connection="expired", error=SESSION_EXPIRED, session_expired=True)
                self._log("auth_refused", message=message)
                self._wake_link_waiters()

    def _on_incoming(self, call: Call, ring_expires_at: datetime | None) -> None:
        current = self._snapshot.call
        if current is not None and current.id == call.id:
            # The same call again (the server re-sends it after a reconnect): never a second ring.
            if self._machine.phase is Phase.INCOMING and ring_expires_at is not None:
                self._set_call(replace(current, ring_expires_at=ring_expires_at))
            return
        if call.id in self._finished:
            log.info("incoming call %s already ended here; not ringing again", call.id)
            return
        if self._machine.phase is Phase.ENDED:
            self.dismiss()
        if not self._machine.can(EventKind.SERVER_INCOMING):
            log.info("incoming call %s while busy here; the server decides", call.id)
            return
        self._machine.handle(Event(EventKind.SERVER_INCOMING))
        self._set_call(
            ActiveCall(
                id=call.id,
                peer=call.caller,
                direction="incoming",
                phase=Phase.INCOMING,
                ring_expires_at=ring_expires_at,
            )
        )
        self._log("incoming", call_id=call.id, caller=call.caller.display_name)

    def _on_ended(self, event: Ended) -> None:
        if self._is_current(event.call_id) and self._machine.can(EventKind.SERVER_ENDED):
            self._end(Event(EventKind.SERVER_ENDED, event.status, event.reason))
        self._spawn(self._refresh_quietly())

    def _reconcile(self, active: tuple[Call, ...]) -> None:
        """After a (re)connect, make the local call agree with the server's ``sync``."""
        current = self._snapshot.call
        phase = self._machine.phase
        if current is not None and current.id is not None and self._machine.state.in_call:
            server = next((c for c in active if c.id == current.id), None)
            if server is None:
                self._spawn(self._settle_from_history(current.id))
            elif server.status is CallStatus.IN_PROGRESS and phase in (
                Phase.DIALING,
                Phase.RINGING_OUT,
            ):
                # Answered while we were away: the `accepted` event was lost with the link.
                self._move(Event(EventKind.SERVER_ACCEPTED))
                self._spawn_call(self._rejoin(current.id))
            elif server.status is CallStatus.IN_PROGRESS and phase is Phase.INCOMING:
                self._end(Event(EventKind.SERVER_ANSWERED_ELSEWHERE))
            elif server.status is CallStatus.RINGING and phase is Phase.DIALING:
                self._move(Event(EventKind.SERVER_RINGING))
            return
        if phase in (Phase.IDLE, Phase.ENDED):
            for call in active:
                if call.id in self._finished:
                    continue  # ended on this device; the server settles it on its own
                if call.status is CallStatus.RINGING and call.direction == "incoming":
                    self._on_incoming(call, None)
                    break
                if call.status is CallStatus.IN_PROGRESS and self.device_id is not None:
                    self._spawn(self._resume(call))
                    break

    async def _resume(self, call: Call) -> None:
        """``sync`` lists a call in progress that this device shows nothing of (the app
        restarted mid-call, or signaling came back after everything here was lost).

        The server decides whose it is: it hands a room token only to the caller's device and
        the callee's answering device, so any refusal means "not this device's call: leave it
        alone". Only an engine with a stable ``device_id`` asks (without one, this device
        cannot be the one that was in the call). A join that fails ends the call here only: the
        server's rejoin grace ends it for everyone if nobody comes back.
        """
        if call.id in self._resuming:
            return
        self._resuming.add(call.id)
        try:
            token = await self._require_api().room_token(call.id, device_id=self.device_id)
        except VoipError as exc:
            log.info("call %s in progress is not this device's to rejoin: %s", call.id, exc)
            self._log("resume_refused", call_id=call.id, error=str(exc))
            return
        finally:
            self._resuming.discard(call.id)
        if self._machine.phase is Phase.ENDED and not self._is_current(call.id):
            self.dismiss()
        if call.id in self._finished or not self._machine.can(EventKind.SERVER_IN_PROGRESS):
            return  # something else started here meanwhile
        self._machine.handle(Event(EventKind.SERVER_IN_PROGRESS))
        outgoing = call.direction == "outgoing"
        self._set_call(
            ActiveCall(
                id=call.id,
                peer=call.callee if outgoing else call.caller,
                direction=call.direction,
                phase=Phase.CONNECTING,
                connected_at=call.answered_at,  # the timer goes on from the answer
            )
        )
        self._log("resuming", call_id=call.id)
        self._spawn_call(self._join(token, hang_up_on_failure=False))

    def _watch_for_answer(self) -> None:
        if self._answer_watch is None or self._answer_watch.done():
            self._answer_watch = _track(self._call_tasks, self._poll_for_answer())

    async def _poll_for_answer(self) -> None:
        """Ringing out across a reconnect: the server sends ``accepted`` only to the connection
        that invited, which is gone, so read the call log until the call moves on (an
        ``accepted`` or ``ended`` that does arrive moves it first and ends this)."""
        for _ in range(ANSWER_POLLS):
            await asyncio.sleep(ANSWER_POLL_S)
            if self._machine.phase not in (Phase.DIALING, Phase.RINGING_OUT):
                return
            current = self._snapshot.call
            if current is None or current.id is None:
                continue  # the invite is still being sent again
            try:
                call = await self._require_api().call(current.id)
            except VoipError as exc:
                log.info("call log not readable while ringing out: %s", exc)
                continue
            if not self._is_current(call.id):
                return
            if call.status is CallStatus.IN_PROGRESS and self._machine.can(
                EventKind.SERVER_ACCEPTED
            ):
                self._log("answer_found", call_id=call.id)
                self._move(Event(EventKind.SERVER_ACCEPTED))
                self._spawn_call(self._rejoin(call.id))
                return
            if call.status.is_final and self._machine.can(EventKind.SERVER_ENDED):
                self._end(Event(EventKind.SERVER_ENDED, call.status, call.reason))
                return

    async def _watch_presence(self) -> None:
        """Watch the presence of the contacts held (the first :data:`PRESENCE_WATCH_MAX`: in a
        tenant above the server's fan-out limit only watched users' changes reach us) and apply
        the ack's snapshot, except for users a ``presence`` event told about meanwhile (the
        event is as new as the snapshot or newer). Only the latest watch's ack is applied."""
        signaling = self._signaling
        if signaling is None:
            return
        self._watch_seq += 1
        seq, since = self._watch_seq, self._presence_seq
        ids = [c.id for c in self._snapshot.contacts[:PRESENCE_WATCH_MAX]]
        try:
            now = await signaling.watch_presence(ids)
        except VoipError as exc:
            self._log("presence_watch_failed", error=str(exc))  # the next LinkUp watches again
            return
        if seq != self._watch_seq or signaling is not self._signaling:
            return
        heard = self._presence_heard
        states = {p.user_id: p.presence for p in now if heard.get(p.user_id, 0) <= since}
        self._update(contacts=_with_presences(self._snapshot.contacts, states))
        self._log("presence_watched", count=len(ids))

    async def _settle_from_history(self, call_id: str) -> None:
        try:
            call = await self._require_api().call(call_id)
        except VoipError as exc:
            log.warning("could not settle call %s after reconnect: %s", call_id, exc)
            status, reason = CallStatus.FAILED, None
        else:
            status, reason = call.status, call.reason
        if not status.is_final:
            return
        if self._is_current(call_id) and self._machine.can(EventKind.SERVER_ENDED):
            self._end(Event(EventKind.SERVER_ENDED, status, reason))

    # --- media --------------------------------------------------------------------------------

    async def _join(self, token: RoomToken, *, hang_up_on_failure: bool = True) -> None:
        """Join the room of the current call; on failure the call fails (and with
        ``hang_up_on_failure`` the server hears it)."""
        media = self._new_media()
        try:
            await media.connect(token.livekit_url, token.token)
        except MediaError as exc:
            if self._media is media:
                self._media = None
            await media.disconnect()
            self._log("media_failed", error=str(exc))
            call = self._snapshot.call
            if self._machine.can(EventKind.MEDIA_FAILED):
                self._end(Event(EventKind.MEDIA_FAILED), error=str(exc))
                if hang_up_on_failure and call is not None and call.id is not None:
                    self._spawn(self._send_quietly("hangup", call.id))
            return
        call = self._snapshot.call
        if call is not None and call.muted:
            await media.set_microphone_enabled(False)
        if self._media is media and self._machine.phase is Phase.CONNECTING:
            self._media_connected()
        self._spawn_call(self._load_outputs(media))

    def _new_media(self) -> MediaSession:
        media = self._media_factory(self._prefs)
        self._media = media

        def listener(event: MediaEvent) -> None:
            try:
                self._on_media(media, event)
            except IllegalTransition as exc:
                log.info("ignoring media event %s: %s", type(event).__name__, exc)

        media.set_listener(listener)
        return media

    async def _load_outputs(self, media: MediaSession) -> None:
        try:
            outputs = tuple(await media.list_audio_outputs())
        except MediaError as exc:
            log.info("no audio outputs: %s", exc)
            return
        self._update(outputs=outputs)

    def _media_connected(self) -> None:
        self._move(Event(EventKind.MEDIA_CONNECTED))
        call = self._snapshot.call
        if call is not None and call.connected_at is None:
            self._set_call(replace(call, connected_at=datetime.now(UTC)))
        self._log("media_connected", call_id=call.id if call else None)

    def _on_media(self, media: MediaSession, event: MediaEvent) -> None:
        if media is not self._media:
            return  # a session we already left
        call = self._snapshot.call
        if call is None:
            return
        match event:
            case Connected() | Reconnected():
                if self._machine.phase is Phase.RECONNECTING:
                    self._media_connected()
            case Reconnecting():
                if self._machine.can(EventKind.MEDIA_RECONNECTING):
                    self._move(Event(EventKind.MEDIA_RECONNECTING))
                    self._log("media_reconnecting", call_id=call.id)
            case Disconnected(reason=reason):
                self._log("media_disconnected", call_id=call.id, reason=reason)
                if self._machine.can(EventKind.MEDIA_RECONNECTING) and call.id is not None:
                    self._move(Event(EventKind.MEDIA_RECONNECTING))
                    self._media = None
                    self._spawn_cleanup(media.disconnect())
                    self._spawn_call(self._rejoin(call.id))
            case TrackMuted(muted=muted):
                self._set_call(replace(call, remote_muted=muted))
            case ConnectionQualityChanged(quality=quality):
                self._set_call(replace(call, quality=quality))
            case AudioOutputChanged(output=output):
                self._set_call(replace(call, output=output))
            case ParticipantConnected(identity=identity):
                self._log("peer_joined", identity=identity)
            case ParticipantDisconnected(identity=identity):
                self._log("peer_left", identity=identity)

    async def _rejoin(self, call_id: str) -> None:
        """After a full media disconnect: fresh token, join again; a bounded number of times."""
        delay = REJOIN_FIRST_DELAY_S
        last_error = "media lost"
        for attempt in range(1, REJOIN_ATTEMPTS + 1):
            if not self._is_current(call_id) or not self._machine.state.in_call:
                return
            self._log("rejoining", call_id=call_id, attempt=attempt)
            try:
                token = await self._require_api().room_token(call_id, device_id=self.device_id)
            except RequestRefused as exc:
                # The call is over (or not mine any more): let the server's word end it.
                await self._settle_from_history(call_id)
                last_error = str(exc)
                break
            except VoipError as exc:
                last_error = str(exc)
            else:
                media = self._new_media()
                try:
                    await media.connect(token.livekit_url, token.token)
                except MediaError as exc:
                    last_error = str(exc)
                    self._media = None
                    await media.disconnect()
                else:
                    call = self._snapshot.call
                    if call is not None and call.muted:
                        await media.set_microphone_enabled(False)
                    if self._machine.phase in (Phase.RECONNECTING, Phase.CONNECTING):
                        self._media_connected()
                    self._log("rejoined", call_id=call_id, attempt=attempt)
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)
        if self._is_current(call_id) and self._machine.can(EventKind.MEDIA_FAILED):
            self._end(Event(EventKind.MEDIA_FAILED), error=last_error)
            await self._send_quietly("hangup", call_id)

    # --- internals ----------------------------------------------------------------------------

    def _move(self, event: Event) -> None:
        state = self._machine.handle(event)
        call = self._snapshot.call
        if call is not None:
            self._set_call(replace(call, phase=state.phase))
            self._log("phase", call_id=call.id, phase=state.phase.value)

    def _end(self, event: Event, *, error: str | None = None) -> None:
        """Move to ``ended`` (raises if illegal), stop the media and every task of the call."""
        state = self._machine.handle(event)
        call = self._snapshot.call
        if call is not None and call.id is not None:
            self._remember_finished(call.id)
        if call is not None:
            ended = replace(
                call,
                phase=state.phase,
                status=state.status,
                reason=state.reason,
                error=error or call.error,
            )
            self._set_call(ended)
            self._log(
                "ended",
                call_id=call.id,
                status=state.status.value if state.status else None,
                reason=state.reason.value if state.reason else None,
                error=error,
            )
        if error:
            self._update(error=error)
        for task in list(self._call_tasks):
            if task is not asyncio.current_task():
                task.cancel()
        media, self._media = self._media, None
        if media is not None:
            self._spawn_cleanup(media.disconnect())
        self._update(outputs=())

    def _wake_link_waiters(self) -> None:
        """The link came back, expired, or the session ended: whoever waits looks again."""
        changed, self._link_changed = self._link_changed, asyncio.Event()
        changed.set()

    def _remember_finished(self, call_id: str) -> None:
        if call_id not in self._finished:
            self._finished.append(call_id)

    async def _abandon_call(self) -> None:
        """This device is leaving (sign-out, a closed window): end the call it placed or is
        in, but never decline one that rings. The person's other devices still ring, and if
        none answers the server's ring timeout settles it; a device going away is no answer."""
        if self._machine.phase is not Phase.INCOMING:
            with contextlib.suppress(IllegalTransition):
                await self.end_call()
        await _drain(self._call_tasks)
        media, self._media = self._media, None
        if media is not None:
            await media.disconnect()

    async def _send_quietly(self, action: str, call_id: str) -> None:
        signaling = self._signaling
        if signaling is None:
            return
        send: Callable[[str], Coroutine[Any, Any, None]] = getattr(signaling, action)
        try:
            await send(call_id)
        except VoipError as exc:
            # The server settles calls on its own (ring timeout, webhooks): just report it.
            log.info("%s of %s not confirmed: %s", action, call_id, exc)

    async def _refresh_quietly(self) -> None:
        for refresh in (self.refresh_contacts, self.refresh_history):
            try:
                await refresh()
            except VoipError as exc:
                log.info("refresh failed: %s", exc)

    def _count_missed(self, history: tuple[Call, ...]) -> int:
        seen = self._missed_seen_at
        return sum(
            1
            for c in history
            if c.direction == "incoming"
            and c.status is CallStatus.MISSED
            and (seen is None or c.created_at > seen)
        )

    def _peer_for(self, user_id: str) -> Party:
        for contact in self._snapshot.contacts:
            if contact.id == user_id:
                return Party(id=contact.id, display_name=contact.display_name)
        return Party(id=user_id, display_name=user_id)

    def _current_call(self) -> ActiveCall:
        call = self._snapshot.call
        if call is None:
            raise IllegalTransition(self._machine.phase, EventKind.USER_HANG_UP)
        return call

    def _is_current(self, call_id: str) -> bool:
        call = self._snapshot.call
        return call is not None and call.id == call_id

    def _require_api(self) -> ApiClient:
        if self._api is None:
            raise Unauthorized("not signed in")
        return self._api

    def _require_signaling(self) -> Signaling:
        if self._signaling is None:
            raise Unauthorized("not signed in")
        return self._signaling

    def _set_call(self, call: ActiveCall) -> None:
        self._update(call=call)

    def _update(self, **changes: Any) -> None:
        self._snapshot = replace(self._snapshot, **changes)
        self._notify()

    def _notify(self) -> None:
        notify(list(self._listeners), self._snapshot, log=log, what="snapshot")

    def _log(self, name: str, **data: Any) -> None:
        notify(list(self._event_listeners), EngineEvent(name, data), log=log, what="event")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """A task of the session (outlives a call)."""
        _track(self._tasks, coro)

    def _spawn_cleanup(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Leaving a room: never cancelled, awaited (bounded) at sign-out."""
        _track(self._cleanups, coro)

    def _spawn_call(self, coro: Coroutine[Any, Any, Any]) -> None:
        """A task of the current call: cancelled when the call ends."""
        _track(self._call_tasks, coro)


def _track(tasks: set[asyncio.Task[Any]], coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coro)
    tasks.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background task failed", exc_info=t.exception())

    task.add_done_callback(done)
    return task


async def _drain(tasks: set[asyncio.Task[Any]]) -> None:
    current = asyncio.current_task()
    pending = [t for t in tasks if t is not current]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def _finish(tasks: set[asyncio.Task[Any]], within_s: float = 10.0) -> None:
    """Let clean-ups end on their own; cancel only what is still running after ``within_s``."""
    pending = [t for t in tasks if t is not asyncio.current_task()]
    if not pending:
        return
    _, late = await asyncio.wait(pending, timeout=within_s)
    for task in late:
        task.cancel()
    if late:
        await asyncio.gather(*late, return_exceptions=True)


def _with_presence(contacts: tuple[Contact, ...], event: PresenceChanged) -> tuple[Contact, ...]:
    return tuple(
        c.model_copy(update={"presence": event.presence}) if c.id == event.user_id else c
        for c in contacts
    )


def _with_presences(
    contacts: tuple[Contact, ...], states: Mapping[str, Presence]
) -> tuple[Contact, ...]:
    return tuple(
        c.model_copy(update={"presence": states[c.id]})
        if c.id in states and states[c.id] != c.presence
        else c
        for c in contacts
    )


def _code(exc: VoipError) -> ErrorCode | None:
    return exc.code if isinstance(exc, RequestRefused) else None


__all__ = [
    "ActiveCall",
    "CallEngine",
    "ConnectionState",
    "EngineEvent",
    "EngineSnapshot",
    "MediaFactory",
    "MediaPrefs",
    "ServerUnreachable",
    "default_media_factory",
]
