"""devsfu forwards Opus: what bob receives is, byte for byte, the Opus alice sent.

devsfu runs inside the test process here (its aiohttp application on ``netns.HOST_A``) so the
test can watch aiortc at both ends of the hop: the RTP packets devsfu accepts from alice, the
plaintext RTP it hands to DTLS-SRTP for bob, and every decoder aiortc creates. Two real
``livekit`` SDK clients, as in ``test_media.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiortc import RTCDtlsTransport, RTCRtpCodecParameters, RTCRtpReceiver
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc.rtp import RtpPacket, is_rtcp
from livekit import api, rtc

from devsfu.app import DevSfu, Settings
from tests.devsfu.tones import TONE_HZ, ToneSource, dominant_hz, record, rms_dbfs
from tests.support import netns
from tests.support.devsfu import DEFAULT_API_KEY, DEFAULT_API_SECRET, free_port

pytestmark = pytest.mark.media


@dataclass
class Wiretap:
    """The RTP payloads devsfu's aiortc received and sent, in the clear (all of it is Opus:
    nothing else is negotiated), and the decoders it made."""

    received: list[bytes] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    decoders: list[object] = field(default_factory=list)


@pytest.fixture
def wiretap(monkeypatch: pytest.MonkeyPatch) -> Wiretap:
    tap = Wiretap()
    handle_rtp = RTCRtpReceiver._handle_rtp_packet
    send_rtp = RTCDtlsTransport._send_rtp
    get_decoder = aiortc_codecs.get_decoder

    async def on_rtp(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
        tap.received.append(bytes(packet.payload))
        await handle_rtp(self, packet, arrival_time_ms)

    async def on_send(self: RTCDtlsTransport, data: bytes) -> None:
        if not is_rtcp(data):
            tap.sent.append(bytes(RtpPacket.parse(data).payload))
        await send_rtp(self, data)

    def on_decoder(codec: RTCRtpCodecParameters) -> object:
        tap.decoders.append(codec)
        return get_decoder(codec)

    monkeypatch.setattr(RTCRtpReceiver, "_handle_rtp_packet", on_rtp)
    monkeypatch.setattr(RTCDtlsTransport, "_send_rtp", on_send)
    monkeypatch.setattr(aiortc_receiver, "get_decoder", on_decoder)
    return tap


@pytest.fixture
async def sfu_url() -> AsyncIterator[str]:
    port = free_port(netns.HOST_A)
    server = DevSfu(Settings(netns.HOST_A, port, DEFAULT_API_KEY, DEFAULT_API_SECRET))
    runner = server.runner()
    await runner.setup()
    await web.TCPSite(runner, netns.HOST_A, port).start()
    yield f"ws://{netns.HOST_A}:{port}"
    await runner.cleanup()


def _token(identity: str) -> str:
    return (
        api.AccessToken(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room="forwarding"))
        .to_jwt()
    )


async def test_bob_gets_the_opus_alice_sent_bit_for_bit(sfu_url: str, wiretap: Wiretap) -> None:
    alice, bob = rtc.Room(), rtc.Room()
    subscribed: asyncio.Queue[rtc.RemoteAudioTrack] = asyncio.Queue()
    bob.on(
        "track_subscribed",
        lambda track, pub, p: (
            subscribed.put_nowait(track) if isinstance(track, rtc.RemoteAudioTrack) else None
        ),
    )
    tone = ToneSource()
    try:
        await alice.connect(sfu_url, _token("alice"))
        await bob.connect(sfu_url, _token("bob"))
        await tone.publish(alice)
        track = await asyncio.wait_for(subscribed.get(), 15)
        stream = rtc.AudioStream(track, sample_rate=48_000, num_channels=1)
        for _ in range(50):  # until the tone is heard, at most 5 s
            if rms_dbfs(await record(stream, 0.1)) > -30:
                break
        samples = await record(stream, 0.5)
        await stream.aclose()
    finally:
        await tone.aclose()
        await alice.disconnect()
        await bob.disconnect()

    assert abs(dominant_hz(samples) - TONE_HZ) < 5.0
    assert rms_dbfs(samples) > -30
    assert len(wiretap.sent) >= 25  # half a second of 20 ms packets, at least
    from_alice = set(wiretap.received)
    assert [p for p in wiretap.sent if p not in from_alice] == []  # no re-encoded payload
    assert wiretap.decoders == []  # and nothing was ever decoded
