""":class:`CallEngine`: the engine as the UI and ``voip-softphone`` see it. Wiring only.

- plain async methods: :meth:`~CallEngine.sign_in`, :meth:`~CallEngine.sign_out`,
  :meth:`~CallEngine.refresh_contacts`, :meth:`~CallEngine.refresh_history`,
  :meth:`~CallEngine.call`, :meth:`~CallEngine.accept`, :meth:`~CallEngine.decline`,
  :meth:`~CallEngine.cancel`, :meth:`~CallEngine.hang_up`, :meth:`~CallEngine.set_muted`,
  :meth:`~CallEngine.select_output`, :meth:`~CallEngine.dismiss`,
  :meth:`~CallEngine.mark_missed_seen`, :meth:`~CallEngine.close`;
- :meth:`~CallEngine.watch_visible`: the contacts on screen, whose presence is kept live;
- one immutable :class:`~voip_app.engine.snapshot.EngineSnapshot` (:attr:`~CallEngine.snapshot`),
  replaced on every change and pushed to every listener added with :meth:`~CallEngine.subscribe`;
- a log of :class:`~voip_app.engine.events.EngineEvent` s (:meth:`~CallEngine.add_event_listener`).

Errors: :meth:`~CallEngine.sign_in` and the refresh methods raise
:class:`~voip_app.errors.VoipError` (its ``str`` is fit to show). Call actions never raise for
server or network failures: the call ends with the outcome, and ``snapshot.error`` /
``snapshot.call.error`` say what went wrong. They raise
:class:`~voip_app.call.machine.IllegalTrigger` only when the action makes no sense now (accepting
with no incoming call), and change nothing then.

The parts: :class:`~voip_app.engine.session.Session` (sign-in, renewal, the link),
:class:`~voip_app.engine.directory.Directory` (contacts, presence, history),
:class:`~voip_app.engine.tenant_admin.TenantAdmin` (users and webhooks, :attr:`~CallEngine.admin`),
:class:`~voip_app.engine.driver.CallDriver` (the call's table and its effects),
:class:`~voip_app.engine.actions.CallActions` (dial, accept, end, leave),
:class:`~voip_app.engine.news.ServerNews` (server events, ``sync``, follow-ups),
:class:`~voip_app.engine.signals.SignalRouter` (which part hears which event of the link) and
:class:`~voip_app.engine.media_link.MediaLink` (the room). Time comes from one
:class:`~voip_app.clock.Clock`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from voip_app.api import ApiClient
from voip_app.call.machine import IllegalTrigger, Trigger
from voip_app.clock import SYSTEM_CLOCK, Clock
from voip_app.engine.actions import CallActions
from voip_app.engine.directory import Directory
from voip_app.engine.driver import CallDriver
from voip_app.engine.events import (
    MutedEvent,
    SignedInEvent,
    SignedOutEvent,
    SignInFailedEvent,
    UnmutedEvent,
)
from voip_app.engine.media_factory import MediaFactory, MediaPrefs, default_media_factory
from voip_app.engine.media_link import MediaLink
from voip_app.engine.news import ServerNews
from voip_app.engine.push import NotificationAnswer, PushLink
from voip_app.engine.session import (
    SESSION_CHECK_S,
    ApiFactory,
    Session,
    SignalingFactory,
    default_signaling,
)
from voip_app.engine.shared import Shared
from voip_app.engine.signals import SignalRouter
from voip_app.engine.snapshot import EngineSnapshot, EventListener, Publisher, SnapshotListener
from voip_app.engine.tasks import EngineTasks
from voip_app.engine.tenant_admin import TenantAdmin
from voip_app.errors import VoipError
from voip_app.media.base import AudioOutput
from voip_app.push import PushSource
from voip_contract import Call, Contact, User


class CallEngine:
    """One signed-in user, at most one call at a time. See the module docstring."""

    def __init__(
        self,
        *,
        media_factory: MediaFactory = default_media_factory,
        api_factory: ApiFactory = ApiClient,
        signaling_factory: SignalingFactory = default_signaling,
        device_id: str | None = None,
        session_check_s: float = SESSION_CHECK_S,
        clock: Clock = SYSTEM_CLOCK,
        push: PushSource | None = None,
    ) -> None:
        self.device_id = device_id
        self.tasks = EngineTasks()
        """The engine's background tasks (the session's, the call's, clean-ups)."""
        out = self._out = Publisher()
        session = self._session = Session(
            out,
            self.tasks,
            clock,
            api_factory=api_factory,
            signaling_factory=signaling_factory,
            device_id=device_id,
            check_s=session_check_s,
        )
        shared = Shared(out, self.tasks, clock, session, device_id)
        self._directory = Directory(shared)
        self.admin = TenantAdmin(self._session)
        """My tenant's users and webhooks (for its admins)."""
        self._media = MediaLink(shared, media_factory)
        self._driver = CallDriver(shared, self._media)
        self._news = ServerNews(shared, self._driver)
        self._actions = CallActions(shared, self._directory, self._driver, self._media)
        self._driver.attach(self._news)
        self._media.attach(self._driver.feed, self._news.settle_from_log)
        self._push = PushLink(shared, push)
        self._answer = NotificationAnswer(shared, self._actions.accept)
        self._on_signal = SignalRouter(shared, self._directory, self._news, self._actions)

    # --- observing ----------------------------------------------------------------------------

    @property
    def snapshot(self) -> EngineSnapshot:
        """The current state; a new object after every change."""
        return self._out.snapshot

    def subscribe(self, listener: SnapshotListener) -> Callable[[], None]:
        """Call ``listener(snapshot)`` after every change; returns the unsubscribe function."""
        return self._out.subscribe(listener)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Receive every :class:`~voip_app.engine.events.EngineEvent`; returns the remover."""
        return self._out.add_event_listener(listener)

    # --- session ------------------------------------------------------------------------------

    @property
    def access_token(self) -> str | None:
        """The session's bearer token (keep it to :meth:`resume` later); ``None`` signed out."""
        api = self._session.api
        return api.access_token if api is not None else None

    async def sign_in(self, server_url: str, email: str, password: str) -> User:
        """Sign in, connect signaling, load contacts and history. Raises ``VoipError``."""
        return await self._start(server_url, email=email, password=password)

    async def resume(self, server_url: str, access_token: str) -> User:
        """Sign in again with a kept token; raises ``Unauthorized`` once it has expired."""
        return await self._start(server_url, token=access_token)

    async def _start(self, server_url: str, **credentials: str) -> User:
        if self._session.api is not None:
            await self.sign_out()
        server_url = server_url.strip().rstrip("/")
        self._out.update(connection="connecting", server_url=server_url, error=None)
        try:
            user = await self._session.start(server_url, self._on_signal, **credentials)
        except VoipError as exc:
            self._out.update(connection="signed_out", error=str(exc))
            self._out.log(SignInFailedEvent(error=str(exc)))
            raise
        self._out.update(connection="online", user=user, access_token=self.access_token)
        self._out.log(SignedInEvent(user_id=user.id, email=user.email))
        self.tasks.session.spawn(self._push.signed_in(server_url))
        await self._directory.refresh_quietly()
        return user

    async def sign_out(self) -> None:
        """End any call, disconnect, forget the session. Safe when signed out."""
        await self._actions.leave()
        await self.tasks.session.drain()  # (a registration still under way)
        await self._push.signing_out()
        await self._session.logout(self.device_id)
        await self._session.stop()
        await self.tasks.upkeep.drain()
        await self.tasks.session.drain()
        await self.tasks.cleanups.finish()
        self._driver.reset()
        self._actions.synced = ()
        self._directory.forget()
        self._out.reset(EngineSnapshot())
        self._session.wake_link_waiters()
        self._out.log(SignedOutEvent())

    async def close(self) -> None:
        """Sign out and stop everything the engine started."""
        await self.sign_out()

    # --- directory and history ----------------------------------------------------------------

    async def refresh_contacts(self, query: str = "") -> tuple[Contact, ...]:
        """Load my tenant's contacts filtered by ``query`` (every page, up to a bound)."""
        return await self._directory.refresh_contacts(query)

    async def refresh_history(self) -> tuple[Call, ...]:
        """Load my recent calls, newest first, and recount missed calls."""
        return await self._directory.refresh_history()

    async def recording_url(self, recording_id: str) -> str:
        """A short-lived URL playing one recording of my call (``call.recording.id``)."""
        signed = await self._session.require_api().recording_url(recording_id)
        return signed.url

    async def note_call(self, call_id: str, outcome: str | None, text: str | None) -> Call:
        """My outcome and note on a finished call of mine (``PUT /api/calls/{id}/note``)."""
        return await self._directory.note_call(call_id, outcome, text)

    async def outcomes(self) -> list[str]:
        """The outcomes my tenant offers for a call's note."""
        return await self._directory.outcomes()

    def mark_missed_seen(self) -> None:
        """The user looked at their missed calls: the badge goes to zero."""
        self._directory.mark_missed_seen()

    def watch_visible(self, user_ids: Sequence[str]) -> None:
        """The contacts the screen shows now, with a margin (a screenful above and below):
        their presence is what is watched (``presence_watch``), once the rows hold still.
        Until the screen says, the top of the list is (``FIRST_SCREEN_WATCH``)."""
        self._directory.presence.visible(user_ids)

    # --- calls --------------------------------------------------------------------------------

    async def call(self, user_id: str) -> None:
        """Call a contact of my tenant by user id (an ended call's screen gives way)."""
        await self._actions.dial(user_id)

    async def accept(self) -> None:
        """Answer the incoming call: get a room token and join the media."""
        await self._actions.accept()

    def answer_from_notification(self, call_id: str) -> None:
        """The person accepted ``call_id`` on its notification (the app may just have started):
        accept it as soon as it rings here (signaling connected, the server rang it again)."""
        self._answer.want(call_id)

    async def decline(self) -> None:
        """Refuse the incoming call."""
        await self._driver.act(Trigger.USER_DECLINE)

    async def cancel(self) -> None:
        """Stop calling before the callee answered."""
        await self._driver.act(Trigger.USER_CANCEL)

    async def hang_up(self) -> None:
        """End the call in progress."""
        await self._driver.act(Trigger.USER_HANG_UP)

    async def end_call(self) -> None:
        """Whatever fits the phase: cancel, decline or hang up; nothing when there is no call."""
        await self._actions.end()

    def dismiss(self) -> None:
        """Leave the ended call's screen (``ended`` -> ``idle``)."""
        for send in self._driver.step(Trigger.USER_DISMISS):
            self.tasks.session.spawn(send)

    async def set_muted(self, muted: bool) -> None:
        """Mute or unmute my microphone in the call."""
        call = self._out.snapshot.call
        if call is None:
            raise IllegalTrigger(self._driver.progress.phase, "mute")
        await self._media.set_muted(muted)
        current = self._out.snapshot.call
        if current is not None and current.id == call.id:
            self._out.set_call(replace(current, muted=muted))
        self._out.log(MutedEvent(call_id=call.id) if muted else UnmutedEvent(call_id=call.id))

    async def list_outputs(self) -> tuple[AudioOutput, ...]:
        """The outputs the call's audio can go to (empty outside a call)."""
        return await self._media.list_outputs()

    async def select_output(self, output_id: str) -> None:
        """Route the call's audio; also the default for the next calls."""
        await self._media.select_output(output_id)

    def audio_levels(self) -> tuple[float, float]:
        """The call's (sent, heard) RMS levels, 0..1, for meters (zeros outside a call)."""
        return self._media.levels()

    def set_input_device(self, input_id: str | None) -> None:
        """Choose the microphone for the next call (``None``: the system default)."""
        self._media.set_input(input_id)

    @property
    def media_prefs(self) -> MediaPrefs:
        """The devices chosen for the next calls."""
        return self._media.prefs
