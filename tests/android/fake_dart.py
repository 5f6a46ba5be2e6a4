"""``lib/src/room_service.dart`` played in Python, for the extension's Python side.

:class:`FakeLiveKitDart` is ``LiveKitRoomService`` over a fake ``livekit_client`` room and the
fake phone of ``tests/android/fake_phone.py``: the same methods, the same refusals, the same
events, in the same order, with the same await points, and the same error texts (Flet sends a
Dart exception's ``toString()``: ``Exception: ...`` for ``throw Exception(...)``). In particular
a join is the Dart join: it starts the foreground service, sets the speaker preference,
connects, publishes the microphone, and after each of those checks whether a leave (or a
dispose) cancelled it, in which case it releases what it holds and reports nothing. If
room_service.dart changes, change this with it (``test_flutter_package.py`` checks the names
and the join's steps; only this file carries the behaviour).

Hooks play what only a device and a peer can do: a peer joins or mutes, the network drops, the
server ends the room; the phone (``client.process_state(FakePhone)``) plugs in headsets, holds
a join at a step, refuses a foreground start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.android.fake_flet import (
    DartError,
    FakeDartService,
    FakeFletClient,
    InvokeCall,
    SentEvent,
    wait_until,
)
from tests.android.fake_phone import JOIN_STEPS, FakePhone, Route
from tests.android.fake_push import FakeCallPushDart

REFUSED_TOKEN_PREFIX = "refused."

__all__ = [
    "JOIN_STEPS",
    "REFUSED_TOKEN_PREFIX",
    "DartError",
    "FakeDartService",
    "FakeFletClient",
    "FakeLiveKitDart",
    "FakePhone",
    "FakeRoomState",
    "InvokeCall",
    "SentEvent",
    "new_client",
    "wait_until",
]


@dataclass
class FakeRoomState:
    """One service's room. ``connected`` is Dart's ``_room != null`` (joined and reported)."""

    connected: bool = False
    joined: bool = False
    """The room is connected at the SFU (``Room.connect`` returned, not yet disconnected)."""
    url: str | None = None
    token: str | None = None
    microphone_enabled: bool = True
    """Wanted before the join too: the join publishes the microphone muted or not."""
    microphone_published: bool = False
    """A microphone track is published in the room."""

    @property
    def microphone_live(self) -> bool:
        """The far end hears this phone's microphone."""
        return self.joined and self.microphone_published and self.microphone_enabled


class _Join:
    def __init__(self) -> None:
        self.cancelled = False


class _JoinCancelledError(Exception):
    pass


