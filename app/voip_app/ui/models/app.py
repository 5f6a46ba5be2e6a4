"""The whole app's model for one page: the session, the banner, and the screens' models.

Engine news arrives through ``post`` (on the UI's loop, in the page's context) as
:data:`~voip_app.ui.ports.EngineUpdate` values; each goes to the screen model it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft

from voip_app.call.model import ActiveCall
from voip_app.clock import SYSTEM_CLOCK, Clock
from voip_app.errors import Unauthorized, VoipError
from voip_app.platform import Permission, PermissionState, Platform
from voip_app.ui.models.admin import AdminModel
from voip_app.ui.models.banner import (
    FULL_SCREEN_HINT,
    SESSION_EXPIRED_SIGN_IN,
    Banner,
    BannerAction,
    error_message,
)
from voip_app.ui.models.call import CallModel, ended_message
from voip_app.ui.models.contacts import ContactsModel
from voip_app.ui.models.history import HistoryModel
from voip_app.ui.models.settings import SettingsModel
from voip_app.ui.models.signin import DEFAULT_SERVER_URL, SignInForm
from voip_app.ui.models.webhooks import WebhooksModel
from voip_app.ui.ports import (
    CallChanged,
    ConnectionChanged,
    ContactPresenceChanged,
    EngineFailed,
    EnginePort,
    EngineUpdate,
    HistoryChanged,
    NoPlayer,
    OutputsChanged,
    Player,
    Post,
    Ringer,
    SessionRenewed,
    SessionStore,
    Spawn,
)
from voip_contract import CallStatus, User

LOST_CONNECTION = "Lost the connection to the call server. Reconnecting…"


@ft.observable
@dataclass
class AppModel:
    """The app's state and the session's actions; one per page/session."""

    engine: EnginePort
    ringer: Ringer
    store: SessionStore
    platform: Platform
    post: Post
    spawn: Spawn
    clock: Clock = SYSTEM_CLOCK
    player: Player = field(default_factory=NoPlayer)
    user: User | None = None
    server_url: str = DEFAULT_SERVER_URL
    connected: bool = True
    starting: bool = True
    banner: Banner = field(default_factory=Banner)
    signin: SignInForm = field(init=False)
    call: CallModel = field(init=False)
    contacts: ContactsModel = field(init=False)
    history: HistoryModel = field(init=False)
    settings: SettingsModel = field(init=False)
    admin: AdminModel = field(init=False)
    webhooks: WebhooksModel = field(init=False)
    sign_out_after_call: str | None = None
    """Why the session ended while a call was on: it signs out when the call ends."""

    def __post_init__(self) -> None:
        engine, banner, fail = self.engine, self.banner, self.fail
        self.signin = SignInForm(engine, self.store, banner, self._signed_in)
        self.call = CallModel(engine, self.ringer, self.platform, banner, fail)
        self.contacts = ContactsModel(engine, self.call, fail)
        self.history = HistoryModel(engine, self.contacts, fail, self.clock, self.player)
        self.settings = SettingsModel(engine, fail)
        self.admin = AdminModel(engine, fail)
        self.webhooks = WebhooksModel(engine, fail)
        engine.set_listener(lambda update: self.post(lambda: self._apply(update)))

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
                    self.banner.show(SESSION_EXPIRED_SIGN_IN)
                else:
                    self.banner.show(*error_message(exc))
                return
            await self._signed_in(user, server_url)
        finally:
            self.starting = False

    async def _signed_in(self, user: User, server_url: str) -> None:
        self.user, self.server_url, self.connected = user, server_url, True
        self.contacts.me = user.id
        self.banner.clear()
        self.settings.load()
        await self._call_alerts()
        await self.contacts.search(self.contacts.query)
        await self.history.refresh()

    async def _call_alerts(self) -> None:
        """A phone rings with the app closed only through its notification: ask for
        notifications (Android 13+), and explain how to let a call fill the locked screen when
        that is not allowed (Android 14+)."""
        if self.platform.permission_state(Permission.NOTIFICATIONS) is PermissionState.DENIED:
            await self.platform.request_permission(Permission.NOTIFICATIONS)
        if not self.platform.can_ring_full_screen():
            self.banner.show(FULL_SCREEN_HINT, BannerAction.ALLOW_FULL_SCREEN)

    async def sign_out(self, reason: str = "") -> None:
        """Sign out (``reason``: why, when it was not the person's choice)."""
        try:
            await self.engine.sign_out()
        finally:
            await self.store.clear()
            self.user = None
            self.call.show(None)
            self.contacts.clear()
            self.history.rows = []
            self.banner.clear()
            if reason:
                self.banner.show(reason)

    # --- failures and the banner's way forward ------------------------------------------------

    async def fail(self, exc: BaseException) -> None:
        """Show a failure; a session the server refused ends (now, or after the call)."""
        message, action = error_message(exc)
        if isinstance(exc, Unauthorized) and self.signed_in:
            await self._session_over(message)
            return
        self.banner.show(message, action)

    async def _session_over(self, message: str) -> None:
        """The server refused the session: sign out now, or once the call in progress ends
        (its signaling link and media still work; the next sign-in would cut them)."""
        if self.call.call is None or not self.call.call.in_call:
            await self.sign_out(message)
        else:
            self.sign_out_after_call = message
            self.banner.show(message)

    async def banner_action(self) -> None:
        action = self.banner.action
        self.banner.clear()
        match action:
            case BannerAction.RETRY_SIGN_IN if self.user is not None:
                await self._signed_in(self.user, self.server_url)
            case BannerAction.RETRY_SIGN_IN:
                await self.signin.submit()
            case BannerAction.ALLOW_MICROPHONE:
                await self.platform.request_permission(Permission.MICROPHONE)
            case BannerAction.OPEN_SETTINGS:
                self.platform.open_app_settings()
            case BannerAction.ALLOW_FULL_SCREEN:
                self.platform.open_full_screen_settings()
            case BannerAction.CALL_AGAIN:
                await self.call.call_again()
            case BannerAction.SIGN_IN_AGAIN:
                await self.sign_out()

    # --- engine news (arrives through ``post``, on the UI's loop) ------------------------------

    def _apply(self, update: EngineUpdate) -> None:
        match update:
            case CallChanged(call):
                if self.call.show(call) and call is not None:
                    self._call_ended(call)
            case ContactPresenceChanged(user_id, presence):
                self.contacts.presence_changed(user_id, presence)
            case ConnectionChanged(connected, message):
                self._connection(connected, message)
            case HistoryChanged(calls, missed_count) if self.signed_in:
                self.history.show(calls)
                self.contacts.missed_count = missed_count
            case OutputsChanged(outputs):
                self.call.outputs = list(outputs)
            case EngineFailed(message, session_expired) if self.signed_in:
                if session_expired:
                    self.spawn(lambda: self._session_over(message))
                else:
                    self.banner.show(message)
            case SessionRenewed(access_token) if self.user is not None and self.server_url:
                user, server_url = self.user, self.server_url
                self.spawn(lambda: self.store.save(server_url, user.email, access_token))

    def _connection(self, connected: bool, message: str) -> None:
        self.connected = connected
        if not connected and self.signed_in:
            self.banner.show(message or LOST_CONNECTION)
        elif connected and self.banner.message in (LOST_CONNECTION, message):
            self.banner.clear()

    def _call_ended(self, call: ActiveCall) -> None:
        if self.sign_out_after_call is not None:
            message, self.sign_out_after_call = self.sign_out_after_call, None
            self.spawn(lambda: self.sign_out(message))
            return
        outcome = ended_message(call)
        if outcome is not None:
            self.banner.show(*outcome)
        elif call.status is CallStatus.COMPLETED and call.id is not None:
            # A conversation took place: offer its note at once (skippable), as a rep expects.
            call_id = call.id
            self.spawn(lambda: self.history.start_note(call_id))
