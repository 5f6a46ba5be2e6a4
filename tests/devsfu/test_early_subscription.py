"""When the others are offered a track: at its announce, and without an offer of their own wasted.

The specification (``docs/devsfu.md``, *Media*): a track is offered to the other participants as
soon as its publisher announces it (``AddTrackRequest``), not once its media arrives, so that
their renegotiation runs while the publisher negotiates its own. On ``/rtc/v1`` the offer to a
participant is a ``MediaSectionsRequirement`` asking it to offer again, unless it announced a
track of its own whose media has not arrived: it is about to offer anyway, and its next offer's
answer carries the track; should that offer not come within the grace, devsfu asks.

The first test speaks LiveKit's signal protocol by hand to a real devsfu process (a real aiortc
peer connection plays each client's, offering three ``recvonly`` audio sections as the SDKs do),
so that a publisher can announce a track and never send media. The others drive devsfu's
``/rtc/v1`` connection (:class:`devsfu.single_pc.OnePeerConnection`) directly.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from livekit import api
from livekit.protocol import models, rtc

from devsfu.forward import OpusFanout
from devsfu.peers import Forward
from devsfu.single_pc import OnePeerConnection
from tests.support.devsfu import DevSfu

pytestmark = pytest.mark.media

WAIT_S = 10.0


def _client_connection() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    for _ in range(3):
        pc.addTransceiver("audio", direction="recvonly")
    return pc


async def _offer(pc: RTCPeerConnection, offer_id: int) -> rtc.SessionDescription:
    await pc.setLocalDescription(await pc.createOffer())
    return rtc.SessionDescription(type="offer", sdp=pc.localDescription.sdp, id=offer_id)


class RawClient:
    """One participant speaking the signal protocol of ``/rtc/v1`` by hand."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.pc = _client_connection()
        self.received: asyncio.Queue[rtc.SignalResponse] = asyncio.Queue()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def join(self, http: aiohttp.ClientSession, sfu: DevSfu, room: str) -> None:
        token = (
            api.AccessToken(sfu.api_key, sfu.api_secret)
            .with_identity(self.identity)
            .with_grants(api.VideoGrants(room_join=True, room=room))
            .to_jwt()
        )
        join = rtc.JoinRequest(
            client_info=models.ClientInfo(sdk=models.ClientInfo.JS, protocol=17),
            connection_settings=rtc.ConnectionSettings(auto_subscribe=True),
            publisher_offer=await _offer(self.pc, 1),
        )
        wrapped = rtc.WrappedJoinRequest(join_request=join.SerializeToString())
        encoded = base64.urlsafe_b64encode(wrapped.SerializeToString()).decode()
        self._ws = await http.ws_connect(
            f"{sfu.url}/rtc/v1", params={"access_token": token, "join_request": encoded}
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.next("join")
        await self.answered()

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.received.put_nowait(rtc.SignalResponse.FromString(msg.data))

    async def send(self, request: rtc.SignalRequest) -> None:
        assert self._ws is not None
        await self._ws.send_bytes(request.SerializeToString())

    async def next(self, kind: str) -> rtc.SignalResponse:
        """The next message of ``kind``, skipping the others."""
        while True:
            response = await asyncio.wait_for(self.received.get(), WAIT_S)
            if response.WhichOneof("message") == kind:
                return response

    async def answered(self) -> rtc.SessionDescription:
        answer = (await self.next("answer")).answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        return answer

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.pc.close()


@pytest.fixture
async def raw_clients() -> AsyncIterator[list[RawClient]]:
    made: list[RawClient] = []
    yield made
    for client in made:
        await client.close()


async def test_a_track_is_offered_to_the_others_at_its_announce(
    sfu: DevSfu, raw_clients: list[RawClient]
) -> None:
    bob, alice = RawClient("bob"), RawClient("alice")
    raw_clients += [bob, alice]
    async with aiohttp.ClientSession() as http:
        await bob.join(http, sfu, "early-subscription")
        await alice.join(http, sfu, "early-subscription")
        # Alice announces a microphone, and never offers it nor sends a packet.
        add = rtc.AddTrackRequest(
            cid="alice-mic", name="microphone", type=models.AUDIO, source=models.MICROPHONE
        )
        await alice.send(rtc.SignalRequest(add_track=add))
        sid = (await alice.next("track_published")).track_published.track.sid

        requirement = (await bob.next("media_sections_requirement")).media_sections_requirement
        assert requirement.num_audios == 0  # bob's free sections suffice
        await bob.send(rtc.SignalRequest(offer=await _offer(bob.pc, 2)))
        answer = await bob.answered()

    assert sid in answer.mid_to_track_id.values()
    mid = next(m for m, t in answer.mid_to_track_id.items() if t == sid)
    section = next(m for m in answer.sdp.split("\r\nm=") if f"\r\na=mid:{mid}\r\n" in m)
    assert f"|{sid} {sid}" in section  # a=msid:PA_…|TR_… TR_…, as the SDKs read it
    assert "a=sendonly" in section


class Recorded:
    """What devsfu's connection sends its client."""

    def __init__(self) -> None:
        self.sent: list[rtc.SignalResponse] = []

    async def __call__(self, response: rtc.SignalResponse) -> None:
        self.sent.append(response)

    def kinds(self) -> list[str]:
        return [r.WhichOneof("message") or "" for r in self.sent if r.WhichOneof("message")]

    def answers(self) -> list[rtc.SessionDescription]:
        return [r.answer for r in self.sent if r.WhichOneof("message") == "answer"]


async def _joined(grace_s: float = 0.5) -> tuple[OnePeerConnection, RTCPeerConnection, Recorded]:
    """devsfu's connection to a client whose first offer it answered, and the client's."""
    recorded = Recorded()
    devsfu_side = OnePeerConnection(recorded, lambda *_: None, "bob", offer_grace_s=grace_s)
    client = _client_connection()
    await devsfu_side.on_offer(await _offer(client, 1))
    answer = recorded.answers()[-1]
    await client.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
    return devsfu_side, client, recorded


def _alices_track() -> Forward:
    return Forward(OpusFanout().subscribe(), "PA_alice", "TR_alice")


async def test_a_client_about_to_offer_gets_the_track_in_that_offers_answer() -> None:
    devsfu_side, client, recorded = await _joined()
    try:
        await devsfu_side.forward(_alices_track(), offer_coming=lambda: True)
        assert "media_sections_requirement" not in recorded.kinds()

        await devsfu_side.on_offer(await _offer(client, 2))  # the client's publish offer

        assert list(recorded.answers()[-1].mid_to_track_id.values()) == ["TR_alice"]
        assert "media_sections_requirement" not in recorded.kinds()
    finally:
        await devsfu_side.close()
        await client.close()


async def test_a_client_that_does_not_offer_within_the_grace_is_asked_to() -> None:
    devsfu_side, client, recorded = await _joined(grace_s=0.05)
    try:
        await devsfu_side.forward(_alices_track(), offer_coming=lambda: True)
        assert "media_sections_requirement" not in recorded.kinds()
        for _ in range(100):
            if "media_sections_requirement" in recorded.kinds():
                break
            await asyncio.sleep(0.02)
        requirement = next(r for r in recorded.sent if r.HasField("media_sections_requirement"))
        assert requirement.media_sections_requirement.num_audios == 0
    finally:
        await devsfu_side.close()
        await client.close()


async def test_a_client_not_about_to_offer_is_asked_at_once() -> None:
    devsfu_side, client, recorded = await _joined()
    try:
        await devsfu_side.forward(_alices_track())
        assert recorded.kinds()[-1] == "media_sections_requirement"
        await devsfu_side.on_offer(await _offer(client, 2))
        assert list(recorded.answers()[-1].mid_to_track_id.values()) == ["TR_alice"]
    finally:
        await devsfu_side.close()
        await client.close()
