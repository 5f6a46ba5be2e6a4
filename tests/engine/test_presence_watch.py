"""The engine keeps its contacts' presence live through ``presence_watch``.

Unit tests against the fakes (what is watched, when, and how the ack's snapshot and events
combine), then one end-to-end test against a real call server whose fan-out limit makes the demo
tenant (three users) a large one: there only watched users' changes arrive at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from tests.engine.fakes import BOB, CAROL, FakeServer, FakeSignaling, fake_server_transport
from tests.engine.stack import PASSWORD, no_media
from tests.engine.waits import until
from tests.support.servers import CallServer
from voip_app.api import ApiClient
from voip_app.clock import FakeClock
from voip_app.engine import CallEngine, EngineEvent, EngineSnapshot
from voip_app.engine.presence import FIRST_SCREEN_WATCH, WATCH_SETTLE_S
from voip_app.errors import ServerUnreachable
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
    def __init__(
        self, engine: CallEngine, signaling: GatedSignaling, server: FakeServer, clock: FakeClock
    ) -> None:
        self.engine, self.signaling, self.server, self.clock = engine, signaling, server, clock
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

    async def settle(self, seconds: float = WATCH_SETTLE_S) -> None:
        """Once the watch's timer sleeps (beside the session's renewal), move time on."""
        await self.clock.until_sleeping(2)
        self.clock.advance(seconds)

    async def step(self, seconds: float) -> None:
        """Move time on, then wait (bounded) until the watch's timer sleeps again or every
        one-off task has ended (a watch that was due has gone out)."""
        self.clock.advance(seconds)
        waits = {
            asyncio.ensure_future(self.clock.until_sleeping(2)),
            asyncio.ensure_future(self.engine.tasks.session.idle()),
        }
        done, pending = await asyncio.wait(waits, timeout=5, return_when="FIRST_COMPLETED")
        for wait in pending:
            wait.cancel()
        assert done, "the watch's timer neither slept again nor ended"

    async def quiet(self) -> None:
        """Wait (bounded) until the engine's one-off work has ended (the watch included)."""
        await asyncio.wait_for(self.engine.tasks.session.idle(), 5)

    async def sent(self) -> list[str]:
        """The ids of the next watch the engine sends (bounded wait)."""
        return await asyncio.wait_for(self.signaling.arrived.get(), 5)

    def relink(self) -> None:
        """The link drops and comes back: a new connection, which watches nobody."""
        self.signaling.push(LinkDown("transport close"))
        self.signaling.push(LinkUp(calls=(), reconnected=True))

    def presence(self) -> dict[str, Presence]:
        return {c.id: c.presence for c in self.engine.snapshot.contacts}


def people(count: int) -> list[dict[str, str]]:
    """``u0`` … ``u<count-1>``, in the order the server lists them."""
    return [
        {
            "id": f"u{i}",
            "display_name": f"U{i:03d}",
            "email": f"u{i}@acme.test",
            "presence": "offline",
        }
        for i in range(count)
    ]


def ids(first: int, end: int) -> list[str]:
    return [f"u{i}" for i in range(first, end)]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    server, clock = FakeServer(), FakeClock()
    signaling = GatedSignaling()
    signaling.presence = {BOB["id"]: "busy", CAROL["id"]: "online"}
    engine = CallEngine(
        media_factory=lambda prefs: pytest.fail("no media here"),
        api_factory=lambda url: ApiClient(url, transport=fake_server_transport(server)),
        signaling_factory=lambda url, token, device: signaling,
        device_id="dev-1",
        clock=clock,
    )
    rig = Rig(engine, signaling, server, clock)
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


async def test_before_the_screen_says_the_first_screenful_is_watched(rig: Rig) -> None:
    rig.server.contacts = people(PRESENCE_WATCH_MAX + 50)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    assert rig.signaling.watched[-1] == ids(0, FIRST_SCREEN_WATCH)
    assert FIRST_SCREEN_WATCH < 50  # a screenful and a margin, not a page of 200
    assert len(rig.engine.snapshot.contacts) == PRESENCE_WATCH_MAX + 50


async def test_the_rows_on_screen_are_watched_once_a_fling_stops(rig: Rig) -> None:
    rig.server.contacts = people(300)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    for top in range(0, 60, 10):  # a frame every 0.1 s for 0.6 s, a new set each
        rig.engine.watch_visible(ids(top, top + 30))
        await rig.step(0.1)
    assert len(rig.signaling.watched) == 2  # nothing yet: it has not held still
    await rig.settle()
    await rig.watched(3)
    assert rig.signaling.watched[2:] == [ids(50, 80)]  # only the last set


async def test_a_long_slow_scroll_still_watches_every_second(rig: Rig) -> None:
    rig.server.contacts = people(300)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    for top in range(25):  # a new row every 0.25 s, for 6 s: never still for 0.3 s
        rig.engine.watch_visible(ids(top, top + 30))
        await rig.step(0.25)
    await rig.step(WATCH_SETTLE_S)  # then it stops
    await rig.quiet()
    # each second the rows shown then (WATCH_LATEST_S), and the rows where it stopped
    shown_at_each_second = [ids(top, top + 30) for top in (3, 7, 11, 15, 19, 23)]
    assert rig.signaling.watched[2:] == [*shown_at_each_second, ids(24, 54)]


