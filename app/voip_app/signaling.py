"""The call server's Socket.IO namespace ``/call`` as a typed client.

:class:`SignalingClient` connects with the access token (and this installation's ``device_id``),
reconnects with backoff when the link drops (python-socketio's own loop: 0.5 s doubling to 5 s,
jittered), authenticates again on every attempt, and calls ``sync`` after every (re)connect. What
the server pushes reaches one listener as typed :data:`SignalEvent` s: the contract's payload models
plus :class:`LinkUp` (with the ``sync`` result), :class:`LinkDown` and :class:`AuthRefused`.
Once the server refuses the token on a reconnect (:class:`AuthRefused`) the client stops
reconnecting for good: the same token would be refused again; a new sign-in makes a new client.
A link the server closes on purpose (access taken away, a flood cut off) is one python-socketio
leaves closed; this client connects again itself, so that a revoked session hears its refusal.

Requests (``invite``, ``accept``, ...) return the ack's typed payload or raise
:class:`~voip_app.errors.RequestRefused` (``{"ok": false}``),
:class:`~voip_app.errors.ServerUnreachable` (not connected, no ack in time, or the link dropped
while the request waited for its ack: the server may or may not have acted on it) or
:class:`~voip_app.errors.BadResponse`. The engine depends on the :class:`Signaling` protocol;
unit tests use a fake of it. The events, the protocol and the wire's shapes are in
:mod:`voip_app.signaling_types` (imported from here too).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import socketio

from voip_app.clock import Clock, SystemClock
from voip_app.errors import BadResponse, RequestRefused, ServerUnreachable, Unauthorized
from voip_app.listeners import notify
from voip_app.signaling_acks import AckedRequests
from voip_app.signaling_types import (
    PUSHED,
    AuthRefused,
    CallAck,
    EmptyAck,
    LinkDown,
    LinkUp,
    M,
    SignalEvent,
    Signaling,
    SignalListener,
    SyncAck,
    is_auth_refusal,
    parse_pushed,
)
from voip_contract import (
    NAMESPACE,
    Call,
    ClientEvent,
    PresenceChanged,
    PresenceSnapshot,
    RoomToken,
    ServerEvent,
)

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 10.0


class SignalingClient:
    """The real :class:`Signaling` over ``socketio.AsyncClient``."""

    def __init__(
        self,
        server_url: str,
        token: Callable[[], str | None],
        *,
        device_id: str | None = None,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        reconnection_delay_s: float = 0.5,
        reconnection_delay_max_s: float = 5.0,
        socket: socketio.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``socket``: the python-socketio client to drive (a unit test hands a fake one);
        ``clock``: what this client's own retries wait on."""
        self.server_url = server_url.rstrip("/")
        self._token = token
        self._device_id = device_id
        self._ack_timeout_s = ack_timeout_s
        self._listener: SignalListener | None = None
        self._connected_once = False
        self._refusal: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = asyncio.Event()
        self._clock = clock or SystemClock()
        self._delay_s, self._delay_max_s = reconnection_delay_s, reconnection_delay_max_s
        self._sio = socket or socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=reconnection_delay_s,
            reconnection_delay_max=reconnection_delay_max_s,
            randomization_factor=0.3,
            handle_sigint=False,
        )
        self._sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self._sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self._sio.on("connect_error", self.on_connect_error, namespace=NAMESPACE)
        for name in PUSHED:
            self._sio.on(name.value, functools.partial(self.on_pushed, name), namespace=NAMESPACE)
        self._requests = AckedRequests(self._sio, self.server_url, ack_timeout_s)

    @property
    def connected(self) -> bool:
        # (the client's own ``connected`` flag is set only after our connect handler ran)
        return NAMESPACE in self._sio.namespaces

    @property
    def stopped(self) -> asyncio.Event:
        """Set once the client gave up reconnecting because the server refused the token."""
        return self._stopped

    @property
    def requests_waiting(self) -> int:
        """Requests waiting for their ack now."""
        return self._requests.waiting

    def set_listener(self, listener: SignalListener | None) -> None:
        self._listener = listener

    async def connect(self) -> None:
        """Connect once; raises :class:`~voip_app.errors.Unauthorized` when the server refuses
        the token, :class:`ServerUnreachable` when nothing answers.

        After the first success, drops are repaired in the background and reported as
        :class:`LinkDown` / :class:`LinkUp`.
        """
        self._refusal = None
        try:
            await self._sio.connect(
                self.server_url,
                auth=self.auth,
                namespaces=[NAMESPACE],
                transports=["websocket"],
                wait_timeout=int(self._ack_timeout_s),
            )
        except socketio.exceptions.ConnectionError as exc:
            await self._sio.disconnect()  # no background retries after a failed first connect
            refusal = self._last_refusal()
            if refusal is not None and is_auth_refusal(refusal):
                raise Unauthorized(refusal) from exc
            raise ServerUnreachable(self.server_url, str(exc) or "refused") from exc

    async def disconnect(self) -> None:
        """Disconnect and stop reconnecting; safe to call twice."""
        await self._sio.disconnect()
        try:
            await self._sio.shutdown()
        except AttributeError:
            # python-socketio: a reconnect task that has not run yet has no abort event; let it
            # start, then stop it.
            await asyncio.sleep(0)
            await self._sio.shutdown()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def invite(self, callee_id: str, request_id: str) -> Call:
        ack = await self._call(
            ClientEvent.INVITE, {"callee_id": callee_id, "request_id": request_id}, CallAck
        )
        return ack.call

    async def accept(self, call_id: str) -> RoomToken:
        return await self._call(ClientEvent.ACCEPT, {"call_id": call_id}, RoomToken)

    async def decline(self, call_id: str) -> None:
        await self._call(ClientEvent.DECLINE, {"call_id": call_id}, EmptyAck)

    async def cancel(self, call_id: str) -> None:
        await self._call(ClientEvent.CANCEL, {"call_id": call_id}, EmptyAck)

    async def hangup(self, call_id: str) -> None:
        await self._call(ClientEvent.HANGUP, {"call_id": call_id}, EmptyAck)

    async def sync(self) -> list[Call]:
        return (await self._call(ClientEvent.SYNC, {}, SyncAck)).calls

    async def watch_presence(self, user_ids: Sequence[str]) -> list[PresenceChanged]:
        """From now on receive ``presence`` for these users (replacing the previous watch of this
        connection; a new connection watches nobody until told); returns their presence now.
        The server ignores ids outside my tenant. At most ``PRESENCE_WATCH_MAX`` ids."""
        payload = {"user_ids": list(user_ids)}
        return (await self._call(ClientEvent.PRESENCE_WATCH, payload, PresenceSnapshot)).presence

    async def renew_token(self, token: str) -> None:
        """This connection goes on with ``token`` (``renew_token``); reconnects use it anyway."""
        await self._call(ClientEvent.RENEW_TOKEN, {"token": token}, EmptyAck)

    # --- internals ---------------------------------------------------------------------------

    def _last_refusal(self) -> str | None:
        # (a method, not the attribute: on_connect_error sets it while connect() awaits)
        return self._refusal

    def auth(self) -> dict[str, str]:
        """What every connect attempt authenticates with (the token is read each time)."""
        auth = {"token": self._token() or ""}
        if self._device_id:
            auth["device_id"] = self._device_id
        return auth

    async def _call(self, event: ClientEvent, payload: dict[str, Any], model: type[M]) -> M:
        return await self._requests.call(event, payload, model)

    def _emit(self, event: SignalEvent) -> None:
        notify([self._listener], event, log=log, what="signaling")

    # --- what python-socketio calls ----------------------------------------------------------

    def on_pushed(self, name: ServerEvent, data: Any) -> None:
        """The server pushed ``name``: its typed payload goes to the listener."""
        parsed = parse_pushed(name, data)
        if parsed is not None:
            self._emit(parsed)  # type: ignore[arg-type]

    def on_connect(self) -> None:
        reconnected = self._connected_once
        self._connected_once = True
        self._spawn(self._sync_after_connect(reconnected))

    def on_disconnect(self, reason: Any = None) -> None:
        self._emit(LinkDown(str(reason or "disconnected")))
        self._requests.link_dropped()
        if reason == socketio.AsyncClient.reason.SERVER_DISCONNECT:
            self._spawn(self._connect_again())

    async def _connect_again(self) -> None:
        """The server closed the link on purpose, and python-socketio does not reconnect then:
        connect again (the token is checked anew), with backoff while nothing answers; a
        refused token ends it (:meth:`on_connect_error` reports it and stops the client)."""
        delay = self._delay_s
        while not self._stopped.is_set():
            # (waiting first lets python-socketio finish closing the old link)
            await self._clock.sleep(delay)
            delay = min(delay * 2, self._delay_max_s)
            if self.connected:  # connected meanwhile (a new connect() of the engine's)
                return
            try:
                await self.connect()
                return
            except Unauthorized:
                return
            except ServerUnreachable as exc:
                log.info("connecting again after the server closed the link: %s", exc)

    def on_connect_error(self, data: Any = None) -> None:
        # The server's own refusal arrives as {"message": ...}; a network failure as a string.
        from_server = isinstance(data, dict)
        message = data.get("message") if isinstance(data, dict) else data
        text = str(message or "refused")
        self._refusal = text
        log.info("signaling connect refused: %s", text)
        if self._connected_once and from_server and is_auth_refusal(text):
            self._spawn(self._stop_reconnecting())
            self._emit(AuthRefused(text))

    async def _stop_reconnecting(self) -> None:
        """The token was refused: retrying it every few seconds until sign-out helps nobody."""
        await self._sio.shutdown()
        self._stopped.set()
        log.info("signaling stopped reconnecting: the server refused the token")

    async def _sync_after_connect(self, reconnected: bool) -> None:
        try:
            calls = await self.sync()
        except (ServerUnreachable, RequestRefused, BadResponse) as exc:
            log.warning("sync after connect failed: %s", exc)
            return
        self._emit(LinkUp(tuple(calls), reconnected))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = [
    "ACK_TIMEOUT_S",
    "AuthRefused",
    "LinkDown",
    "LinkUp",
    "SignalEvent",
    "SignalListener",
    "Signaling",
    "SignalingClient",
]
