"""Opus forwarding (:mod:`devsfu.forward`) and its aiortc hook, against a real ``RTCRtpReceiver``.

No network: the receiver gets a fake DTLS transport (below) and packets are handed to it the way
aiortc's DTLS transport does, through ``_handle_rtp_packet``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import uint32_add

from devsfu import cli
from devsfu.aiortc_hooks import AiortcIncompatible, require_aiortc_internals, tap_receiver
from devsfu.forward import MAX_AGE_S, QUEUE_LIMIT, OpusFanout

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2, payloadType=111)
SSRC = 0x1234_5678


class FakeDtlsTransport:
    """What ``RTCRtpReceiver`` asks of its DTLS transport; RTCP it sends is kept."""

    state = "connected"
    _stats_id = "transport_fake"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def _register_rtp_receiver(self, receiver: object, parameters: object) -> None:
        pass

    def _unregister_rtp_receiver(self, receiver: object) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)

    def _get_stats(self) -> dict[str, Any]:
        return {}


def opus_packet(seq: int, timestamp: int, payload: bytes | None = None) -> RtpPacket:
    return RtpPacket(
        payload_type=OPUS.payloadType or 111,
        sequence_number=seq & 0xFFFF,
        timestamp=timestamp & 0xFFFFFFFF,
        ssrc=SSRC,
        payload=payload if payload is not None else bytes([0x78, seq & 0xFF, (seq >> 8) & 0xFF]),
    )


class Tapped:
    """A real receiver, started as a peer connection starts it, with devsfu's tap on it."""

    def __init__(self, receiver: RTCRtpReceiver, fanout: OpusFanout) -> None:
        self.receiver = receiver
        self.fanout = fanout

    async def feed(self, packets: list[RtpPacket]) -> None:
        for i, packet in enumerate(packets):
            await self.receiver._handle_rtp_packet(packet, arrival_time_ms=i * 20)

    def decoded_frames_waiting(self) -> int:
        track = self.receiver.track
        assert isinstance(track, aiortc_receiver.RemoteStreamTrack)
        return track._queue.qsize()


@pytest.fixture
def decoders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every decoder aiortc's receive path creates (there must be none)."""
    made: list[object] = []
    real = aiortc_codecs.get_decoder

    def spy(codec: RTCRtpCodecParameters) -> object:
        made.append(codec)
        return real(codec)

    monkeypatch.setattr(aiortc_receiver, "get_decoder", spy)
    return made


@pytest.fixture
async def tapped(decoders: list[object]) -> AsyncIterator[Tapped]:
    receiver = RTCRtpReceiver("audio", FakeDtlsTransport())  # type: ignore[arg-type]
    # What RTCPeerConnection does for a remote track, then devsfu's 'track' handler.
    receiver._track = aiortc_receiver.RemoteStreamTrack(kind="audio")
    fanout = OpusFanout()
    tap_receiver(receiver, fanout.deliver)
    await receiver.receive(RTCRtpReceiveParameters(codecs=[OPUS]))
    yield Tapped(receiver, fanout)
    await receiver.stop()


async def test_packets_are_forwarded_as_they_arrive_and_never_decoded(
    tapped: Tapped, decoders: list[object]
) -> None:
    alice_to_bob, alice_to_carol = tapped.fanout.subscribe(), tapped.fanout.subscribe()
    start = 0xFFFF_FF00  # the RTP timestamp wraps during the test
    sent = [opus_packet(100 + i, start + 960 * i, bytes([0xFC, i, 0x55] * 20)) for i in range(50)]

    carol_got = []
    for packet in sent:
        await tapped.feed([packet])
        got = await asyncio.wait_for(alice_to_bob.recv(), 1.0)  # no prefetch: at once
        assert bytes(got) == packet.payload
        assert got.pts == packet.timestamp
        carol_got.append(await asyncio.wait_for(alice_to_carol.recv(), 1.0))

    assert [bytes(p) for p in carol_got] == [p.payload for p in sent]
    # aiortc's sender packs each as one RTP payload, byte for byte, its timestamp a constant
    # offset from the publisher's, across the wrap.
    packer, origin = OpusEncoder(), 0x1000
    packed = [packer.pack(p) for p in carol_got]
    assert [payloads for payloads, _ in packed] == [[p.payload] for p in sent]
    assert [uint32_add(origin, ts) for _, ts in packed] == [
        uint32_add(origin, p.timestamp) for p in sent
    ]
    assert decoders == []
    assert tapped.decoded_frames_waiting() == 0
    stats = [s for s in (await tapped.receiver.getStats()).values() if s.type == "inbound-rtp"]
    assert [(s.packetsReceived, s.packetsLost) for s in stats] == [(50, 0)]  # RTCP still knows


