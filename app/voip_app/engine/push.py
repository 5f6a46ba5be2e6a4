"""Push in the engine: registering this device's push token for the session, and answering a
call from the incoming-call notification.

:class:`PushLink` registers the token after sign-in (and after a resume) and again whenever it
rotates, and removes the registration at sign-out. A device without a source (desktop, web) or
without a device id registers nothing. Push trouble never fails a sign-in: it is logged
(``push_registration_failed``) and the device still rings while the app holds its connection.

:class:`NotificationAnswer` is the notification's Accept: the app was opened (perhaps started)
for a call; once signaling has connected and the call shows as ringing here (the server rings a
socket that connects while a call rings for it, and ``sync`` lists it), it is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from voip_app.call.machine import IllegalTrigger
from voip_app.engine.events import PushRegisteredEvent, PushRegistrationFailedEvent
from voip_app.engine.shared import Shared
from voip_app.engine.snapshot import EngineSnapshot, log
from voip_app.errors import VoipError
from voip_app.push import PushSource

ANSWER_WAIT = timedelta(seconds=60)
"""How long an Accept from the notification waits for its call to show up ringing here."""


class PushLink:
    """This device's push registration, for as long as the session lasts."""

    def __init__(self, shared: Shared, source: PushSource | None) -> None:
        self._shared, self._source = shared, source
        self._registered = False

    async def signed_in(self, server_url: str) -> None:
        """Register this device's token (run in the background after sign-in)."""
        source, device_id = self._source, self._shared.device_id
        if source is None or device_id is None:
            return
        source.set_token_listener(self._rotated)
        try:
            token = await source.start(server_url)
        except Exception as exc:  # the platform's trouble: the device rings while connected
            log.exception("push not available")
            self._shared.out.log(PushRegistrationFailedEvent(error=str(exc)))
            return
        if token:
            await self._register(token)

    def _rotated(self, token: str) -> None:
        self._shared.tasks.session.spawn(self._register(token))

    async def _register(self, token: str) -> None:
        api, device_id = self._shared.session.api, self._shared.device_id
        if api is None or device_id is None:
            return
        try:
            await api.register_push(device_id, token)
        except VoipError as exc:
            self._shared.out.log(PushRegistrationFailedEvent(error=str(exc)))
            return
        self._registered = True
        self._shared.out.log(PushRegisteredEvent(device_id=device_id))

    async def signing_out(self) -> None:
        """Before the session goes: no more pushes to this device for this user."""
        source, device_id = self._source, self._shared.device_id
        if source is None or device_id is None:
            return
        source.set_token_listener(None)
        api = self._shared.session.api
        if api is not None and self._registered:
            try:
                await api.unregister_push(device_id)
            except VoipError as exc:  # the server forgets it with the next token's owner
                log.info("push registration not removed: %s", exc)
        self._registered = False
        await source.stop()


class NotificationAnswer:
    """Accept a call the person accepted on its notification, once it rings here."""

    def __init__(self, shared: Shared, accept: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._shared, self._accept = shared, accept
        self._wanted: tuple[str, datetime] | None = None
        shared.out.subscribe(self._look)

    def want(self, call_id: str) -> None:
        """The notification of ``call_id`` was accepted: answer it when it rings here."""
        self._wanted = (call_id, self._shared.clock.now() + ANSWER_WAIT)
        self._look(self._shared.out.snapshot)

    def _look(self, snapshot: EngineSnapshot) -> None:
        if self._wanted is None:
            return
        call_id, until = self._wanted
        if self._shared.clock.now() >= until:
            self._wanted = None
            return
        call = snapshot.call
        if call is not None and call.id == call_id and call.phase == "incoming":
            self._wanted = None
            self._shared.tasks.session.spawn(self._answer())

    async def _answer(self) -> None:
        try:
            await self._accept()
        except IllegalTrigger:  # it stopped ringing (or was answered) meanwhile
            return