class FakeLiveKitDart(FakeDartService):
    """``LiveKitRoomService`` (room_service.dart) over a fake room and the fake phone.

    A token starting with :data:`REFUSED_TOKEN_PREFIX` is refused by the fake LiveKit server (as
    a real one refuses a bad or expired token), so ``connect`` fails the way ``Room.connect``
    throws.
    """

    def __init__(self, client: FakeFletClient, control_id: int) -> None:
        super().__init__(client, control_id)
        self.phone = client.process_state(FakePhone)
        self.room = FakeRoomState()
        self.join: _Join | None = None
        self.speaker_chosen = False
        self.reported_route: str | None = None
        # init(): the service listens on the one route stream from its start.
        self.route: Route | None = self.phone.subscribe(self, self._on_route)

    @property
    def props(self) -> dict[str, Any]:
        return self.client.controls.get(self.control_id, {})

    def dispose(self) -> None:
        super().dispose()
        if self.join is not None:
            self.join.cancelled = True
        self.phone.unsubscribe(self)
        self.client.spawn(self._teardown())

    async def invoke(self, name: str, args: Any) -> Any:
        match name:
            case "connect":
                return await self._connect(args["url"], args["token"])
            case "disconnect":
                return await self._leave()
            case "set_microphone_enabled":
                return self._set_microphone_enabled(args["enabled"])
            case "list_audio_outputs":
                return self.phone.choices()
            case "select_audio_output":
                return await self._select_audio_output(args["output_id"])
            case _:
                raise DartError(f"Exception: Unknown LiveKitRoom method: {name}")

    async def _connect(self, url: str, token: str) -> None:
        if self.disposed:
            raise DartError("Exception: the room service is gone")
        if self.room.connected or self.join is not None:
            raise DartError("Exception: already connected to a room; disconnect first")
        join = self.join = _Join()
        try:
            await self.phone.step("start_call_service")
            await self.phone.start_call_service(
                self,
                self.props.get("notification_title", "Call in progress"),
                self.props.get("notification_text", "Tap to return to the call"),
            )
            self._check(join)
            await self.phone.step("speaker_preference")
            await self.phone.set_speaker_preference(self.speaker_chosen)
            self._check(join)
            await self.phone.step("room_connect")
            if token.startswith(REFUSED_TOKEN_PREFIX):
                raise DartError("ConnectException: could not connect (401 unauthorized)")
            self.room.joined, self.room.url, self.room.token = True, url, token
            self._check(join)
            await self.phone.step("publish_microphone")
            self.room.microphone_published = self.room.microphone_enabled
            self._check(join)
        except (DartError, _JoinCancelledError) as e:
            if self.join is join:
                self.join = None
            await self._release()
            if join.cancelled:
                raise DartError("the call was left while joining") from e
            raise DartError(f"Exception: could not join the room: {e}") from e
        self.join = None
        self.room.connected = True
        self.reported_route = None
        await self._emit("connected")
        await self._report_route()

    @staticmethod
    def _check(join: _Join) -> None:
        if join.cancelled:
            raise _JoinCancelledError

    async def _leave(self) -> None:
        if self.join is not None:
            self.join.cancelled = True
            return
        if not self.room.connected:
            return
        await self._teardown()
        await self._emit("disconnected", {"reason": "client_initiated"})

    async def _teardown(self) -> None:
        was_connected, self.room.connected = self.room.connected, False
        self.reported_route = None
        if was_connected:
            await self._release()

    async def _release(self) -> None:
        self.room.joined = False
        self.room.microphone_published = False
        await self.phone.set_proximity_screen_off(self, False)
        await self.phone.stop_call_service(self)

    def _set_microphone_enabled(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise DartError("type 'int' is not a subtype of type 'bool' in type cast")
        self.room.microphone_enabled = enabled
        if self.room.connected and enabled:
            self.room.microphone_published = True

    async def _select_audio_output(self, output_id: str) -> Route:
        output = next((o for o in self.phone.choices() if o["id"] == output_id), None)
        if output is None:
            raise DartError(f"Exception: unknown audio output '{output_id}'")
        self.speaker_chosen = output_id == "speaker"
        await self.phone.set_speaker_preference(self.speaker_chosen)
        return output

    async def _on_route(self, route: Route) -> None:
        self.route = route
        if self.room.connected:
            await self._apply_route(route)

    async def _report_route(self) -> None:
        self.route = self.phone.route()
        if self.room.connected:
            await self._apply_route(self.route)

    async def _apply_route(self, route: Route) -> None:
        key = f"{route['id']}|{route['name']}|{route['kind']}"
        if key != self.reported_route:
            self.reported_route = key
            await self._emit(
                "audio_output_changed",
                {"output_id": route["id"], "output_name": route["name"], "kind": route["kind"]},
            )
        at_the_ear = (
            self.room.connected
            and route["kind"] == "earpiece"
            and self.props.get("proximity_screen_off", True)
        )
        await self.phone.set_proximity_screen_off(self, bool(at_the_ear))

    async def _emit(self, name: str, data: dict[str, Any] | None = None) -> bool:
        if self.disposed:
            return False
        return await self.emit(name, data)

    # -- what a peer, the network or the server does -----------------------------------------

    async def peer_joins(self, identity: str) -> bool:
        return await self._emit("participant_connected", {"identity": identity})

    async def peer_leaves(self, identity: str) -> bool:
        return await self._emit("participant_disconnected", {"identity": identity})

    async def peer_mutes(self, identity: str, muted: bool) -> bool:
        return await self._emit("track_muted", {"identity": identity, "muted": muted})

    async def quality(self, identity: str, quality: str) -> bool:
        return await self._emit("connection_quality", {"identity": identity, "quality": quality})

    async def network_drops(self) -> bool:
        return await self._emit("reconnecting")

    async def network_returns(self) -> bool:
        return await self._emit("reconnected")

    async def server_ends(self, reason: str) -> None:
        """``RoomDisconnectedEvent`` for a room that went away on its own."""
        if not self.room.connected:
            return
        await self._teardown()
        await self._emit("disconnected", {"reason": reason})


def new_client() -> FakeFletClient:
    return FakeFletClient({"LiveKitRoom": FakeLiveKitDart, "CallPush": FakeCallPushDart})
