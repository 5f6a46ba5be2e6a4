"""LiveKit's signal protocol on WebSocket ``/rtc`` (v0) and ``/rtc/v1`` (one peer connection).

What a client sees, in order:

1. ``GET /rtc`` or ``GET /rtc/v1?join_request=…`` is admitted or refused with livekit-server's
   HTTP status before the upgrade (:mod:`devsfu.join`); ``/rtc/validate`` and
   ``/rtc/v1/validate`` answer what the join would. Every answer carries CORS headers
   (:mod:`devsfu.cors`), so a browser SDK can read a refusal.
2. ``JoinResponse`` (``subscriber_primary=false``, protocol 17). On ``/rtc/v1`` the offer inside
   the join request, if any, is answered right after it, and the tracks it announces are
   published.
3. Offers, answers and trickled candidates go to the participant's peer connections
   (:mod:`devsfu.peers`: two on ``/rtc``, one on ``/rtc/v1``); ``AddTrackRequest`` ->
   ``TrackPublishedResponse``; the Opus packets of each published audio track are forwarded as
   they arrive, undecoded (:mod:`devsfu.forward`), to every other participant.
4. ``ParticipantUpdate`` on joins, leaves, publications and mutes; ``ConnectionQualityUpdate``
   when a participant's measured quality changes (:mod:`devsfu.quality`); ``ping``/``pong`` and
   ``ping_req``/``pong_resp``; ``LeaveRequest`` both ways.

Not supported (see ``docs/devsfu.md``): resuming a session (refused: the SDK then joins afresh),
video, simulcast, data packets between participants.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from devsfu.aiortc_hooks import require_aiortc_internals
from devsfu.auth import TokenAuthority
from devsfu.join import Gate, JoinRefused, SignalPath
from devsfu.model import RoomError
from devsfu.rooms import RoomRegistry
from devsfu.session import ParticipantSession

log = logging.getLogger(__name__)


class SignalService:
    """The signal endpoints and every live participant session."""

    def __init__(self, rooms: RoomRegistry, authority: TokenAuthority) -> None:
        self.rooms = rooms
        self._gate = Gate(authority, rooms)
        require_aiortc_internals()
        self._sessions: set[ParticipantSession] = set()

    def add_routes(self, app: web.Application) -> None:
        for path in SignalPath:
            app.router.add_get(path.value, self._join_handler(path))
            app.router.add_get(path.value + "/validate", self._validate_handler(path))

    def _join_handler(self, path: SignalPath) -> Handler:
        async def join(request: web.Request) -> web.StreamResponse:
            return await self._join(request, path)

        return join

    def _validate_handler(self, path: SignalPath) -> Handler:
        async def validate(request: web.Request) -> web.StreamResponse:
            return await self._gate.validate(request, path)

        return validate

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.close()

    async def _join(self, request: web.Request, path: SignalPath) -> web.StreamResponse:
        if request.headers.get(hdrs.UPGRADE, "").lower() != "websocket":
            raise web.HTTPNotFound()  # as livekit-server: only WebSocket upgrades, before checks
        try:
            admission = self._gate.admit(request, path)
        except JoinRefused as exc:
            raise exc.response() from exc
        if admission.reconnect:
            # No session survives its WebSocket here: make the SDK rejoin from scratch.
            raise web.HTTPNotFound(text="devsfu cannot resume a session; join again")
        session = ParticipantSession(self.rooms, admission)
        try:
            await session.join()
        except RoomError as exc:
            raise JoinRefused(exc.status, exc.message).response() from exc
        self._sessions.add(session)
        try:
            await session.serve(request)
        finally:
            self._sessions.discard(session)
        return session.ws
