"""The engine keeps its contacts' presence live through ``presence_watch``.

Unit tests against the fakes (what is watched, when, and how the ack's snapshot and events
combine), then one end-to-end test against a real call server whose fan-out limit makes the demo
tenant (three users) a large one: there only watched users' changes arrive at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.engine.fakes import BOB, CAROL, FakeServer, FakeSignaling, fake_server_transport
from tests.engine.waits import until
from tests.support.servers import CallServer
from voip_app.api import ApiClient
from voip_app.engine import CallEngine, EngineEvent, EngineSnapshot, MediaPrefs
from voip_app.errors import ServerUnreachable
from voip_app.media.base import MediaSession
from voip_app.signaling import LinkDown, LinkUp
from voip_contract import Presence, PresenceChanged
from voip_contract.base import PRESENCE_WATCH_MAX


class GatedSignaling(FakeSignaling):
    """A :class:`FakeSignaling` whose ``presence_watch`` acks wait for ``gate`` when it is set;
    ``arrived`` gets the ids of each watch as it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.watch_error: Exception | None = None
        self.arrived: asyncio.Queue[list[str]] = asyncio.Queue()

    async def watch_presence(self, user_ids: Sequence[str]) -> list[PresenceChanged]:
        acked = await super().watch_presence(user_ids)  # the snapshot as the server read it
        self.arrived.put_nowait(list(user_ids))
        if self.gate is not None:
            await self.gate.wait()
        if self.watch_error is not None:
            raise self.watch_error
        return acked


class Rig:
    def __init__(self, engine: CallEngine, signaling: GatedSignaling, server: FakeServer) -> None:
        self.engine, self.signaling, self.server = engine, signaling, server
        self.events: list[EngineEvent] = []
        self._logged = asyncio.Event()
        engine.add_event_listener(self._record)

    def _record(self, event: EngineEvent) -> None:
        self.events.append(event)
        self._logged.set()

    def count(self, name: str = "presence_watched") -> int:
        return sum(1 for e in self.events if e.name == name)

    async def watched(self, count: int, name: str = "presence_watched") -> None:
        """Wait (bounded) until the engine has logged ``name`` ``count`` times in all."""
        async with asyncio.timeout(5):
            while self.count(name) < count:
                self._logged.clear()
                await self._logged.wait()

    async def sent(self) -> list[str]:
        """The ids of the next watch the engine sends (bounded wait)."""
        return await asyncio.wait_for(self.signaling.arrived.get(), 5)

    def presence(self) -> dict[str, Presence]:
        return {c.id: c.presence for c in self.engine.snapshot.contacts}


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    server = FakeServer()
    signaling = GatedSignaling()
    signaling.presence = {BOB["id"]: "busy", CAROL["id"]: "online"}
    engine = CallEngine(
        media_factory=lambda prefs: pytest.fail("no media here"),
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: signaling,
        device_id="dev-1",
    )
    rig = Rig(engine, signaling, server)
    await engine.sign_in("http://voip.test/", "alice@acme.test", "demo-password")
    await rig.watched(1)
    await rig.sent()
    yield rig
    await engine.close()


async def test_signing_in_watches_the_contacts_and_applies_the_snapshot(rig: Rig) -> None:
    assert rig.signaling.watched == [[BOB["id"], CAROL["id"]]]
    assert rig.presence() == {BOB["id"]: "busy", CAROL["id"]: "online"}  # the list said otherwise


async def test_every_search_watches_what_it_found(rig: Rig) -> None:
    await rig.engine.refresh_contacts("carol")
    await rig.watched(2)
    await rig.engine.refresh_contacts("nobody")
    await rig.watched(3)
    assert rig.signaling.watched[1:] == [[CAROL["id"]], []]


async def test_a_watch_is_bounded_to_the_first_contacts(rig: Rig) -> None:
    rig.server.contacts = [
        {"id": f"u{i}", "display_name": f"U{i}", "email": f"u{i}@acme.test", "presence": "offline"}
        for i in range(PRESENCE_WATCH_MAX + 50)
    ]
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    assert rig.signaling.watched[-1] == [f"u{i}" for i in range(PRESENCE_WATCH_MAX)]
    assert len(rig.engine.snapshot.contacts) == PRESENCE_WATCH_MAX + 50


