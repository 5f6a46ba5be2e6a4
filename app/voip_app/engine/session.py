"""The signed-in session: the API client, the signaling link, and keeping both alive.

:class:`Session` signs in (or resumes with a kept token), connects signaling, renews the access
token before it expires, follows the link's state (``online``, ``reconnecting``, ``expired``) and
lets a lost invite wait for the link to come back (:meth:`Session.relinked`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from voip_app.api import ApiClient
from voip_app.clock import Clock
from voip_app.engine.events import (
    AuthRefusedEvent,
    SessionNotRenewableEvent,
    SessionRefusedEvent,
    SessionRenewalFailedEvent,
    SessionRenewedEvent,
    SignalingDownEvent,
    SignalingUpEvent,
)
from voip_app.engine.snapshot import Publisher, log
from voip_app.engine.tasks import EngineTasks
from voip_app.errors import RequestRefused, Unauthorized, VoipError
from voip_app.signaling import SignalEvent, Signaling, SignalingClient
from voip_contract import ErrorCode, User

RENEW_AT_FRACTION = 0.8
"""The access token is renewed (``POST /api/auth/refresh``) once this much of its lifetime has
passed, so a device signed in for days keeps a token its signaling can reconnect with."""
SESSION_CHECK_S = 60.0
"""How often the renewal looks at the wall clock: a phone's monotonic clock stops while it sleeps,
so one long timer could wake after the token expired. Also the retry interval when renewing
fails for want of the server."""
INVITE_RELINK_WAIT_S = 30.0
"""How long a lost invite waits for the signaling link to come back before the call fails."""
SESSION_EXPIRED = "Your session expired; sign in again."

ApiFactory = Callable[[str], ApiClient]
SignalingFactory = Callable[[str, Callable[[], str | None], str | None], Signaling]


def default_signaling(
    url: str, token: Callable[[], str | None], device_id: str | None
) -> Signaling:
    """The real link: Socket.IO to the call server (``SignalingClient``)."""
    return SignalingClient(url, token, device_id=device_id)


class Session:
    """One signed-in user's API client and signaling link."""

    def __init__(
        self,
        out: Publisher,
        tasks: EngineTasks,
        clock: Clock,
        *,
        api_factory: ApiFactory,
        signaling_factory: SignalingFactory,
        device_id: str | None,
        check_s: float,
    ) -> None:
        self._out, self._tasks, self._clock = out, tasks, clock
        self._api_factory, self._signaling_factory = api_factory, signaling_factory
        self._device_id, self._check_s = device_id, check_s
        self.api: ApiClient | None = None
        self.signaling: Signaling | None = None
        self._link_changed = asyncio.Event()

    async def start(
        self, server_url: str, on_signal: Callable[[SignalEvent], None], **credentials: str
    ) -> User:
        """Sign in with ``email``/``password`` or a kept ``token``, and connect signaling."""
        api = self._api_factory(server_url)
        try:
            if "token" in credentials:
                api.use_token(credentials["token"])
                user = await api.me()
            else:
                user = (await api.login(credentials["email"], credentials["password"])).user
            signaling = self._signaling_factory(
                server_url, lambda: api.access_token, self._device_id
            )
            signaling.set_listener(on_signal)
            self.api, self.signaling = api, signaling
            await signaling.connect()
        except VoipError:
            self.api, self.signaling = None, None
            await api.aclose()
            raise
        api.on_session_refused(self._on_refused)
        self._tasks.upkeep.spawn(self._keep_fresh(api))
        return user

    async def stop(self) -> None:
        """Disconnect and forget the session (safe when there is none)."""
        signaling, api = self.signaling, self.api
        self.signaling, self.api = None, None
        if signaling is not None:
            signaling.set_listener(None)
            await signaling.disconnect()
        if api is not None:
            await api.aclose()

    def require_api(self) -> ApiClient:
        if self.api is None:
            raise Unauthorized("not signed in")
        return self.api

    def require_signaling(self) -> Signaling:
        if self.signaling is None:
            raise Unauthorized("not signed in")
        return self.signaling

    async def send_quietly(self, action: str, call_id: str) -> None:
        """Tell the server ``cancel``/``decline``/``hangup``; a failure is only reported (the
        server settles calls on its own: ring timeout, webhooks)."""
        signaling = self.signaling
        if signaling is None:
            return
        send: Callable[[str], Coroutine[Any, Any, None]] = getattr(signaling, action)
        try:
            await send(call_id)
        except VoipError as exc:
            log.info("%s of %s not confirmed: %s", action, call_id, exc)

    # --- the link ---------------------------------------------------------------------------

    def link_up(self, reconnected: bool) -> None:
        self._out.update(connection="online")
        self._out.log(SignalingUpEvent(reconnected=reconnected))

    def link_down(self, reason: str) -> None:
        if self.signaling is not None:
            self._out.update(connection="reconnecting")
            self._out.log(SignalingDownEvent(reason=reason))

    def auth_refused(self, message: str) -> None:
        """The signaling client has stopped reconnecting; only a new sign-in starts again."""
        self._out.update(connection="expired", error=SESSION_EXPIRED, session_expired=True)
        self._out.log(AuthRefusedEvent(message=message))
        self.wake_link_waiters()

    def wake_link_waiters(self) -> None:
        """The link came back, expired, or the session ended: whoever waits looks again."""
        changed, self._link_changed = self._link_changed, asyncio.Event()
        changed.set()

    async def relinked(self, signaling: Signaling) -> bool:
        """Wait (at most :data:`INVITE_RELINK_WAIT_S`) until ``signaling`` is online and synced
        again; ``False`` when it is not by then, or the session ended or expired meanwhile."""
        timer = asyncio.ensure_future(self._clock.sleep(INVITE_RELINK_WAIT_S))
        try:
            while self.signaling is signaling and self._out.snapshot.connection == "reconnecting":
                changed = asyncio.ensure_future(self._link_changed.wait())
                await asyncio.wait((changed, timer), return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                await asyncio.gather(changed, return_exceptions=True)
                if timer.done():
                    return False
        finally:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
        return self.signaling is signaling and self._out.snapshot.connection == "online"

    # --- the token --------------------------------------------------------------------------

    async def _keep_fresh(self, api: ApiClient) -> None:
        """Renew the access token before it expires, for as long as the session lasts."""
        while (lifetime := api.token_lifetime) is not None:
            issued, expires = lifetime
            due = issued + (expires - issued) * RENEW_AT_FRACTION
            wait = (due - self._clock.now()).total_seconds()
            if wait > 0:
                await self._clock.sleep(min(wait, self._check_s))
                continue
            if not await self._renew(api):
                return

    async def _renew(self, api: ApiClient) -> bool:
        """One renewal; ``False`` when renewing is over for this session."""
        try:
            renewed = await api.refresh()
        except Unauthorized:
            return False  # _on_refused() has ended the session
        except VoipError as exc:
            if isinstance(exc, RequestRefused) and exc.code is ErrorCode.FORBIDDEN:
                self._out.log(SessionNotRenewableEvent(message=str(exc)))
                return False  # an identity provider's token: the identity provider renews it
            self._out.log(SessionRenewalFailedEvent(error=str(exc)))
            await self._clock.sleep(self._check_s)  # the server is down or failing
            return True
        self._out.update(access_token=renewed.access_token)
        self._out.log(SessionRenewedEvent(expires_in=renewed.expires_in))
        await self._hand_to_link(renewed.access_token)
        if renewed.expires_in * RENEW_AT_FRACTION < 1:
            # (almost) no life left: the session's limit is here, and the server will refuse
            # the next renewal; do not ask again at once
            await self._clock.sleep(self._check_s)
        return True

    async def _hand_to_link(self, token: str) -> None:
        """The live link goes on with the renewed token (the server closes a socket whose token
        expired); a link that is down reconnects with it anyway."""
        signaling = self.signaling
        if signaling is None:
            return
        try:
            await signaling.renew_token(token)
        except VoipError as exc:
            log.info("renewed token not handed to the link: %s", exc)

    async def logout(self, device_id: str | None) -> None:
        """Sign out on the server (the session revoked, this device's push registration
        removed); the server being unreachable does not keep anyone signed in here."""
        api = self.api
        if api is None:
            return
        try:
            await api.logout(device_id)
        except VoipError as exc:
            log.info("sign-out not confirmed by the server: %s", exc)

    def _on_refused(self, error: Unauthorized) -> None:
        """The server refused the access token of an HTTP request: sign in again."""
        if not self._out.snapshot.session_expired:
            self._out.update(error=SESSION_EXPIRED, session_expired=True)
            self._out.log(SessionRefusedEvent(message=str(error)))
