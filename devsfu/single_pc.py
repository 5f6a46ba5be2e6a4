"""``/rtc/v1``'s one peer connection, carrying both directions, always offered by the client.

The client's first offer (often inside its join request) already holds its data channels and
three ``recvonly`` audio sections (and three video ones, left inactive here). To forward a track,
devsfu puts it on a free audio section that the client can receive on, and asks the client to
offer again with a ``MediaSectionsRequirement``: for zero new sections when one was free, for as
many as are missing otherwise (livekit-server does the same). The answer carries the track
(``a=msid:PA_…|TR_… TR_…``) and maps every section that carries one to its track sid
(``mid_to_track_id``, which both SDKs read). A section that carried a track is never reused: a
new track gets a new section. devsfu never offers on this connection; clients ignore such offers.

A client that has just announced a track of its own is about to offer (the SDKs negotiate as soon
as ``TrackPublishedResponse`` arrives): a track forwarded to it then waits for that offer instead
of asking for one, which would cost the client (and devsfu) a second offer and answer in the
middle of its join. Should that offer not come within :data:`OFFER_GRACE_S`, devsfu asks.
"""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCPeerConnection, RTCRtpTransceiver
from aiortc.sdp import SessionDescription as ParsedSdp
from livekit.protocol import rtc

from devsfu.aiortc_hooks import label_sender
from devsfu.peers import (
    PUBLISHER,
    Forward,
    OfferComing,
    OnTrack,
    PeerConnections,
    SendSignal,
)

log = logging.getLogger(__name__)

OFFER_GRACE_S = 0.5


class OnePeerConnection(PeerConnections):
    """v1: one connection, offered by the client, carrying both directions."""

    def __init__(
        self, send: SendSignal, on_track: OnTrack, who: str, *, offer_grace_s: float = OFFER_GRACE_S
    ) -> None:
        super().__init__(send, on_track, who)
        self._offer_grace_s = offer_grace_s
        self._lock = asyncio.Lock()
        self._waiting: list[Forward] = []  # tracks with no section to travel in yet
        self._requested = 0  # sections asked for that have not been offered yet
        self._used: set[str] = set()  # mids that carry (or carried) a track: never reused
        self._mid_to_track_id: dict[str, str] = {}
        self._nudge: asyncio.Task[None] | None = None  # asks for an offer that did not come

    def _target(self, named: int) -> int:
        return PUBLISHER  # whatever a client names, there is one connection

    @property
    def _sending(self) -> RTCPeerConnection | None:
        return self._publisher

    async def on_offer(self, offer: rtc.SessionDescription) -> None:
        async with self._lock:
            if self._publisher is None:
                self._publisher = self._new_receiving_connection()
            pc = self._publisher
            await self._set_remote(pc, offer.sdp, "offer", PUBLISHER)
            placed = self._place_waiting(pc)
            self._requested = max(0, self._requested - placed)
            await self._answer(pc, offer.id, dict(self._mid_to_track_id))
            await self._request_missing_sections()

    async def forward(self, forward: Forward, *, offer_coming: OfferComing = None) -> None:
        async with self._lock:
            self._keep(forward.leg)
            self._waiting.append(forward)
            pc = self._publisher
            if pc is None or pc.remoteDescription is None:
                return  # the client's first offer brings the sections
            coming = offer_coming is not None and offer_coming()
            if coming and len(self._free_sections(pc)) >= len(self._waiting):
                self._nudge_later()  # its next offer places the track
                return
            await self._place_and_ask(pc)

    async def _place_and_ask(self, pc: RTCPeerConnection) -> None:
        if self._place_waiting(pc):
            await self._request_sections(0)  # nothing to add: just offer again
        await self._request_missing_sections()

    def _nudge_later(self) -> None:
        if self._nudge is None or self._nudge.done():
            self._nudge = asyncio.get_running_loop().create_task(self._ask_if_still_waiting())

    async def _ask_if_still_waiting(self) -> None:
        await asyncio.sleep(self._offer_grace_s)
        async with self._lock:
            pc = self._publisher
            if self._waiting and pc is not None and pc.remoteDescription is not None:
                log.info("%s: no offer came; asks for one", self._who)
                await self._place_and_ask(pc)

    async def close(self) -> None:
        if self._nudge is not None:
            self._nudge.cancel()
        await super().close()

    def _place_waiting(self, pc: RTCPeerConnection) -> int:
        """Put waiting tracks on the client's free receive sections; return how many."""
        free = iter(self._free_sections(pc))
        placed = 0
        while self._waiting:
            transceiver = next(free, None)
            if transceiver is None or transceiver.mid is None:
                break
            forward = self._waiting.pop(0)
            transceiver.sender.replaceTrack(forward.leg)
            label_sender(transceiver.sender, forward.participant_sid, forward.track_sid)
            transceiver.direction = "sendonly"
            self._used.add(transceiver.mid)
            self._mid_to_track_id[transceiver.mid] = forward.track_sid
            placed += 1
            log.info("%s: %s travels in section %s", self._who, forward.track_sid, transceiver.mid)
        return placed

    def _free_sections(self, pc: RTCPeerConnection) -> list[RTCRtpTransceiver]:
        receiving = _receiving_audio_mids(pc.remoteDescription.sdp)
        return [
            t
            for t in pc.getTransceivers()
            if t.kind == "audio" and t.mid in receiving and t.mid not in self._used
        ]

    async def _request_missing_sections(self) -> None:
        missing = len(self._waiting) - self._requested
        if missing > 0:
            await self._request_sections(missing)

    async def _request_sections(self, audios: int) -> None:
        if audios:
            log.info("%s: asks the client for %d more receive sections", self._who, audios)
        self._requested += audios
        await self._send(
            rtc.SignalResponse(
                media_sections_requirement=rtc.MediaSectionsRequirement(num_audios=audios)
            )
        )


def _receiving_audio_mids(sdp: str) -> set[str]:
    """The mids of the audio sections of a client's offer that the client can receive on."""
    parsed = ParsedSdp.parse(sdp)
    return {
        m.rtp.muxId
        for m in parsed.media
        if m.kind == "audio" and m.direction in ("recvonly", "sendrecv") and m.rtp.muxId
    }
