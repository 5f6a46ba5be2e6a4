"""devsfu's Egress service, driven by ``livekit.api.LiveKitAPI`` as a call server drives LiveKit.

Two real SDK participants publish 440 Hz and 660 Hz; the room composite egress must write a
playable Ogg/Opus file holding both tones for as long as it ran, and send ``egress_started``
and ``egress_ended`` webhooks that LiveKit's ``WebhookReceiver`` accepts.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest
from livekit import api
from livekit.api.twirp_client import TwirpError
from livekit.protocol import egress as eg
from livekit.protocol import room as room_pb

from tests.devsfu.conftest import WebhookSink
from tests.devsfu.test_media import Client
from tests.devsfu.tones import ToneSource
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu

pytestmark = pytest.mark.media

RATE = 48_000


@pytest.fixture(scope="module")
def egress_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("egress")


@pytest.fixture(scope="module")
def sfu(webhooks: WebhookSink, egress_dir: Path) -> Iterator[DevSfu]:
    with running_devsfu(
        host=netns.HOST_A, webhook_url=webhooks.url, auto_create=False, egress_dir=egress_dir
    ) as server:
        yield server


@pytest.fixture
async def lkapi(sfu: DevSfu) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(sfu.http_url, sfu.api_key, sfu.api_secret, failover=False)
    yield client
    await client.aclose()


@pytest.fixture
async def room_name(lkapi: api.LiveKitAPI) -> str:
    name = f"call-{uuid.uuid4().hex[:8]}"
    await lkapi.room.create_room(room_pb.CreateRoomRequest(name=name, max_participants=2))
    return name


@pytest.fixture
async def tones(sfu: DevSfu, room_name: str) -> AsyncIterator[list[ToneSource]]:
    """alice publishing 440 Hz and bob 660 Hz in ``room_name``."""
    clients = [Client("alice"), Client("bob")]
    sources = [ToneSource(440.0, name="alice"), ToneSource(660.0, name="bob")]
    for client, source in zip(clients, sources, strict=True):
        await client.connect(sfu, room_name)
        await source.publish(client.room)
    await asyncio.wait_for(clients[0].subscribed.get(), 15)  # media flows through devsfu
    await asyncio.wait_for(clients[1].subscribed.get(), 15)
    yield sources
    for source in sources:
        await source.aclose()
    for client in clients:
        await client.room.disconnect()


def audio_request(room: str, filepath: str = "{room_name}.ogg") -> eg.RoomCompositeEgressRequest:
    return eg.RoomCompositeEgressRequest(
        room_name=room,
        audio_only=True,
        file_outputs=[eg.EncodedFileOutput(file_type=eg.OGG, filepath=filepath)],
    )


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray().astype(np.float64) for f in container.decode(audio=0)]
    pcm = np.concatenate(frames, axis=1)
    return pcm.mean(axis=0)


def tone_db(samples: np.ndarray, hz: float) -> float:
    """The spectrum at ``hz`` in dB relative to the spectrum's strongest bin (Hann window)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1.0 / RATE)
    near = spectrum[np.abs(freqs - hz) < 3.0].max()
    return float(20 * np.log10(near / spectrum.max()))


