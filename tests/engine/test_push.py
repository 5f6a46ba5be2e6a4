"""The engine's push: the device's token registered after sign-in and after every rotation,
removed at sign-out, nothing without a source (desktop, web) or a device id, push trouble never
failing a sign-in; and an Accept on the notification answering the call once it rings here.
Against the fakes of the HTTP API, signaling and media, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.engine.fakes import (
    FakePushSource,
    FakeServer,
    FakeSignaling,
    MediaFactory,
    fake_server_transport,
    make_call,
)
from voip_app.api import ApiClient
from voip_app.call import Phase
from voip_app.clock import FakeClock
from voip_app.engine import CallEngine, EngineEvent
from voip_app.engine.push import ANSWER_WAIT
from voip_app.signaling import LinkUp
from voip_contract import Incoming

URL = "http://voip.test"


@dataclass
class PushRig:
    engine: CallEngine
    server: FakeServer
    signaling: FakeSignaling
    source: FakePushSource | None
    clock: FakeClock
    events: list[EngineEvent]

    async def settled(self) -> None:
        await asyncio.wait_for(self.engine.tasks.session.idle(), 5)

    def logged(self) -> list[str]:
        return [e.name for e in self.events]

    def device_requests(self) -> list[tuple[str, str]]:
        return [
            (r.method, r.url.path)
            for r in self.server.requests
            if r.url.path.startswith("/api/devices/")
        ]


def make_rig(source: FakePushSource | None, device_id: str | None = "dev-1") -> PushRig:
    server, signaling, clock = FakeServer(), FakeSignaling(), FakeClock()
    engine = CallEngine(
        media_factory=MediaFactory(),
        api_factory=lambda url: ApiClient(
            url, transport=fake_server_transport(server), clock=clock
        ),
        signaling_factory=lambda url, token, device: signaling,
        device_id=device_id,
        clock=clock,
        push=source,
    )
    events: list[EngineEvent] = []
    engine.add_event_listener(events.append)
    return PushRig(engine, server, signaling, source, clock, events)


@pytest.fixture
async def rig() -> AsyncIterator[PushRig]:
    made = make_rig(FakePushSource("fcm-1"))
    await made.engine.sign_in(URL, "alice@acme.test", "demo-password")
    await made.settled()
    yield made
    await made.engine.close()


async def test_the_token_is_registered_after_sign_in_and_every_rotation(rig: PushRig) -> None:
    assert rig.server.push_devices == {"dev-1": "fcm-1"}
    assert rig.source is not None
    assert rig.source.server_url == URL  # the notification's Decline goes there
    rig.source.rotate("fcm-2")
    await rig.settled()
    assert rig.server.push_devices == {"dev-1": "fcm-2"}
    assert rig.logged().count("push_registered") == 2


async def test_sign_out_removes_the_registration(rig: PushRig) -> None:
    await rig.engine.sign_out()
    assert rig.server.push_devices == {}
    assert rig.device_requests()[-1] == ("DELETE", "/api/devices/dev-1/push")
    assert rig.source is not None
    assert (rig.source.stopped, rig.source.server_url) == (1, None)
    rig.source.rotate("fcm-3")  # signed out: a rotation registers nothing
    await rig.settled()
    assert rig.server.push_devices == {}


async def test_a_resumed_session_registers_again() -> None:
    made = make_rig(FakePushSource("fcm-1"))
    await made.engine.resume(URL, made.server.token)
    await made.settled()
    assert made.server.push_devices == {"dev-1": "fcm-1"}
    await made.engine.close()


@pytest.mark.parametrize(
    ("source", "device_id"),
    [(None, "dev-1"), (FakePushSource("fcm-1"), None), (FakePushSource(None), "dev-1")],
    ids=["desktop", "no-device-id", "no-push-in-this-build"],
)
async def test_nothing_is_registered_without_a_source_a_device_or_a_token(
    source: FakePushSource | None, device_id: str | None
) -> None:
    made = make_rig(source, device_id)
    await made.engine.sign_in(URL, "alice@acme.test", "demo-password")
    await made.settled()
    await made.engine.sign_out()
    assert made.device_requests() == []


@pytest.mark.parametrize("trouble", ["server", "platform"])
async def test_push_trouble_is_logged_and_the_session_goes_on(trouble: str) -> None:
    made = make_rig(FakePushSource("fcm-1", fails=trouble == "platform"))
    made.server.push_status = 503
    user = await made.engine.sign_in(URL, "alice@acme.test", "demo-password")
    await made.settled()
    assert user.email == "alice@acme.test"
    assert made.engine.snapshot.connection == "online"
    assert "push_registration_failed" in made.logged()
    assert made.server.push_devices == {}
    await made.engine.close()


async def test_an_accept_on_the_notification_answers_the_call_once_it_rings_here(
    rig: PushRig,
) -> None:
    rig.engine.answer_from_notification("c7")  # the app opened from the notification
    other = make_call(call_id="c6", direction="incoming")
    rig.signaling.push(Incoming(call=other, ring_expires_at=other.created_at))
    await rig.settled()
    assert ("accept", "c6") not in rig.signaling.sent  # not the call that was accepted
    await rig.engine.decline()
    rig.signaling.push(LinkUp(calls=(), reconnected=False))  # connected; nothing rings yet
    assert ("accept", "c7") not in rig.signaling.sent
    rig.signaling.push(
        LinkUp(calls=(make_call(call_id="c7", direction="incoming"),), reconnected=True)
    )
    await rig.signaling.until_sent("accept", "c7")
    call = rig.engine.snapshot.call
    assert call is not None
    assert call.id == "c7"
    assert call.phase in (Phase.CONNECTING, Phase.ACTIVE)


async def test_an_accept_on_the_notification_waits_a_minute_at_most(rig: PushRig) -> None:
    rig.engine.answer_from_notification("c8")
    rig.clock.advance(ANSWER_WAIT.total_seconds())
    late = make_call(call_id="c8", direction="incoming")
    rig.signaling.push(Incoming(call=late, ring_expires_at=late.created_at))
    await rig.settled()
    assert ("accept", "c8") not in rig.signaling.sent
    assert rig.engine.snapshot.call is not None
    assert rig.engine.snapshot.call.phase is Phase.INCOMING  # it rings; the person decides
