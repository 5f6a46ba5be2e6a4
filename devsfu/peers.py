"""The peer connections behind one participant's signal session, whichever LiveKit arrangement.

:class:`PeerConnections` is what the signal session uses: answer the client's offers and
trickled candidates, forward a track to the client, measure the audio both ways, close.
Two arrangements implement it:

- :class:`TwoPeerConnections` (``/rtc``, v0): the client's *publisher* connection carries what it
  sends (the client offers, devsfu answers); devsfu's *subscriber* connection carries what it
  receives (devsfu offers, again whenever a track is added).
- :class:`devsfu.single_pc.OnePeerConnection` (``/rtc/v1``): one connection for both directions,
  always offered by the client.

Both trickle devsfu's host candidates once per connection, keep the client's candidates until
the matching description is set, and hand each track the client publishes to ``on_track``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import (
    MediaStreamTrack,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats
from livekit.protocol import rtc

from devsfu.aiortc_hooks import label_sender
from devsfu.forward import ForwardedTrack
from devsfu.media import local_candidates, new_peer_connection, parse_candidate_init
from devsfu.quality import Counters

log = logging.getLogger(__name__)

PUBLISHER = rtc.SignalTarget.PUBLISHER
SUBSCRIBER = rtc.SignalTarget.SUBSCRIBER

SendSignal = Callable[[rtc.SignalResponse], Awaitable[None]]
OnTrack = Callable[[MediaStreamTrack, RTCRtpReceiver], None]
OfferComing = Callable[[], bool] | None


@dataclass(frozen=True)
class Forward:
    """One track to forward to this client: the leg and whose track it is."""

    leg: ForwardedTrack
    participant_sid: str
    track_sid: str


class PeerConnections(ABC):
    """What a signal session needs from its peer connection(s), whichever the arrangement."""

    def __init__(self, send: SendSignal, on_track: OnTrack, who: str) -> None:
        self._send = send
        self._on_track = on_track
        self._who = who
        self._publisher: RTCPeerConnection | None = None
        self._pending: dict[int, list[RTCIceCandidate]] = {PUBLISHER: [], SUBSCRIBER: []}
        self._trickled: set[int] = set()
        self._legs: list[ForwardedTrack] = []

    def _target(self, named: int) -> int:
        """The connection a trickle's ``target`` means (:data:`PUBLISHER` or :data:`SUBSCRIBER`)."""
        return PUBLISHER if named == PUBLISHER else SUBSCRIBER

    def _connection(self, target: int) -> RTCPeerConnection | None:
        return self._publisher if target == PUBLISHER else self._sending

    @property
    @abstractmethod
    def _sending(self) -> RTCPeerConnection | None:
        """The connection that carries forwarded tracks to the client."""

    @abstractmethod
    async def on_offer(self, offer: rtc.SessionDescription) -> None:
        """The client's offer for the connection that carries what it publishes."""

    @abstractmethod
    async def forward(self, forward: Forward, *, offer_coming: OfferComing = None) -> None:
        """Start sending ``forward``'s track to the client; ``offer_coming`` tells whether the
        client is about to offer anyway (it announced a track whose media has not arrived)."""

    async def on_answer(self, answer: rtc.SessionDescription) -> None:
        log.debug("%s: answer without an offer of devsfu's; ignored", self._who)

    async def on_trickle(self, trickle: rtc.TrickleRequest) -> None:
        candidate = parse_candidate_init(trickle.candidateInit)
        if candidate is None:
            return
        target = self._target(trickle.target)
        pc = self._connection(target)
        if pc is None or pc.remoteDescription is None:
            self._pending[target].append(candidate)
            return
        await pc.addIceCandidate(candidate)

    async def measure(self) -> tuple[Counters | None, float | None]:
        """Audio received from the client (packets, lost) and the worst loss it reports back."""
        counters: Counters | None = None
        stats = {id(pc): (await pc.getStats()).values() for pc in self._connections()}
        if self._publisher is not None:
            inbound = [
                s
                for s in stats[id(self._publisher)]
                if isinstance(s, RTCInboundRtpStreamStats) and s.kind == "audio"
            ]
            if inbound:
                counters = Counters(
                    received=sum(s.packetsReceived for s in inbound),
                    lost=sum(s.packetsLost for s in inbound),
                )
        remote_lost: float | None = None
        if self._sending is not None:
            reports = [
                s.fractionLost / 256  # RTCP's 8-bit fixed point
                for s in stats[id(self._sending)]
                if isinstance(s, RTCRemoteInboundRtpStreamStats)
            ]
            remote_lost = max(reports) if reports else None
        return counters, remote_lost

    async def close(self) -> None:
        for leg in self._legs:
            leg.stop()
        for pc in self._connections():
            with contextlib.suppress(Exception):
                await pc.close()

    def _connections(self) -> list[RTCPeerConnection]:
        both = (self._publisher, self._sending)
        return [pc for i, pc in enumerate(both) if pc is not None and pc not in both[:i]]

    # -- shared mechanics ------------------------------------------------------------------

    def _keep(self, leg: ForwardedTrack) -> None:
        self._legs = [old for old in self._legs if old.readyState == "live"] + [leg]

    def _new_receiving_connection(self) -> RTCPeerConnection:
        """A connection whose client-published tracks go to ``on_track``."""
        pc = new_peer_connection()

        def on_track(media: MediaStreamTrack) -> None:
            transceivers = pc.getTransceivers()
            receiver = next((t.receiver for t in transceivers if t.receiver.track is media), None)
            if receiver is None:
                log.warning("%s: media %s has no receiver", self._who, media.id)
                return
            self._on_track(media, receiver)

        pc.on("track", on_track)
        return pc

    async def _set_remote(self, pc: RTCPeerConnection, sdp: str, kind: str, target: int) -> None:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        pending, self._pending[target] = self._pending[target], []
        for candidate in pending:
            await pc.addIceCandidate(candidate)

    async def _answer(
        self, pc: RTCPeerConnection, offer_id: int, mid_to_track_id: dict[str, str]
    ) -> None:
        await pc.setLocalDescription(await pc.createAnswer())
        await self._send(
            rtc.SignalResponse(
                answer=rtc.SessionDescription(
                    type="answer",
                    sdp=pc.localDescription.sdp,
                    id=offer_id,
                    mid_to_track_id=mid_to_track_id,
                )
            )
        )
        await self._trickle(pc, PUBLISHER)

    async def _trickle(self, pc: RTCPeerConnection, target: rtc.SignalTarget) -> None:
        # One ICE agent per connection (everything is bundled): its candidates never change.
        if id(pc) in self._trickled:
            return
        self._trickled.add(id(pc))
        for candidate in local_candidates(pc.localDescription.sdp):
            await self._send(
                rtc.SignalResponse(
                    trickle=rtc.TrickleRequest(candidateInit=candidate.to_init(), target=target)
                )
            )


