"""One participant's signal session: its WebSocket, its peer connections, its room membership.

:class:`ParticipantSession` is what :class:`devsfu.rooms.RoomRegistry` talks to (a
``ParticipantLink``) and what serves the WebSocket once :mod:`devsfu.signal` admitted the join:
the ``JoinResponse`` first (anything the room says before it is held), then each
``SignalRequest`` in turn, through its :class:`devsfu.signal_socket.SignalSocket`. Its peer
connections are :class:`devsfu.peers.TwoPeerConnections` for ``/rtc`` and
:class:`devsfu.single_pc.OnePeerConnection` for ``/rtc/v1``; it fans out the audio the client
publishes (:class:`devsfu.forward.OpusFanout`) and judges the client's connection quality every
two seconds (:mod:`devsfu.quality`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from aiortc import MediaStreamTrack, RTCRtpReceiver
from livekit.protocol import models, rtc

from devsfu.aiortc_hooks import tap_receiver
from devsfu.forward import OpusFanout
from devsfu.join import Admission, join_response
from devsfu.model import Participant, PublishedTrack, Room, RoomError
from devsfu.peers import Forward, PeerConnections, TwoPeerConnections
from devsfu.quality import Counters, judge
from devsfu.rooms import RoomRegistry
from devsfu.signal_socket import SignalSocket
from devsfu.single_pc import OnePeerConnection

log = logging.getLogger(__name__)

QUALITY_INTERVAL_S = 2.0


class ParticipantSession:
    """One client's WebSocket and peer connections (a :class:`devsfu.model.ParticipantLink`)."""

    def __init__(self, rooms: RoomRegistry, admission: Admission) -> None:
        self._rooms = rooms
        self._admission = admission
        self._claims = admission.claims
        self._signal = SignalSocket(self._claims.identity)
        self.room: Room | None = None
        self.participant: Participant | None = None
        arrangement = (
            OnePeerConnection if admission.path.single_peer_connection else TwoPeerConnections
        )
        self._peers: PeerConnections = arrangement(
            self._signal.send, self._on_client_track, self._claims.identity
        )
        self._forwarded: set[str] = set()  # "<participant sid>|<track sid>" sent to this client
        self._fanouts: list[OpusFanout] = []  # what this client publishes
        self._quality: models.ConnectionQuality | None = None
        self._counters: Counters | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def ws(self) -> web.WebSocketResponse:
        """The client's WebSocket (what the signal endpoint answers with)."""
        return self._signal.ws

    # -- lifecycle -------------------------------------------------------------------------

    async def join(self) -> None:
        claims = self._claims
        self.room, self.participant = await self._rooms.join(
            self._admission.room_name,
            identity=claims.identity,
            name=claims.name,
            metadata=claims.metadata,
            attributes=dict(claims.attributes),
            can_publish=claims.video.can_publish,
            can_subscribe=claims.video.can_subscribe,
            hidden=claims.video.hidden,
            link=self,
        )
        log.info("%s joined by %s", claims.identity, self._admission.path.value)

    async def serve(self, request: web.Request) -> None:
        room, me = self.room, self.participant
        assert room is not None
        assert me is not None
        try:
            await self._signal.open(request, join_response(room, me, self._rooms.others(room, me)))
            self._spawn(self._watch_quality())
            if me.can_subscribe:
                for other in self._rooms.others(room, me):
                    for track in list(other.tracks.values()):
                        await self.track_available(other, track)
            await self._follow_join_request()
            await self._signal.receive(self._on_request)
        finally:
            await self._rooms.leave(room, me, models.CLIENT_INITIATED)
            await self.close()

    async def _follow_join_request(self) -> None:
        """What a v1 join request carries besides the join: tracks to announce, a first offer."""
        join_request = self._admission.join_request
        if join_request is None:
            return
        try:
            for add_track in join_request.add_track_requests:
                await self._on_add_track(add_track)
            if join_request.HasField("publisher_offer"):
                await self._peers.on_offer(join_request.publisher_offer)
        except Exception:
            # As for any request: logged, and the session goes on (the client may offer again).
            log.exception("%s: failed to handle the join request's offer", self._who)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._signal.close()
        for fanout in self._fanouts:
            fanout.close()  # the others' legs of this client's tracks end
        await self._peers.close()
        for task in list(self._tasks):
            task.cancel()

    @property
    def _who(self) -> str:
        return self._claims.identity

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        counters, remote_lost = await self._peers.measure()
        expect_media = any(t.receiving and not t.muted for t in me.tracks.values())
        quality = judge(
            self._counters, counters, expect_media=expect_media, remote_fraction_lost=remote_lost
        )
        self._counters = counters
        if quality is not None and quality != self._quality:
            self._quality = quality
            await self._rooms.quality_changed(room, me, quality)

    # -- ParticipantLink -------------------------------------------------------------------

    async def send_connection_quality(self, infos: list[rtc.ConnectionQualityInfo]) -> None:
        await self._signal.send(
            rtc.SignalResponse(connection_quality=rtc.ConnectionQualityUpdate(updates=infos))
        )

    async def send_participant_updates(self, infos: list[models.ParticipantInfo]) -> None:
        await self._signal.send(
            rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=infos))
        )

    async def disconnect(self, reason: models.DisconnectReason) -> None:
        await self._signal.send(
            rtc.SignalResponse(
                leave=rtc.LeaveRequest(
                    can_reconnect=False, reason=reason, action=rtc.LeaveRequest.DISCONNECT
                )
            )
        )
        await self.close()

    async def track_available(self, publisher: Participant, track: PublishedTrack) -> None:
        """Forward ``track``'s packets to this client."""
        media = track.media
        if self._closed or not isinstance(media, OpusFanout):
            return
        key = f"{publisher.sid}|{track.sid}"
        if key in self._forwarded:
            return
        self._forwarded.add(key)
        log.info("%s: forwarding %s of %s", self._who, track.sid, publisher.identity)
        forward = Forward(media.subscribe(), publisher.sid, track.sid)
        me = self.participant
        await self._peers.forward(forward, offer_coming=me.awaiting_media if me else None)

    # -- requests --------------------------------------------------------------------------

    async def _on_request(self, request: rtc.SignalRequest) -> None:
        kind = request.WhichOneof("message")
        room, me = self.room, self.participant
        assert room is not None
        assert me is not None
        if kind == "offer":
            await self._peers.on_offer(request.offer)
        elif kind == "answer":
            await self._peers.on_answer(request.answer)
        elif kind == "trickle":
            await self._peers.on_trickle(request.trickle)
        elif kind == "add_track":
            await self._on_add_track(request.add_track)
        elif kind == "mute":
            await self._rooms.set_muted(room, me, request.mute.sid, request.mute.muted)
        elif kind == "leave":
            log.info("%s: leaves", self._who)
            await self._rooms.leave(room, me, models.CLIENT_INITIATED)
            await self.close()
        elif kind == "ping":
            await self._signal.send(rtc.SignalResponse(pong=request.ping))
        elif kind == "ping_req":
            await self._signal.send(
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
        await self._signal.send(
            rtc.SignalResponse(
                track_published=rtc.TrackPublishedResponse(cid=req.cid, track=track.info())
            )
        )
        if track.media is None:
            # Offered to the others now: their renegotiation runs alongside the publisher's,
            # not after it (docs/benchmarks.md, *Client*); packets flow once the media arrives.
            self._fanout_for(track)
            self._spawn(self._rooms.track_ready(room, me, track.cid))

    def _fanout_for(self, track: PublishedTrack) -> OpusFanout:
        fanout = track.media
        if not isinstance(fanout, OpusFanout):
            fanout = OpusFanout()
            self._fanouts.append(fanout)
            track.media = fanout
        return fanout

    def _on_client_track(self, media: MediaStreamTrack, receiver: RTCRtpReceiver) -> None:
        """The client's media for an announced track arrives: fan its packets out."""
        room, me = self.room, self.participant
        if media.kind != "audio" or room is None or me is None:
            return
        track = next((t for t in me.tracks.values() if t.cid == media.id), None)
        if track is None:
            track = next((t for t in me.tracks.values() if not t.receiving), None)
        if track is None:
            log.warning("%s: media %s matches no announced track", self._who, media.id)
            return
        announced = track.media is not None
        fanout = self._fanout_for(track)
        tap_receiver(receiver, fanout.deliver)  # before any packet: we are in setRemoteDescription
        track.receiving = True
        log.info("%s: media for %s arrived", self._who, track.sid)
        if not announced:
            self._spawn(self._rooms.track_ready(room, me, track.cid))
