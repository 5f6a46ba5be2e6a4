"""Call recording end to end: a real call server, a real devsfu (LiveKit Egress), and the
``livekit`` SDK in both parties, alice sending 440 Hz and bob 660 Hz.

devsfu writes its egress files where the server reads them (``VOIP_RECORDING_DIR``), as a
shared volume does in production. Tenant policies are set in the database, as an admin would.
"""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from livekit import api, rtc
from livekit.protocol import egress as eg

from tests.devsfu.tones import ToneSource
from tests.server.conftest import livekit_env
from tests.server.harness import Person, Recorder, Stack
from tests.server.test_admin_users import make_admin
from tests.server.test_webhooks import add_endpoint
from tests.support import netns
from tests.support.devsfu import running_devsfu
from tests.support.servers import HOST, CallServer, free_port
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.media

RATE = 48_000


@pytest.fixture(scope="module")
def recordings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
def stack_process(
    tmp_path_factory: pytest.TempPathFactory, recordings_dir: Path
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    workdir = tmp_path_factory.mktemp("server-recording")
    port = free_port()
    webhook = f"http://{HOST}:{port}/api/livekit/webhook"
    with running_devsfu(
        host=netns.HOST_A, webhook_url=webhook, auto_create=False, egress_dir=recordings_dir
    ) as sfu:
        env = {
            **livekit_env(sfu),
            "VOIP_RECORDING_DIR": str(recordings_dir),
            "VOIP_WEBHOOK_ALLOW_PRIVATE": "true",  # the CRM's receiver is on loopback
            "VOIP_WEBHOOK_POLL_S": "0.2",
        }
        with CallServer.start(workdir, env=env, port=port) as server:
            yield Stack(server, sfu)


async def set_policy(stack: Stack, person: Person, policy: str) -> None:
    """An admin sets the person's tenant's policy (``voip-server recording-policy``)."""
    slug = person.email.split("@")[1].removesuffix(".test")
    await asyncio.to_thread(stack.server.cli, "recording-policy", slug, policy)


async def answered(a: Recorder, b: Recorder, *, consent: bool) -> tuple[str, dict[str, Any]]:
    """a calls b, b answers: the call id and b's room token (a's came in ``accepted``)."""
    ack = await a.call("invite", {"callee_id": b.person.id, "request_id": uuid.uuid4().hex})
    assert ack["ok"], ack
    assert ack["recording"] is consent
    call_id = ack["call"]["id"]
    incoming = await b.next("incoming")
    assert incoming["recording"] is consent
    token = await b.call("accept", {"call_id": call_id})
    assert token["ok"], token
    return call_id, token


async def join_with_tone(url: str, token: str, hz: float) -> tuple[rtc.Room, ToneSource]:
    room = rtc.Room()
    await room.connect(url, token)
    source = ToneSource(hz, name=f"tone-{hz:.0f}")
    await source.publish(room)
    return room, source


async def leave(*media: tuple[rtc.Room, ToneSource]) -> None:
    for room, source in media:
        await source.aclose()
        await room.disconnect()


def tone_db(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1.0 / RATE)
    return float(20 * np.log10(spectrum[np.abs(freqs - hz) < 3.0].max() / spectrum.max()))


def decode(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_ndarray().astype(np.float64) for f in container.decode(audio=0)]
    return np.concatenate(frames, axis=1).mean(axis=0)


async def recording_of(stack: Stack, person: Person, call_id: str) -> dict[str, Any]:
    call = await stack.get_call(person, call_id)
    assert call["recording"] is not None, call
    recording: dict[str, Any] = call["recording"]
    return recording


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """The CRM's webhook receiver (real, on loopback, checking signatures)."""
    with WebhookReceiver(wall_clock=True) as made:
        yield made


async def test_a_recorded_call_holds_both_voices_for_the_parties_only(
    stack: Stack, recordings_dir: Path, receiver: WebhookReceiver
) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    dave = (await stack.tenant("dave"))["dave"]
    await set_policy(stack, p["alice"], "all")
    make_admin(stack, p["alice"])
    await add_endpoint(stack, p["alice"], receiver, ["recording.ready"])
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, bob_token = await answered(a, b, consent=True)
        accepted = await a.next("accepted")
        media = [
            await join_with_tone(accepted["livekit_url"], accepted["token"], 440.0),
            await join_with_tone(bob_token["livekit_url"], bob_token["token"], 660.0),
        ]
        for party in (a, b):
            await party.next_matching("recording", call_id=call_id, status="active")
        await asyncio.sleep(4.0)
        assert (await a.call("hangup", {"call_id": call_id}))["ok"]
        ended = await b.next("ended")
        assert ended["recording"]["status"] in ("starting", "active")
        done = [await x.next_matching("recording", call_id=call_id) for x in (a, b)]
        assert {d["status"] for d in done} == {"complete"}
        await leave(*media)
    call = await stack.get_call(p["alice"], call_id)
    recording = call["recording"]
    assert recording["status"] == "complete"
    assert abs(recording["duration_s"] - call["duration_s"]) < 1.0, (recording, call)
    path = recordings_dir / f"{recording['id']}.ogg"
    assert path.stat().st_mode & 0o777 == 0o600
    assert recording["size_bytes"] == path.stat().st_size

    url = f"/api/recordings/{recording['id']}"
    whole = await stack.http.get(url, headers=p["bob"].auth)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/ogg"
    samples = decode(whole.content)
    assert abs(samples.size / RATE - call["duration_s"]) < 1.0
    middle = samples[RATE:-RATE]
    assert tone_db(middle, 440.0) > -6.0  # alice
    assert tone_db(middle, 660.0) > -6.0  # bob
    assert tone_db(middle, 550.0) < -40.0
    for who in (p["alice"], p["bob"]):
        part = await stack.http.get(url, headers={**who.auth, "Range": "bytes=100-1099"})
        assert part.status_code == 206
        assert part.content == whole.content[100:1100]
        assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    for stranger in (p["carol"], dave):
        refused = await stack.http.get(url, headers=stranger.auth)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        signing = await stack.http.post(f"{url}/url", headers=stranger.auth)
        assert signing.status_code == 404

    signed = (await stack.http.post(f"{url}/url", headers=p["alice"].auth)).json()
    played = await stack.http.get(signed["url"])  # no bearer: the URL is the credential
    assert played.status_code == 200
    assert played.content == whole.content
    altered = signed["url"].replace(f"user={p['alice'].id}", f"user={p['carol'].id}")
    assert (await stack.http.get(altered)).status_code == 403
    tampered = signed["url"][:-1] + ("0" if signed["url"][-1] != "0" else "1")
    assert (await stack.http.get(tampered)).status_code == 403

    # The CRM hears of it: one signed recording.ready, with the recording beside the call.
    for _ in range(100):
        if receiver.hits:
            break
        await asyncio.sleep(0.1)
    assert [(h.event_type, h.signed, h.answered) for h in receiver.hits] == [
        ("recording.ready", True, 200)
    ]
    ready = receiver.hits[0].data
    assert ready["call"]["id"] == call_id
    assert ready["recording"] == {
        "id": recording["id"],
        "status": "complete",
        "duration_s": recording["duration_s"],
        "size_bytes": recording["size_bytes"],
    }

    assert (await stack.http.delete(url, headers=p["carol"].auth)).status_code == 404
    assert (await stack.http.delete(url, headers=p["bob"].auth)).status_code == 204
    assert not path.exists()
    assert (await stack.http.get(url, headers=p["alice"].auth)).status_code == 404
    assert (await stack.get_call(p["alice"], call_id))["recording"] is None


async def test_on_demand_either_party_starts_and_stops(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    await set_policy(stack, p["alice"], "on_demand")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, _ = await answered(a, b, consent=False)
        await a.next("accepted")
        assert (await b.call("recording_start", {"call_id": call_id}))["ok"]
        for party in (a, b):
            await party.next_matching("recording", call_id=call_id, status="active")
        again = await a.call("recording_start", {"call_id": call_id})
        assert again["error"]["code"] == "invalid_state"
        await asyncio.sleep(1.0)
        assert (await a.call("recording_stop", {"call_id": call_id}))["ok"]
        for party in (a, b):
            await party.next_matching("recording", call_id=call_id, status="complete")
        call = await stack.get_call(p["bob"], call_id)
        assert call["status"] == "IN_PROGRESS"  # the call goes on
        assert call["recording"]["status"] == "complete"
        assert (await a.call("hangup", {"call_id": call_id}))["ok"]


async def test_off_refuses_a_start(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")  # no policy: VOIP_RECORDING_DEFAULT (off)
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, _ = await answered(a, b, consent=False)
        refused = await b.call("recording_start", {"call_id": call_id})
        assert refused["error"]["code"] == "forbidden"
        assert (await stack.get_call(p["alice"], call_id))["recording"] is None
        assert (await a.call("hangup", {"call_id": call_id}))["ok"]
        assert b.pending("recording") == 0


def _block(directory: Path, moved: Path) -> None:
    """Egress's storage replaced by a file: nothing can be written there."""
    os.rename(directory, moved)
    directory.write_text("not a directory: egress cannot write here")


def _unblock(directory: Path, moved: Path) -> None:
    directory.unlink()
    os.rename(moved, directory)


async def _webhook_dropped(stack: Stack, event: str) -> None:
    assert stack.sfu is not None
    for _ in range(100):
        if f"webhook {event} dropped" in stack.sfu.log_text():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"devsfu never gave up on {event}")


async def test_egress_failing_at_start_leaves_the_call_alone(
    stack: Stack, recordings_dir: Path
) -> None:
    p = await stack.tenant("alice", "bob")
    await set_policy(stack, p["alice"], "all")
    moved = recordings_dir.with_name(recordings_dir.name + "-away")
    _block(recordings_dir, moved)
    try:
        async with stack.clients(p["alice"], p["bob"]) as (a, b):
            call_id, _ = await answered(a, b, consent=True)
            for party in (a, b):
                await party.next_matching("recording", call_id=call_id, status="failed")
            call = await stack.get_call(p["alice"], call_id)
            assert call["status"] == "IN_PROGRESS"
            assert call["recording"]["status"] == "failed"
            assert (await a.call("hangup", {"call_id": call_id}))["ok"]
            assert (await b.next("ended"))["status"] == "COMPLETED"
    finally:
        _unblock(recordings_dir, moved)


async def test_egress_failing_mid_call_fails_the_recording_only(
    stack: Stack, recordings_dir: Path
) -> None:
    p = await stack.tenant("alice", "bob")
    await set_policy(stack, p["alice"], "all")
    moved = recordings_dir.with_name(recordings_dir.name + "-lost")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, _ = await answered(a, b, consent=True)
        await a.next_matching("recording", call_id=call_id, status="active")
        os.rename(recordings_dir, moved)  # the storage goes away under the egress
        try:
            assert (await a.call("hangup", {"call_id": call_id}))["ok"]
            for party in (a, b):
                await party.next_matching("recording", call_id=call_id, status="failed")
        finally:
            os.rename(moved, recordings_dir)
        call = await stack.get_call(p["bob"], call_id)
        assert call["status"] == "COMPLETED"
        assert call["recording"]["status"] == "failed"


async def test_a_crash_during_a_recording_is_reconciled_at_restart(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    await set_policy(stack, p["alice"], "all")
    assert stack.sfu is not None
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, _ = await answered(a, b, consent=True)
        await a.next_matching("recording", call_id=call_id, status="active")
        recording = await recording_of(stack, p["alice"], call_id)
    stack.server.kill()  # kill -9 between egress start and end
    lk = api.LiveKitAPI(stack.sfu.http_url, stack.sfu.api_key, stack.sfu.api_secret)
    try:
        running = await lk.egress.list_egress(eg.ListEgressRequest(active=True))
        mine = [
            e
            for e in running.items
            if e.room_composite.file_outputs[0].filepath.startswith(recording["id"])
        ]
        assert len(mine) == 1
        # the egress ends while no server listens: its egress_ended is never delivered
        await lk.egress.stop_egress(eg.StopEgressRequest(egress_id=mine[0].egress_id))
    finally:
        await lk.aclose()
    await _webhook_dropped(stack, "egress_ended")
    stack.server.launch()
    reconciled = await recording_of(stack, p["alice"], call_id)
    assert reconciled["status"] == "complete"
    assert reconciled["size_bytes"] > 0


async def test_a_recording_still_running_after_a_crash_completes_at_the_hang_up(
    stack: Stack,
) -> None:
    p = await stack.tenant("alice", "bob")
    await set_policy(stack, p["alice"], "all")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call_id, _ = await answered(a, b, consent=True)
        await a.next_matching("recording", call_id=call_id, status="active")
    stack.server.kill()  # kill -9; egress goes on recording
    stack.server.launch()  # reconciles with ListEgress: still running, its call too
    assert (await recording_of(stack, p["alice"], call_id))["status"] == "active"
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        assert (await a.call("hangup", {"call_id": call_id}))["ok"]
        await b.next_matching("recording", call_id=call_id, status="complete")
    assert (await recording_of(stack, p["bob"], call_id))["status"] == "complete"