async def test_the_same_rows_are_not_watched_twice(rig: Rig) -> None:
    rig.server.contacts = people(100)
    await rig.engine.refresh_contacts()
    await rig.watched(2)  # the first screenful
    rig.engine.watch_visible(ids(40, 70))
    await rig.settle()
    await rig.watched(3)
    rig.engine.watch_visible(ids(40, 70))  # the same rows again
    await rig.engine.refresh_contacts()  # a reload after a call: the same people
    rig.engine.watch_visible([*reversed(ids(40, 70))])  # the same set
    await rig.settle()
    await rig.quiet()
    assert rig.signaling.watched[2:] == [ids(40, 70)]


async def test_a_reconnect_watches_the_rows_on_screen_again(rig: Rig) -> None:
    rig.server.contacts = people(100)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    rig.engine.watch_visible(ids(40, 70))
    await rig.settle()
    await rig.watched(3)
    rig.signaling.push(LinkUp(calls=(), reconnected=False))  # the first connect: no watch
    rig.relink()  # at once: nothing moves
    await rig.watched(4)
    assert rig.signaling.watched[2:] == [ids(40, 70)] * 2


async def test_a_new_load_watches_the_rows_on_screen_it_still_holds(rig: Rig) -> None:
    rig.server.contacts = people(100)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    rig.engine.watch_visible(ids(40, 70))
    await rig.settle()
    await rig.watched(3)
    rig.server.contacts = people(100)[50:]  # the ones above row 50 are gone
    await rig.engine.refresh_contacts()
    await rig.watched(4)
    rig.server.contacts = people(100)[80:]  # none of the rows on screen is left
    await rig.engine.refresh_contacts()
    await rig.watched(5)
    assert rig.signaling.watched[3:] == [ids(50, 70), ids(80, 100)]


async def test_rows_scrolled_into_view_show_their_presence_now(rig: Rig) -> None:
    rig.server.contacts = people(100)
    await rig.engine.refresh_contacts()
    await rig.watched(2)
    rig.signaling.presence["u80"] = "busy"  # changed while nobody here watched u80
    assert rig.presence()["u80"] == "offline"
    rig.engine.watch_visible(ids(70, 100))
    await rig.settle()
    await rig.watched(3)
    assert rig.presence()["u80"] == "busy"


async def test_a_reconnect_watches_again_and_a_first_connect_does_not(rig: Rig) -> None:
    rig.signaling.presence[BOB["id"]] = "offline"
    rig.signaling.push(LinkUp(calls=(), reconnected=False))
    rig.relink()
    await rig.watched(2)
    assert rig.signaling.watched == [[BOB["id"], CAROL["id"]]] * 2
    assert rig.presence()[BOB["id"]] == "offline"


async def test_an_event_during_the_watch_wins_over_its_snapshot(rig: Rig) -> None:
    rig.signaling.gate = asyncio.Event()
    rig.signaling.presence = {BOB["id"]: "online", CAROL["id"]: "offline"}
    rig.relink()
    await rig.sent()
    rig.signaling.push(PresenceChanged(user_id=BOB["id"], presence="busy"))  # newer than the ack
    rig.signaling.gate.set()
    await rig.watched(2)
    assert rig.presence() == {BOB["id"]: "busy", CAROL["id"]: "offline"}
    heard = [e.data for e in rig.events if e.name == "presence_heard"]
    assert heard == [{"user_id": BOB["id"], "presence": "busy"}]  # in the app's log


async def test_only_the_latest_watch_is_applied(rig: Rig) -> None:
    rig.signaling.gate = asyncio.Event()
    rig.signaling.presence = {BOB["id"]: "offline", CAROL["id"]: "offline"}
    rig.relink()
    await rig.sent()
    rig.signaling.presence = {BOB["id"]: "online", CAROL["id"]: "busy"}
    rig.relink()
    await rig.sent()
    rig.signaling.gate.set()
    await rig.watched(2)
    await rig.quiet()
    assert rig.count() == 2  # the first ack was dropped
    assert rig.presence() == {BOB["id"]: "online", CAROL["id"]: "busy"}


async def test_a_lost_watch_changes_nothing_and_the_next_goes_out(rig: Rig) -> None:
    rig.signaling.watch_error = ServerUnreachable("http://voip.test", "connection lost")
    rig.signaling.presence = {BOB["id"]: "offline"}
    rig.relink()
    await rig.watched(1, "presence_watch_failed")
    assert len(rig.signaling.watched) == 2
    assert rig.presence() == {BOB["id"]: "busy", CAROL["id"]: "online"}  # as the first ack said
    assert rig.count() == 1
    rig.signaling.watch_error = None
    await rig.engine.refresh_contacts()  # the same people: sent again, the last one was lost
    await rig.watched(2)
    assert rig.presence()[BOB["id"]] == "offline"


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"VOIP_PRESENCE_FANOUT_MAX": "2"}  # tenant acme (3 users) is a large tenant here


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