async def test_room_composite_records_both_voices_as_ogg_opus(
    sfu: DevSfu,
    lkapi: api.LiveKitAPI,
    room_name: str,
    tones: list[ToneSource],
    webhooks: WebhookSink,
    egress_dir: Path,
) -> None:
    info = await lkapi.egress.start_room_composite_egress(audio_request(room_name))
    started = time.monotonic()
    assert info.status == eg.EGRESS_STARTING
    assert info.room_name == room_name
    webhooks.wait_for(
        lambda e: e.event == "egress_started" and e.egress_info.egress_id == info.egress_id
    )
    listed = await lkapi.egress.list_egress(eg.ListEgressRequest(room_name=room_name, active=True))
    assert [i.egress_id for i in listed.items] == [info.egress_id]
    await asyncio.sleep(3.0)
    stopped = await lkapi.egress.stop_egress(eg.StopEgressRequest(egress_id=info.egress_id))
    ran_s = time.monotonic() - started
    assert stopped.status == eg.EGRESS_COMPLETE
    ended = webhooks.wait_for(
        lambda e: e.event == "egress_ended" and e.egress_info.egress_id == info.egress_id
    )
    result = ended.egress_info.file_results[0]
    path = egress_dir / f"{room_name}.ogg"
    assert result.filename == str(path.resolve())
    assert result.size == path.stat().st_size
    assert path.stat().st_mode & 0o777 == 0o600
    samples = decode(path)
    duration_s = samples.size / RATE
    assert abs(duration_s - ran_s) < 0.5, (duration_s, ran_s)
    assert abs(result.duration / 1e9 - duration_s) < 0.1
    middle = samples[RATE // 2 : -RATE // 2]
    # both voices, equally loud (sent at the same level), and nothing in between
    assert tone_db(middle, 440.0) > -3.0
    assert tone_db(middle, 660.0) > -3.0
    assert tone_db(middle, 550.0) < -40.0
    after = await lkapi.egress.list_egress(eg.ListEgressRequest(egress_id=info.egress_id))
    assert after.items[0].status == eg.EGRESS_COMPLETE
    active = await lkapi.egress.list_egress(eg.ListEgressRequest(room_name=room_name, active=True))
    assert list(active.items) == []


async def test_deleting_the_room_completes_its_egress(
    lkapi: api.LiveKitAPI, room_name: str, webhooks: WebhookSink, egress_dir: Path
) -> None:
    info = await lkapi.egress.start_room_composite_egress(audio_request(room_name))
    await asyncio.sleep(1.0)
    await lkapi.room.delete_room(room_pb.DeleteRoomRequest(room=room_name))
    ended = webhooks.wait_for(
        lambda e: e.event == "egress_ended" and e.egress_info.egress_id == info.egress_id
    )
    assert ended.egress_info.status == eg.EGRESS_COMPLETE
    assert (egress_dir / f"{room_name}.ogg").exists()


async def test_an_output_that_disappears_fails_the_egress(
    lkapi: api.LiveKitAPI, room_name: str, webhooks: WebhookSink, egress_dir: Path
) -> None:
    info = await lkapi.egress.start_room_composite_egress(
        audio_request(room_name, "gone/{room_name}.ogg")
    )
    await asyncio.sleep(0.5)
    shutil.rmtree(egress_dir / "gone")  # the storage is lost mid-recording
    await lkapi.egress.stop_egress(eg.StopEgressRequest(egress_id=info.egress_id))
    ended = webhooks.wait_for(
        lambda e: e.event == "egress_ended" and e.egress_info.egress_id == info.egress_id
    )
    assert ended.egress_info.status == eg.EGRESS_FAILED
    assert ended.egress_info.error


async def test_requests_outside_the_subset_are_refused(
    sfu: DevSfu, lkapi: api.LiveKitAPI, room_name: str
) -> None:
    bad = [
        audio_request(room_name, "../escape.ogg"),
        eg.RoomCompositeEgressRequest(room_name=room_name, file_outputs=[eg.EncodedFileOutput()]),
        eg.RoomCompositeEgressRequest(room_name=room_name, audio_only=True),
        eg.RoomCompositeEgressRequest(
            room_name=room_name,
            audio_only=True,
            file_outputs=[eg.EncodedFileOutput(file_type=eg.MP4, filepath="x.mp4")],
        ),
    ]
    for request in bad:
        with pytest.raises(TwirpError) as refused:
            await lkapi.egress.start_room_composite_egress(request)
        assert refused.value.code == "invalid_argument"
    with pytest.raises(TwirpError) as missing:
        await lkapi.egress.start_room_composite_egress(audio_request("no-such-room"))
    assert missing.value.code == "not_found"
    with pytest.raises(TwirpError) as unknown:
        await lkapi.egress.stop_egress(eg.StopEgressRequest(egress_id="EG_nothere"))
    assert unknown.value.code == "not_found"
    # JSON bodies as well as protobuf; a token without the roomRecord grant is refused
    url = f"{sfu.http_url}/twirp/livekit.Egress/ListEgress"

    def bearer(grants: api.VideoGrants) -> dict[str, str]:
        jwt = api.AccessToken(sfu.api_key, sfu.api_secret).with_grants(grants).to_jwt()
        return {"Authorization": f"Bearer {jwt}"}

    async with aiohttp.ClientSession() as http:
        body = {"room_name": room_name}
        async with http.post(
            url, json=body, headers=bearer(api.VideoGrants(room_record=True))
        ) as ok:
            assert ok.status == 200
            assert (await ok.json()).get("items", []) == []
        denied = bearer(api.VideoGrants(room_admin=True, room=room_name))
        async with http.post(url, json=body, headers=denied) as refused:
            assert refused.status == 401
            assert (await refused.json())["code"] == "unauthenticated"
