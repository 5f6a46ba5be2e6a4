"""LiveKit's signal protocol (v0, two peer connections) on WebSocket ``/rtc``.

What a client sees, in order:

1. ``GET /rtc`` (token in ``Authorization: Bearer`` or ``?access_token=``) is admitted or refused
   with LiveKit's HTTP status before the upgrade: 401 for a bad token or a missing grant, 500
   when the room is full, 404 when it does not exist and rooms are not auto-created.
   ``/rtc/v1`` (single peer connection) answers 404 so the SDK falls back to this protocol;
   ``/rtc/validate`` answers what ``/rtc`` would.
2. ``JoinResponse`` (``subscriber_primary=false``: the client negotiates its publisher
   connection, with its data channels, right away).
3. Publisher offer -> answer; ``AddTrackRequest`` -> ``TrackPublishedResponse``; the Opus
   packets of each published audio track are forwarded as they arrive, undecoded
   (:mod:`devsfu.forward`), into every other participant's subscriber connection, which devsfu
   offers (stream id ``PA_<participant>|TR_<track>``), re-offering when tracks are
   added. ICE candidates are trickled both ways (host candidates only).
4. ``ParticipantUpdate`` on joins, leaves, publications and mutes; ``ConnectionQualityUpdate``
   when a participant's measured quality changes (:mod:`devsfu.quality`); ``ping``/``pong`` and
   ``ping_req``/``pong_resp``; ``LeaveRequest`` both ways.

Not supported (see ``docs/devsfu.md``): resuming a session (``reconnect=1`` is refused, the SDK
then joins afresh), video, simulcast, data packets between participants.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Coroutine
from typing import Any

from aiohttp import WSMsgType, web
from aiortc import (
    MediaStreamTrack,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats
from livekit.protocol import models, rtc

from devsfu.aiortc_hooks import label_sender, require_aiortc_internals, tap_receiver
from devsfu.auth import Claims, TokenAuthority, TokenError, require_join
from devsfu.forward import ForwardedTrack, OpusFanout
from devsfu.media import local_candidates, new_peer_connection, parse_candidate_init
from devsfu.model import Participant, PublishedTrack, Room, RoomError
from devsfu.quality import Counters, judge
from devsfu.rooms import RoomRegistry

log = logging.getLogger(__name__)

PING_INTERVAL_S = 5
QUALITY_INTERVAL_S = 2.0
PING_TIMEOUT_S = 15
SERVER_VERSION = "1.9.0"
PROTOCOL_VERSION = 16
_PUBLISHER = rtc.SignalTarget.PUBLISHER
_SUBSCRIBER = rtc.SignalTarget.SUBSCRIBER


def _token_of(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :]
    return request.query.get("access_token", "")


def _http_error(status: int, message: str) -> web.HTTPException:
    return _STATUS.get(status, web.HTTPInternalServerError)(text=message)


_STATUS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    500: web.HTTPInternalServerError,
}


class SignalService:
    """The ``/rtc`` endpoints and every live participant session."""

    def __init__(self, rooms: RoomRegistry, authority: TokenAuthority) -> None:
        self.rooms = rooms
        self._authority = authority
        require_aiortc_internals()
        self._sessions: set[ParticipantSession] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/rtc", self._rtc)
        app.router.add_get("/rtc/validate", self._validate)
        app.router.add_route("*", "/rtc/v1", self._no_single_peer_connection)
        app.router.add_route("*", "/rtc/v1/{tail:.*}", self._no_single_peer_connection)

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.close()

    async def _no_single_peer_connection(self, request: web.Request) -> web.Response:
        # The SDK tries the single-peer-connection path first and falls back on 404.
        return web.Response(status=404, text="single peer connection is not supported")

    def _admit(self, request: web.Request) -> tuple[Claims, str]:
        """Check the token and the room as LiveKit does; raise the HTTP refusal otherwise."""
        try:
            claims = self._authority.verify(_token_of(request))
            room_name = require_join(claims)
        except TokenError as exc:
            raise _http_error(exc.status, exc.message) from exc
        try:
            self.rooms.admit(room_name, claims.identity)
        except RoomError as exc:
            raise _http_error(exc.status, exc.message) from exc
        return claims, room_name

    async def _validate(self, request: web.Request) -> web.Response:
        self._admit(request)
        return web.Response(text="success")

    async def _rtc(self, request: web.Request) -> web.StreamResponse:
        claims, room_name = self._admit(request)
        if request.query.get("reconnect") in ("1", "true"):
            # No session survives its WebSocket here: make the SDK rejoin from scratch.
            raise web.HTTPNotFound(text="devsfu cannot resume a session; join again")
        session = ParticipantSession(self, claims)
        try:
            await session.join(room_name)
        except RoomError as exc:
            raise _http_error(exc.status, exc.message) from exc
        self._sessions.add(session)
        try:
            await session.serve(request)
        finally:
            self._sessions.discard(session)
        return session.ws


class ParticipantSession:
    """One client's WebSocket, publisher and subscriber connections (a ``ParticipantLink``)."""

    def __init__(self, service: SignalService, claims: Claims) -> None:
        self._service = service
        self._rooms = service.rooms
        self._claims = claims
        self.ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        self.room: Room | None = None
        self.participant: Participant | None = None
        self._ready = False
        self._outbox: list[rtc.SignalResponse] = []
        self._publisher: RTCPeerConnection | None = None
        self._subscriber: RTCPeerConnection | None = None
        self._pending_candidates: dict[int, list[RTCIceCandidate]] = {
            _PUBLISHER: [],
            _SUBSCRIBER: [],
        }
        self._sub_lock = asyncio.Lock()
        self._sub_awaiting_answer = False
        self._sub_renegotiate = False
        self._forwarded: set[str] = set()
        self._legs: list[ForwardedTrack] = []  # what this client's subscriber connection sends
        self._fanouts: list[OpusFanout] = []  # what this client publishes
        self._offer_ids = itertools.count(1)
        self._quality: models.ConnectionQuality | None = None
        self._counters: Counters | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    async def join(self, room_name: str) -> None:
        claims = self._claims
        self.room, self.participant = await self._rooms.join(
            room_name,
            identity=claims.identity,
            name=claims.name,
            metadata=claims.metadata,
            attributes=dict(claims.attributes),
            can_publish=claims.video.can_publish,
            can_subscribe=claims.video.can_subscribe,
            hidden=claims.video.hidden,
            link=self,
        )

    async def serve(self, request: web.Request) -> None:
        room, me = self.room, self.participant
        assert room is not None
        assert me is not None
        try:
            await self.ws.prepare(request)
            await self._send_now(self._join_response(room, me))
            self._ready = True
            for queued in self._outbox:
                await self._send_now(queued)
            self._outbox.clear()
            self._spawn(self._watch_quality())
            if me.can_subscribe:
                for other in self._rooms.others(room, me):
                    for track in list(other.tracks.values()):
                        await self.track_available(other, track)
            await self._receive_loop()
        finally:
            await self._rooms.leave(room, me, models.CLIENT_INITIATED)
            await self.close()

    def _join_response(self, room: Room, me: Participant) -> rtc.SignalResponse:
        return rtc.SignalResponse(
            join=rtc.JoinResponse(
                room=room.info(),
                participant=me.info(),
                other_participants=[p.info() for p in self._rooms.others(room, me)],
                server_version=SERVER_VERSION,
                server_info=models.ServerInfo(
                    edition=models.ServerInfo.Standard,
                    version=SERVER_VERSION,
                    protocol=PROTOCOL_VERSION,
                    node_id="devsfu",
                ),
                ice_servers=[],
                subscriber_primary=False,
                ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S,
                enabled_publish_codecs=[models.Codec(mime="audio/opus")],
                fast_publish=False,
            )
        )

    async def _receive_loop(self) -> None:
        while not self._closed:
            try:
                msg = await self.ws.receive(timeout=PING_TIMEOUT_S)
            except TimeoutError:
                log.info("%s: no message for %d s, dropping", self._who, PING_TIMEOUT_S)
                return
            if msg.type == WSMsgType.BINARY:
                try:
                    request = rtc.SignalRequest.FromString(msg.data)
                except Exception:
                    log.warning("%s: undecodable signal request", self._who)
                    continue
                try:
                    await self._on_request(request)
                except Exception:
                    log.exception(
                        "%s: failed to handle %s", self._who, request.WhichOneof("message")
                    )
            elif msg.type == WSMsgType.TEXT:
                log.warning("%s: JSON signalling is not supported; ignored", self._who)
            else:
                return

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.ws.close()
        for leg in self._legs:
            leg.stop()
        for fanout in self._fanouts:
            fanout.close()  # the others' legs of this client's tracks end
        for pc in (self._publisher, self._subscriber):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()
        for task in list(self._tasks):
            task.cancel()

    @property
    def _who(self) -> str:
        return self._claims.identity

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, response: rtc.SignalResponse) -> None:
        if self._closed:
            return
        if not self._ready:
            self._outbox.append(response)
            return
        await self._send_now(response)

    async def _send_now(self, response: rtc.SignalResponse) -> None:
        try:
            await self.ws.send_bytes(response.SerializeToString())
        except (ConnectionError, RuntimeError) as exc:
            log.debug("%s: send failed: %s", self._who, exc)

    async def _trickle(self, pc: RTCPeerConnection, target: rtc.SignalTarget) -> None:
        for candidate in local_candidates(pc.localDescription.sdp):
            await self._send(
                rtc.SignalResponse(
                    trickle=rtc.TrickleRequest(candidateInit=candidate.to_init(), target=target)
                )
            )

    # -- connection quality ----------------------------------------------------------------

    async def _watch_quality(self) -> None:
        while not self._closed:
            await asyncio.sleep(QUALITY_INTERVAL_S)
            try:
                await self._judge_quality()
            except Exception:
                log.exception("%s: could not judge connection quality", self._who)

    async def _judge_quality(self) -> None:
        room, me = self.room, self.participant
        if room is None or me is None:
            return
        counters: Counters | None = None
        if self._publisher is not None:
            inbound = [
                s
                for s in (await self._publisher.getStats()).values()
                if isinstance(s, RTCInboundRtpStreamStats) and s.kind == "audio"
            ]
            if inbound:
                counters = Counters(
                    received=sum(s.packetsReceived for s in inbound),
                    lost=sum(s.packetsLost for s in inbound),
                )
        remote_lost: float | None = None
        if self._subscriber is not None:
            reports = [
                s.fractionLost / 256  # RTCP's 8-bit fixed point
                for s in (await self._subscriber.getStats()).values()
                if isinstance(s, RTCRemoteInboundRtpStreamStats)
            ]
            remote_lost = max(reports) if reports else None
        expect_media = any(t.media is not None and not t.muted for t in me.tracks.values())
        quality = judge(
            self._counters, counters, expect_media=expect_media, remote_fraction_lost=remote_lost
        )
        self._counters = counters
        if quality is not None and quality != self._quality:
            self._quality = quality
            await self._rooms.quality_changed(room, me, quality)

    # -- ParticipantLink -------------------------------------------------------------------

    async def send_connection_quality(self, infos: list[rtc.ConnectionQualityInfo]) -> None:
        await self._send(
            rtc.SignalResponse(connection_quality=rtc.ConnectionQualityUpdate(updates=infos))
        )

    async def send_participant_updates(self, infos: list[models.ParticipantInfo]) -> None:
        await self._send(rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=infos)))

    async def disconnect(self, reason: models.DisconnectReason) -> None:
        await self._send(
            rtc.SignalResponse(
                leave=rtc.LeaveRequest(
                    can_reconnect=False, reason=reason, action=rtc.LeaveRequest.DISCONNECT
                )
            )
        )
        await self.close()

    async def track_available(self, publisher: Participant, track: PublishedTrack) -> None:
        """Forward ``track``'s packets into this client's subscriber connection."""
        media = track.media
        if self._closed or not isinstance(media, OpusFanout):
            return
        key = f"{publisher.sid}|{track.sid}"
        if key in self._forwarded:
            return
        self._forwarded.add(key)
        if self._subscriber is None:
            self._subscriber = new_peer_connection()
        leg = media.subscribe()
        self._legs = [old for old in self._legs if old.readyState == "live"] + [leg]
        transceiver = self._subscriber.addTransceiver(leg, direction="sendonly")
        label_sender(transceiver.sender, publisher.sid, track.sid)
        log.info("%s: forwarding %s of %s", self._who, track.sid, publisher.identity)
        await self._offer_subscriber()

    # -- requests --------------------------------------------------------------------------

    async def _on_request(self, request: rtc.SignalRequest) -> None:
        kind = request.WhichOneof("message")
        room, me = self.room, self.participant
        assert room is not None
        assert me is not None
        if kind == "offer":
            await self._on_publisher_offer(request.offer)
        elif kind == "answer":
            await self._on_subscriber_answer(request.answer)
        elif kind == "trickle":
            await self._on_trickle(request.trickle)
        elif kind == "add_track":
            await self._on_add_track(request.add_track)
        elif kind == "mute":
            await self._rooms.set_muted(room, me, request.mute.sid, request.mute.muted)
        elif kind == "leave":
            log.info("%s: leaves", self._who)
            await self._rooms.leave(room, me, models.CLIENT_INITIATED)
            await self.close()
        elif kind == "ping":
            await self._send(rtc.SignalResponse(pong=request.ping))
        elif kind == "ping_req":
            await self._send(
                rtc.SignalResponse(
                    pong_resp=rtc.Pong(
                        last_ping_timestamp=request.ping_req.timestamp,
                        timestamp=int(time.time() * 1000),
                    )
                )
            )
        else:
            log.debug("%s: ignoring %s", self._who, kind)

    async def _on_add_track(self, req: rtc.AddTrackRequest) -> None:
        room, me = self.room, self.participant
        assert room is not None
        assert me is not None
        try:
            track = await self._rooms.publish(room, me, req)
        except RoomError as exc:
            log.warning("%s: track %s refused: %s", self._who, req.cid, exc.message)
            return
        await self._send(
            rtc.SignalResponse(
                track_published=rtc.TrackPublishedResponse(cid=req.cid, track=track.info())
            )
        )

    async def _on_publisher_offer(self, offer: rtc.SessionDescription) -> None:
        if self._publisher is None:
            self._publisher = new_peer_connection()
            self._publisher.on("track", self._on_publisher_track)
        pc = self._publisher
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        await self._flush_candidates(_PUBLISHER)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        await self._send(
            rtc.SignalResponse(
                answer=rtc.SessionDescription(
                    type="answer", sdp=pc.localDescription.sdp, id=offer.id
                )
            )
        )
        await self._trickle(pc, _PUBLISHER)

    def _on_publisher_track(self, media: MediaStreamTrack) -> None:
        room, me = self.room, self.participant
        if media.kind != "audio" or room is None or me is None:
            return
        track = next((t for t in me.tracks.values() if t.cid == media.id), None)
        if track is None:
            track = next((t for t in me.tracks.values() if t.media is None), None)
        if track is None:
            log.warning("%s: media %s matches no announced track", self._who, media.id)
            return
        receiver = next(
            (t.receiver for t in self._publisher_transceivers() if t.receiver.track is media), None
        )
        if receiver is None:
            log.warning("%s: media %s has no receiver", self._who, media.id)
            return
        fanout = OpusFanout()
        tap_receiver(receiver, fanout.deliver)  # before any packet: we are in setRemoteDescription
        self._fanouts.append(fanout)
        track.media = fanout
        log.info("%s: media for %s arrived", self._who, track.sid)
        self._spawn(self._rooms.media_arrived(room, me, track.cid))

    def _publisher_transceivers(self) -> list[RTCRtpTransceiver]:
        return self._publisher.getTransceivers() if self._publisher is not None else []

    async def _offer_subscriber(self) -> None:
        async with self._sub_lock:
            pc = self._subscriber
            if pc is None or self._closed:
                return
            if self._sub_awaiting_answer:
                self._sub_renegotiate = True
                return
            self._sub_awaiting_answer = True
            offer = await pc.createOffer()
            await pc.setLocalDescription(offer)
            await self._send(
                rtc.SignalResponse(
                    offer=rtc.SessionDescription(
                        type="offer", sdp=pc.localDescription.sdp, id=next(self._offer_ids)
                    )
                )
            )
            await self._trickle(pc, _SUBSCRIBER)

    async def _on_subscriber_answer(self, answer: rtc.SessionDescription) -> None:
        pc = self._subscriber
        if pc is None:
            return
        async with self._sub_lock:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
            self._sub_awaiting_answer = False
            again, self._sub_renegotiate = self._sub_renegotiate, False
        await self._flush_candidates(_SUBSCRIBER)
        if again:
            await self._offer_subscriber()

    async def _on_trickle(self, trickle: rtc.TrickleRequest) -> None:
        target = trickle.target
        pc = self._publisher if target == _PUBLISHER else self._subscriber
        candidate = parse_candidate_init(trickle.candidateInit)
        if candidate is None:
            return
        if pc is None or pc.remoteDescription is None:
            self._pending_candidates[target].append(candidate)
            return
        await pc.addIceCandidate(candidate)

    async def _flush_candidates(self, target: int) -> None:
        pc = self._publisher if target == _PUBLISHER else self._subscriber
        pending, self._pending_candidates[target] = self._pending_candidates[target], []
        if pc is None:
            return
        for candidate in pending:
            await pc.addIceCandidate(candidate)
