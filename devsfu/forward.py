"""Opus forwarding: each packet a publisher sends goes, as it arrives, to every subscriber leg.

No jitter buffer, no decoding, no encoding: the Opus payload a subscriber receives is
bit-identical to what the publisher sent. Per subscriber leg, aiortc's ``RTCRtpSender`` writes
its own SSRC and sequence numbers and offsets the publisher's RTP timestamp by a constant of its
own, so time keeps its shape across the hop: a publisher that pauses (mute, DTX) leaves a gap of
the same length in the timestamps, a subscriber that joins late starts wherever the publisher
is, and the receiver's Opus decoder conceals whatever is missing. Should the publisher's SSRC
change (its timestamps then start anywhere), the timeline goes on from where the old source
left it, advanced by the time that passed.

A leg that is not read (its connection not up yet, or stalled) never holds more than
:data:`QUEUE_LIMIT` packets, and packets older than :data:`MAX_AGE_S` are dropped when read:
late audio is worse than none, and memory must not grow with a slow reader.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

OPUS_RATE = 48_000  # RTP clock rate of Opus, whatever the sampling rate
OPUS_CLOCK = Fraction(1, OPUS_RATE)
PACKET_TICKS = 960  # 20 ms, the least a new source's first packet is placed after the last
QUEUE_LIMIT = 10  # packets per leg: 200 ms of 20 ms packets
MAX_AGE_S = 0.1


class OpusFanout:
    """One published audio track, fanned out to the tracks of its subscriber legs.

    Feed it with :meth:`deliver` (from :func:`devsfu.aiortc_hooks.tap_receiver`); give each
    subscriber's ``RTCRtpSender`` a track from :meth:`subscribe`.
    """

    def __init__(
        self,
        *,
        queue_limit: int = QUEUE_LIMIT,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._legs: set[ForwardedTrack] = set()
        self._queue_limit = queue_limit
        self._max_age_s = max_age_s
        self._clock = clock
        self._closed = False
        self._ssrc: int | None = None
        self._offset = 0  # added to the source's timestamps (mod 2**32)
        self._last_ts = 0
        self._last_at = 0.0
        self.delivered = 0

    @property
    def legs(self) -> int:
        return len(self._legs)

    def deliver(self, packet: RtpPacket) -> None:
        """Pass one received RTP packet on to every leg (padding-only packets are not media)."""
        if not packet.payload:
            return
        now = self._clock()
        if packet.ssrc != self._ssrc:
            if self._ssrc is not None:
                gap = max(PACKET_TICKS, round((now - self._last_at) * OPUS_RATE))
                self._offset = (self._last_ts + gap - packet.timestamp) & 0xFFFFFFFF
            self._ssrc = packet.ssrc
        self._last_ts = (packet.timestamp + self._offset) & 0xFFFFFFFF
        self._last_at = now
        if not self._legs:
            return
        self.delivered += 1
        encoded = av.Packet(packet.payload)
        encoded.pts = self._last_ts
        encoded.time_base = OPUS_CLOCK
        for leg in self._legs:
            leg.push(now, encoded)

    def subscribe(self) -> ForwardedTrack:
        """A new leg: a track yielding this publisher's packets from now on."""
        leg = ForwardedTrack(self, self._queue_limit, self._max_age_s, self._clock)
        if self._closed:
            leg.stop()
        else:
            self._legs.add(leg)
        return leg

    def close(self) -> None:
        """The publisher is gone: end every leg (their senders stop)."""
        self._closed = True
        for leg in list(self._legs):
            leg.stop()

    def _drop(self, leg: ForwardedTrack) -> None:
        self._legs.discard(leg)


class ForwardedTrack(MediaStreamTrack):
    """One subscriber leg: ``recv()`` yields the publisher's Opus packets as ``av.Packet``."""

    kind = "audio"

    def __init__(
        self,
        fanout: OpusFanout,
        queue_limit: int,
        max_age_s: float,
        clock: Callable[[], float],
    ) -> None:
        super().__init__()
        self._fanout = fanout
        self._queue: deque[tuple[float, av.Packet[Any]]] = deque(maxlen=queue_limit)
        self._max_age_s = max_age_s
        self._clock = clock
        self._arrived = asyncio.Event()
        self.dropped = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    def push(self, at: float, packet: av.Packet[Any]) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the oldest goes
        self._queue.append((at, packet))
        self._arrived.set()

    async def recv(self) -> av.Packet[Any]:
        while self.readyState == "live":
            while self._queue:
                at, packet = self._queue.popleft()
                if self._clock() - at <= self._max_age_s:
                    return packet
                self.dropped += 1
            self._arrived.clear()
            await self._arrived.wait()
        raise MediaStreamError

    def stop(self) -> None:
        self._fanout._drop(self)
        self._queue.clear()
        super().stop()
        self._arrived.set()  # a pending recv() ends
