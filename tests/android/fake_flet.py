"""A fake Flutter client for the extension's Python side: a real Flet session, no Flutter.

:class:`FakeFletClient` is a :class:`flet.messaging.connection.Connection`. The app's real
:class:`flet.messaging.session.Session` runs on it; every message the session sends goes through
Flet's real MessagePack codec and is read the way the Dart client reads it:

- ``PATCH_CONTROL`` / ``REGISTER_CLIENT``: the fake keeps each control's serialized properties, so
  it knows which ``on_*`` handlers are set; a service whose control a patch removed (Flet sweeps
  services nothing references any more) is disposed, as the Flutter client disposes it;
- ``INVOKE_METHOD``: recorded in :attr:`FakeFletClient.calls` and answered by the fake Dart service
  of that control type (``tests/android/fake_dart.py`` for ``LiveKitRoom``), through
  ``Session.handle_invoke_method_results`` as the socket server does;
- ``SESSION_CRASHED`` (an ``on_*`` handler raised): recorded in :attr:`FakeFletClient.crashes`.

Events go the other way as Dart's ``control.triggerEvent`` sends them: only when the control's
``on_<name>`` handler is set, with the payload round-tripped through MessagePack.

What is process-wide on the Dart side (a plugin's platform state, shared by every service of the
app) lives in :meth:`FakeFletClient.process_state`, one object per type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

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
        self.disposed = False

    async def invoke(self, name: str, args: Any) -> Any:
        raise DartError(f"Unknown method: {name}")

    def dispose(self) -> None:
        """``FletService.dispose()``: the control is gone from the page."""
        self.disposed = True

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
        self.late_answers: list[InvokeCall] = []
        """Answers Dart sent for a control Python had removed (Flet would log and drop them)."""
        self._process: dict[type[Any], Any] = {}
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

    def process_state(self, kind: type[T]) -> T:
        """The one ``kind`` of this app's process (a plugin's static state), made on first use."""
        if kind not in self._process:
            self._process[kind] = kind()
        return cast(T, self._process[kind])

    # -- Connection --------------------------------------------------------------------------

    def send_message(self, message: Message) -> None:
        packed = msgpack.packb([message.action, message.body], default=self._encode)
        action, body = msgpack.unpackb(packed, ext_hook=decode_ext_from_msgpack)
        match MessageAction(action):
            case MessageAction.REGISTER_CLIENT:
                self._remember_controls(body["page_patch"])
            case MessageAction.PATCH_CONTROL:
                self._apply_patch(body["id"], body["patch"])
                # The session drops removed controls from its index right after sending.
                self.spawn(self._dispose_removed())
            case MessageAction.INVOKE_METHOD:
                self.spawn(self._answer(body))
            case MessageAction.SESSION_CRASHED:
                self.crashes.append(body["message"])
            case _:
                pass

    def _remember_controls(self, value: Any) -> None:
        if isinstance(value, dict):
            if "_i" in value and "_c" in value:
                self.controls.setdefault(value["_i"], {}).update(value)
                self.dart_service(value["_i"])  # Flutter makes a service as it sees its control
            for item in value.values():
                self._remember_controls(item)
        elif isinstance(value, list):
            for item in value:
                self._remember_controls(item)

    def _apply_patch(self, control_id: int, patch: list[Any]) -> None:
        # patch = [[tree indexes], [op, node, key, value], ...]; op 0 on node 0 replaces a
        # property of the patched control itself, which is how a changed handler arrives.
        # A remove op has no value: [2, node, index]; a removed service is found through the
        # session's index instead (see _dispose_removed).
        for op in patch[1:]:
            if len(op) < 4:
                continue
            kind, node, key, value = op[:4]
            if kind == 0 and node == 0 and isinstance(key, str) and control_id in self.controls:
                self.controls[control_id][key] = value
            self._remember_controls(value)

    async def _dispose_removed(self) -> None:
        for control_id, service in list(self.dart_services.items()):
            if control_id not in self.session.index and not service.disposed:
                self.controls.pop(control_id, None)
                service.dispose()

    def dart_service(self, control_id: int) -> FakeDartService | None:
        """The Dart service of a control (made as its control appears, kept once disposed)."""
        if control_id not in self.dart_services:  # a disposed one stays, for the tests to read
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
        if control_id not in self.session.index:
            self.late_answers.append(InvokeCall(control_id, name, args))
            return
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

    def spawn(self, coro: Awaitable[None]) -> None:
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


async def wait_until(predicate: Callable[[], bool], what: str, *, tries: int = 200) -> None:
    """Yield to the loop until ``predicate`` holds (bounded: a broken fake fails, not hangs)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")
