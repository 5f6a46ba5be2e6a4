"""A fake Flutter client for the extension's Python side: a real Flet session, no Flutter.

:class:`FakeFletClient` is a :class:`flet.messaging.connection.Connection`. The app's real
:class:`flet.messaging.session.Session` runs on it; every message the session sends goes through
Flet's real MessagePack codec and is read the way the Dart client reads it:

- ``PATCH_CONTROL`` / ``REGISTER_CLIENT``: the fake keeps each control's serialized properties, so
  it knows which ``on_*`` handlers are set;
- ``INVOKE_METHOD``: recorded in :attr:`FakeFletClient.calls` and answered by the fake Dart service
  of that control type (:class:`FakeLiveKitDart` for ``LiveKitRoom``), through
  ``Session.handle_invoke_method_results`` as the socket server does;
- ``SESSION_CRASHED`` (an ``on_*`` handler raised): recorded in :attr:`FakeFletClient.crashes`.

Events go the other way as Dart's ``control.triggerEvent`` sends them: only when the control's
``on_<name>`` handler is set, with the payload round-tripped through MessagePack.

:class:`FakeLiveKitDart` plays ``lib/src/room_service.dart`` over a fake room: the same methods,
the same refusals, the same events, plus hooks for what only a device and a peer can do (a peer
joins or mutes, the network drops, a headset is plugged in).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgpack  # type: ignore[import-untyped]
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    Message,
    MessageAction,
    RegisterClientResponseBody,
    configure_encode_object_for_msgpack,
    decode_ext_from_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

T = TypeVar("T")


class DartError(Exception):
    """What a Dart method throws; its text reaches Python as the invoke error."""


@dataclass(frozen=True)
class InvokeCall:
    control_id: int
    name: str
    args: Any


@dataclass(frozen=True)
class SentEvent:
    control_id: int
    name: str
    data: Any
    delivered: bool
    """False when the control had no ``on_<name>`` handler, so Dart would not send it."""


class FakeDartService:
    """A Dart ``FletService``: answers invoke calls, triggers events through its client."""

    def __init__(self, client: FakeFletClient, control_id: int) -> None:
        self.client = client
        self.control_id = control_id

    async def invoke(self, name: str, args: Any) -> Any:
        raise DartError(f"Unknown method: {name}")

    async def emit(self, name: str, data: dict[str, Any] | None = None) -> bool:
        # room_service.dart always sends a map (empty for connected/reconnecting/reconnected),
        # so Flet builds the handler's typed event rather than a bare one.
        return await self.client.trigger_event(self.control_id, name, data or {})


class FakeFletClient(Connection):
    """The Flutter client, faked at Flet's wire protocol (see the module docstring)."""

    def __init__(self, dart_services: dict[str, type[FakeDartService]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.loop = asyncio.get_running_loop()
        self.pubsubhub = PubSubHub(loop=self.loop)
        self._dart_service_types = dart_services
        self.controls: dict[int, dict[str, Any]] = {}
        self.dart_services: dict[int, FakeDartService] = {}
        self.calls: list[InvokeCall] = []
        self.events: list[SentEvent] = []
        self.crashes: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._encode = configure_encode_object_for_msgpack(BaseControl)  # type: ignore[no-untyped-call]
        self.session = Session(self)
        # What the socket server does when the Flutter client registers.
        page_patch = self.session.get_page_patch()  # type: ignore[no-untyped-call]
        self.send_message(
            Message(
                MessageAction.REGISTER_CLIENT,
                RegisterClientResponseBody(
                    session_id=self.session.id, page_patch=page_patch, error=""
                ),
            )
        )

    # -- the app side ------------------------------------------------------------------------

    @contextlib.contextmanager
    def page_context(self) -> Iterator[None]:
        """Run app code as Flet runs ``main(page)``: services register with this page."""
        token = _context_page.set(self.session.page)
        try:
            yield
        finally:
            _context_page.reset(token)

    def build(self, factory: Callable[[], T]) -> T:
        with self.page_context():
            return factory()

    # -- Connection --------------------------------------------------------------------------

    def send_message(self, message: Message) -> None:
        packed = msgpack.packb([message.action, message.body], default=self._encode)
        action, body = msgpack.unpackb(packed, ext_hook=decode_ext_from_msgpack)
        match MessageAction(action):
            case MessageAction.REGISTER_CLIENT:
                self._remember_controls(body["page_patch"])
            case MessageAction.PATCH_CONTROL:
                self._apply_patch(body["id"], body["patch"])
            case MessageAction.INVOKE_METHOD:
                self._spawn(self._answer(body))
            case MessageAction.SESSION_CRASHED:
                self.crashes.append(body["message"])
            case _:
                pass

    def _remember_controls(self, value: Any) -> None:
        if isinstance(value, dict):
            if "_i" in value and "_c" in value:
                self.controls.setdefault(value["_i"], {}).update(value)
            for item in value.values():
                self._remember_controls(item)
        elif isinstance(value, list):
            for item in value:
                self._remember_controls(item)

    def _apply_patch(self, control_id: int, patch: list[Any]) -> None:
        # patch = [[tree indexes], [op, node, key, value], ...]; op 0 on node 0 replaces a
        # property of the patched control itself, which is how a changed handler arrives.
        for op in patch[1:]:
            kind, node, key, value = op
            if kind == 0 and node == 0 and isinstance(key, str) and control_id in self.controls:
                self.controls[control_id][key] = value
            self._remember_controls(value)

    def dart_service(self, control_id: int) -> FakeDartService | None:
        """The Dart service of a registered control (created on first use, as Flet does)."""
        if control_id not in self.dart_services:
            control = self.controls.get(control_id)
            service_type = self._dart_service_types.get(control["_c"]) if control else None
            if service_type is None:
                return None
            self.dart_services[control_id] = service_type(self, control_id)
        return self.dart_services[control_id]

    async def _answer(self, body: dict[str, Any]) -> None:
        control_id, call_id, name = body["control_id"], body["call_id"], body["name"]
        args = body.get("args")  # Flet leaves out `args` when there are none
        self.calls.append(InvokeCall(control_id, name, args))
        service = self.dart_service(control_id)
        result: Any = None
        error: str | None = None
        if service is None:
            error = f"No invoke method listeners registered for control {control_id}."
        else:
            try:
                result = await service.invoke(name, args)
            except DartError as e:
                error = str(e)
            except Exception as e:  # a bug in a fake must fail the test, not hang it
                error = f"fake Dart service crashed: {e!r}"
        result = msgpack.unpackb(msgpack.packb(result), ext_hook=decode_ext_from_msgpack)
        self.session.handle_invoke_method_results(control_id, call_id, result, error)

    # -- the Dart side's events --------------------------------------------------------------

    async def trigger_event(self, control_id: int, name: str, data: Any) -> bool:
        """``control.triggerEvent(name, data)``: sent only if ``on_<name>`` is set."""
        delivered = self.controls.get(control_id, {}).get(f"on_{name}") is True
        self.events.append(SentEvent(control_id, name, data, delivered))
        if delivered:
            payload = msgpack.unpackb(msgpack.packb(data), ext_hook=decode_ext_from_msgpack)
            await self.session.dispatch_event(control_id, name, payload)
        return delivered

    def calls_named(self, name: str) -> list[InvokeCall]:
        return [c for c in self.calls if c.name == name]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.session.close()  # type: ignore[no-untyped-call]
        # Session.close() schedules the page's "close" event; let it run before the loop ends.
        await asyncio.sleep(0)


REFUSED_TOKEN_PREFIX = "refused."

DEFAULT_OUTPUTS: tuple[dict[str, str], ...] = (
    {"id": "earpiece", "name": "Phone", "kind": "earpiece"},
    {"id": "speaker", "name": "Speaker", "kind": "speaker"},
)


@dataclass
class FakeRoomState:
    connected: bool = False
    url: str | None = None
    token: str | None = None
    microphone_enabled: bool = True
    """Wanted before the join too: the join publishes the microphone muted or not."""
    call_service_running: bool = False
    """The Android foreground service (type microphone) with the ongoing-call notification."""
    notification: tuple[str, str] | None = None
    proximity_screen_off: bool = False
    """The proximity wake lock (screen off at the ear) is held."""
    outputs: list[dict[str, str]] = field(
        default_factory=lambda: [dict(o) for o in DEFAULT_OUTPUTS]
    )
    selected_output: str = "earpiece"


class FakeLiveKitDart(FakeDartService):
    """``LiveKitRoomService`` (room_service.dart) over a fake ``livekit_client`` room.

    A token starting with :data:`REFUSED_TOKEN_PREFIX` is refused by the fake LiveKit server (as
    a real one refuses a bad or expired token), so ``connect`` fails the way ``Room.connect``
    throws.
    """

    def __init__(self, client: FakeFletClient, control_id: int) -> None:
        super().__init__(client, control_id)
        self.room = FakeRoomState()

    @property
    def props(self) -> dict[str, Any]:
        return self.client.controls[self.control_id]

    async def invoke(self, name: str, args: Any) -> Any:
        match name:
            case "connect":
                return await self._connect(args["url"], args["token"])
            case "disconnect":
                return await self._disconnect("client_initiated")
            case "set_microphone_enabled":
                return self._set_microphone_enabled(args["enabled"])
            case "list_audio_outputs":
                return [dict(o) for o in self.room.outputs]
            case "select_audio_output":
                return await self._select_audio_output(args["output_id"])
            case _:
                raise DartError(f"Unknown LiveKitRoom method: {name}")

    async def _connect(self, url: str, token: str) -> None:
        if self.room.connected:
            raise DartError("already connected to a room; disconnect first")
        if token.startswith(REFUSED_TOKEN_PREFIX):
            raise DartError(
                "could not join the room: ConnectException: could not connect (401 unauthorized)"
            )
        self.room.connected, self.room.url, self.room.token = True, url, token
        self.room.call_service_running = True
        self.room.notification = (
            self.props.get("notification_title", "Call in progress"),
            self.props.get("notification_text", "Tap to return to the call"),
        )
        self.room.proximity_screen_off = self.props.get("proximity_screen_off", True)
        await self.emit("connected")

    async def _disconnect(self, reason: str) -> None:
        if not self.room.connected:
            return
        self.room.connected = False
        self.room.call_service_running = False
        self.room.notification = None
        self.room.proximity_screen_off = False
        await self.emit("disconnected", {"reason": reason})

    def _set_microphone_enabled(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise DartError("enabled must be a bool")
        self.room.microphone_enabled = enabled

    async def _select_audio_output(self, output_id: str) -> dict[str, str]:
        output = next((o for o in self.room.outputs if o["id"] == output_id), None)
        if output is None:
            raise DartError(f"unknown audio output {output_id!r}")
        self.room.selected_output = output_id
        await self._emit_route(output)
        return dict(output)

    async def _emit_route(self, output: dict[str, str]) -> None:
        await self.emit(
            "audio_output_changed",
            {"output_id": output["id"], "output_name": output["name"], "kind": output["kind"]},
        )

    # -- what a peer, the network or the phone does ------------------------------------------

    async def peer_joins(self, identity: str) -> bool:
        return await self.emit("participant_connected", {"identity": identity})

    async def peer_leaves(self, identity: str) -> bool:
        return await self.emit("participant_disconnected", {"identity": identity})

    async def peer_mutes(self, identity: str, muted: bool) -> bool:
        return await self.emit("track_muted", {"identity": identity, "muted": muted})

    async def quality(self, identity: str, quality: str) -> bool:
        return await self.emit("connection_quality", {"identity": identity, "quality": quality})

    async def network_drops(self) -> bool:
        return await self.emit("reconnecting")

    async def network_returns(self) -> bool:
        return await self.emit("reconnected")

    async def server_ends(self, reason: str) -> None:
        await self._disconnect(reason)

    async def headset_plugged(self, output: dict[str, str]) -> None:
        """A wired or Bluetooth headset arrives; Android routes the call to it."""
        self.room.outputs.append(dict(output))
        self.room.selected_output = output["id"]
        await self._emit_route(output)


def new_client() -> FakeFletClient:
    return FakeFletClient({"LiveKitRoom": FakeLiveKitDart})


async def wait_until(predicate: Callable[[], bool], what: str, *, tries: int = 200) -> None:
    """Yield to the loop until ``predicate`` holds (bounded: a broken fake fails, not hangs)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")