async def test_a_reconnect_watches_again_and_a_first_connect_does_not(rig: Rig) -> None:
    rig.signaling.presence[BOB["id"]] = "offline"
    rig.signaling.push(LinkUp(calls=(), reconnected=False))
    rig.signaling.push(LinkDown("transport close"))
    rig.signaling.push(LinkUp(calls=(), reconnected=True))
    await rig.watched(2)
    assert rig.signaling.watched == [[BOB["id"], CAROL["id"]]] * 2
    assert rig.presence()[BOB["id"]] == "offline"


async def test_an_event_during_the_watch_wins_over_its_snapshot(rig: Rig) -> None:
    rig.signaling.gate = asyncio.Event()
    rig.signaling.presence = {BOB["id"]: "online", CAROL["id"]: "offline"}
    await rig.engine.refresh_contacts()
    await rig.sent()
    rig.signaling.push(PresenceChanged(user_id=BOB["id"], presence="busy"))  # newer than the ack
    rig.signaling.gate.set()
    await rig.watched(2)
    assert rig.presence() == {BOB["id"]: "busy", CAROL["id"]: "offline"}


async def test_only_the_latest_watch_is_applied(rig: Rig) -> None:
    rig.signaling.gate = asyncio.Event()
    rig.signaling.presence = {BOB["id"]: "offline", CAROL["id"]: "offline"}
    await rig.engine.refresh_contacts()
    await rig.sent()
    rig.signaling.presence = {BOB["id"]: "online", CAROL["id"]: "busy"}
    await rig.engine.refresh_contacts()
    await rig.sent()
    rig.signaling.gate.set()
    await rig.watched(2)
    assert rig.count() == 2  # the first ack was dropped
    assert rig.presence() == {BOB["id"]: "online", CAROL["id"]: "busy"}


async def test_a_lost_watch_changes_nothing(rig: Rig) -> None:
    rig.signaling.watch_error = ServerUnreachable("http://voip.test", "connection lost")
    rig.signaling.presence = {BOB["id"]: "offline"}
    await rig.engine.refresh_contacts()
    await rig.watched(1, "presence_watch_failed")
    assert len(rig.signaling.watched) == 2
    assert rig.presence() == {BOB["id"]: "online", CAROL["id"]: "offline"}  # as listed
    assert rig.count() == 1


# --- end to end -------------------------------------------------------------------------------

PASSWORD = "demo-password"


def no_media(prefs: MediaPrefs) -> MediaSession:
    raise AssertionError("no call in this test gets to media")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CallServer]:
    env = {"VOIP_PRESENCE_FANOUT_MAX": "2"}  # tenant acme (3 users) is a large tenant here
    with CallServer.start(tmp_path, env=env, seed_demo=True) as running:
        yield running


def logged(engine: CallEngine, name: str, **data: object) -> asyncio.Queue[EngineEvent]:
    """A queue of the engine's ``name`` events (with these data) from now on."""
    queue: asyncio.Queue[EngineEvent] = asyncio.Queue()

    def keep(event: EngineEvent) -> None:
        if event.name == name and all(event.data.get(k) == v for k, v in data.items()):
            queue.put_nowait(event)

    engine.add_event_listener(keep)
    return queue


def presence_is(email: str, presence: Presence) -> Callable[[EngineSnapshot], bool]:
    return lambda s: any(c.email == email and c.presence == presence for c in s.contacts)


async def test_contacts_follow_presence_across_a_reconnect(server: CallServer) -> None:
    alice = CallEngine(media_factory=no_media, device_id="alice-laptop")
    watches = logged(alice, "presence_watched")
    bob = CallEngine(media_factory=no_media, device_id="bob-phone")
    bob_back = logged(bob, "signaling_up", reconnected=True)
    try:
        await alice.sign_in(server.url, "alice@acme.test", PASSWORD)
        await asyncio.wait_for(watches.get(), 10)
        assert presence_is("bob@acme.test", "offline")(alice.snapshot)
        await bob.sign_in(server.url, "bob@acme.test", PASSWORD)
        await until(alice, presence_is("bob@acme.test", "online"))

        await asyncio.to_thread(server.restart)  # every connection is a new one now
        await asyncio.wait_for(watches.get(), 20)  # watched again after the reconnect
        await asyncio.wait_for(bob_back.get(), 20)
        # bob's way back came in the re-watch's snapshot or as an event after it
        await until(alice, presence_is("bob@acme.test", "online"))
        await bob.sign_out()
        # large tenant: only a watch that was made again on the new connection hears this
        await until(alice, presence_is("bob@acme.test", "offline"))
    finally:
        await alice.close()
        await bob.close()