async def test_what_aiortc_refuses_is_not_forwarded(tapped: Tapped) -> None:
    leg = tapped.fanout.subscribe()
    unknown = opus_packet(1, 960)
    unknown.payload_type = 96  # not negotiated
    padding = opus_packet(2, 1920, b"")
    tapped.receiver._enabled = False  # what a stopped transceiver does
    await tapped.feed([opus_packet(3, 2880)])
    tapped.receiver._enabled = True
    await tapped.feed([unknown, padding])
    assert leg.queued == 0
    assert tapped.fanout.delivered == 0


async def test_a_leg_nobody_reads_holds_a_bounded_queue(tapped: Tapped) -> None:
    stalled, reading = tapped.fanout.subscribe(), tapped.fanout.subscribe()
    received: list[bytes] = []
    total = 3_000  # one minute of audio

    for i in range(total):
        await tapped.feed([opus_packet(i, 960 * i)])
        received.append(bytes(await reading.recv()))

    assert stalled.queued == QUEUE_LIMIT
    assert stalled.dropped == total - QUEUE_LIMIT
    assert reading.queued == 0
    assert len(received) == total
    assert tapped.decoded_frames_waiting() == 0  # nor does aiortc's own track queue grow


async def test_a_leg_skips_audio_that_waited_too_long() -> None:
    now = [1000.0]
    fanout = OpusFanout(clock=lambda: now[0])
    leg = fanout.subscribe()
    fanout.deliver(opus_packet(1, 960, b"old"))
    now[0] += MAX_AGE_S + 0.01  # e.g. the leg's connection was still being set up
    fanout.deliver(opus_packet(2, 1920, b"new"))
    assert bytes(await leg.recv()) == b"new"
    assert leg.dropped == 1


async def test_a_new_publisher_ssrc_continues_the_timeline() -> None:
    now = [50.0]
    fanout = OpusFanout(clock=lambda: now[0])
    leg = fanout.subscribe()
    first = opus_packet(1, 0xFFFF_FC40)
    fanout.deliver(first)
    assert (await leg.recv()).pts == first.timestamp  # the publisher's own timeline
    now[0] += 1.0  # a second later the publisher restarts its sender: new SSRC, new origin
    second = opus_packet(1, 123_456)
    second.ssrc = SSRC + 1
    third = opus_packet(2, 123_456 + 960)
    third.ssrc = SSRC + 1
    fanout.deliver(second)
    fanout.deliver(third)
    # A second later in RTP time (wrapping past 2**32), then the source's own 20 ms steps.
    assert (await leg.recv()).pts == (0xFFFF_FC40 + 48_000) & 0xFFFFFFFF
    assert (await leg.recv()).pts == (0xFFFF_FC40 + 48_000 + 960) & 0xFFFFFFFF


async def test_closing_ends_every_leg_and_a_stopped_leg_leaves(tapped: Tapped) -> None:
    fanout = tapped.fanout
    bob, carol = fanout.subscribe(), fanout.subscribe()
    pending = asyncio.ensure_future(bob.recv())
    await asyncio.sleep(0)
    carol.stop()
    assert fanout.legs == 1
    with pytest.raises(MediaStreamError):
        await carol.recv()

    fanout.close()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(pending, 1.0)
    assert fanout.legs == 0
    late = fanout.subscribe()
    assert late.readyState == "ended"
    await tapped.feed([opus_packet(1, 960)])
    assert fanout.delivered == 0


def test_the_installed_aiortc_has_every_internal_devsfu_uses() -> None:
    require_aiortc_internals()


def _no_jitter_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handle(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
        return None

    monkeypatch.setattr(RTCRtpReceiver, "_handle_rtp_packet", handle)


def _no_stream_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "devsfu.aiortc_hooks.create_media_description_for_transceiver", lambda *a: None
    )


@pytest.mark.parametrize(
    ("break_aiortc", "message"),
    [(_no_jitter_buffer, "jitter buffer"), (_no_stream_id, "msid")],
)
def test_devsfu_refuses_to_start_on_an_aiortc_without_them(
    monkeypatch: pytest.MonkeyPatch,
    break_aiortc: Callable[[pytest.MonkeyPatch], None],
    message: str,
) -> None:
    break_aiortc(monkeypatch)
    with pytest.raises(AiortcIncompatible, match=message):
        require_aiortc_internals()
    monkeypatch.setenv("VOIP_LIVEKIT_API_SECRET", "x" * 32)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--port", "1"])
    assert "not supported by devsfu" in str(exited.value.code)