class TwoPeerConnections(PeerConnections):
    """v0: the client's publisher connection and devsfu's subscriber connection."""

    def __init__(self, send: SendSignal, on_track: OnTrack, who: str) -> None:
        super().__init__(send, on_track, who)
        self._subscriber: RTCPeerConnection | None = None
        self._lock = asyncio.Lock()
        self._awaiting_answer = False
        self._offer_again = False
        self._offer_ids = itertools.count(1)

    @property
    def _sending(self) -> RTCPeerConnection | None:
        return self._subscriber

    async def on_offer(self, offer: rtc.SessionDescription) -> None:
        if self._publisher is None:
            self._publisher = self._new_receiving_connection()
        await self._set_remote(self._publisher, offer.sdp, "offer", PUBLISHER)
        await self._answer(self._publisher, offer.id, {})

    async def forward(self, forward: Forward, *, offer_coming: OfferComing = None) -> None:
        if self._subscriber is None:
            self._subscriber = new_peer_connection()
        self._keep(forward.leg)
        transceiver = self._subscriber.addTransceiver(forward.leg, direction="sendonly")
        label_sender(transceiver.sender, forward.participant_sid, forward.track_sid)
        await self._offer()

    async def on_answer(self, answer: rtc.SessionDescription) -> None:
        pc = self._subscriber
        if pc is None:
            return
        async with self._lock:
            await self._set_remote(pc, answer.sdp, "answer", SUBSCRIBER)
            self._awaiting_answer = False
            again, self._offer_again = self._offer_again, False
        if again:
            await self._offer()

    async def _offer(self) -> None:
        async with self._lock:
            pc = self._subscriber
            if pc is None:
                return
            if self._awaiting_answer:
                self._offer_again = True
                return
            self._awaiting_answer = True
            await pc.setLocalDescription(await pc.createOffer())
            await self._send(
                rtc.SignalResponse(
                    offer=rtc.SessionDescription(
                        type="offer", sdp=pc.localDescription.sdp, id=next(self._offer_ids)
                    )
                )
            )
            await self._trickle(pc, SUBSCRIBER)
