"""What one app process shares on the phone, as the fake Dart side sees it.

:class:`FakePhone` plays the process-wide half of the extension: ``CallPlatform`` (Dart, static)
and ``FletLivekitPlugin`` (Java) with its foreground service, proximity lock and route watcher,
plus LiveKit's audioswitch (the route's one owner) and the steps a join waits on. Every
``LiveKitRoomService`` of the app shares it, as they share the real ones.

- The foreground service and the proximity lock are held by holders (one per room service) and
  released with the last one, as ``CallPlatform`` does.
- The route is what audioswitch picks: the speaker when forced, else Bluetooth, a wired headset,
  the earpiece. Route changes go to every subscriber of the one route stream; the first
  subscription starts the plugin's watcher, which reports the route at once.
- A join's steps (``JOIN_STEPS``) can be held at a gate, so a test can hang up while a join is in
  the middle of one, as a person does while a call is still connecting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from tests.android.fake_flet import DartError

JoinStep = Literal["start_call_service", "speaker_preference", "room_connect", "publish_microphone"]
JOIN_STEPS: tuple[JoinStep, ...] = get_args(JoinStep)
"""What ``_connect`` in room_service.dart awaits, in order."""

Route = dict[str, str]
RouteListener = Callable[[Route], Awaitable[None]]

KIND_RANK = {"bluetooth": 3, "wired": 2, "earpiece": 1}
"""audioswitch's preference when the speaker is not forced."""


def platform_exception(code: str, message: str) -> DartError:
    """A ``PlatformException`` from the plugin, as Dart prints it."""
    return DartError(f"PlatformException({code}, {message}, null, null)")


@dataclass
class FakePhone:
    devices: list[dict[str, str]] = field(
        default_factory=lambda: [
            {"kind": "earpiece", "name": "Phone"},
            {"kind": "speaker", "name": "Speaker"},
        ]
    )
    """Outputs present, ``{"kind", "name"}``."""
    speaker_forced: bool = False
    """LiveKit's speaker preference (the app forces it or leaves the pick to audioswitch)."""
    record_audio_granted: bool = True
    refuse_foreground_start: str | None = None
    """Android's refusal of the next foreground start (e.g. ForegroundServiceStartNotAllowed)."""
    service_holders: set[object] = field(default_factory=set)
    service_running: bool = False
    notification: tuple[str, str] | None = None
    service_starts: int = 0
    proximity_holders: set[object] = field(default_factory=set)
    proximity_lock: bool = False
    reached: list[JoinStep] = field(default_factory=list)
    """Every join step any join reached, in order."""
    _gates: dict[JoinStep, asyncio.Event] = field(default_factory=dict)
    _subscribers: dict[object, RouteListener] = field(default_factory=dict)
    _last_route: Route | None = None

    # -- joins -------------------------------------------------------------------------------

    def hold(self, step: JoinStep) -> asyncio.Event:
        """Joins wait at ``step`` until the returned event is set."""
        self._gates[step] = gate = asyncio.Event()
        return gate

    async def step(self, step: JoinStep) -> None:
        self.reached.append(step)
        gate = self._gates.get(step)
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0)  # every step is an await: other calls run in between

    # -- CallPlatform: the foreground service and the proximity lock --------------------------

    async def start_call_service(self, holder: object, title: str, text: str) -> None:
        self.service_holders.add(holder)
        if not self.record_audio_granted:
            raise platform_exception(
                "microphone_permission", "the microphone permission is not granted"
            )
        refusal, self.refuse_foreground_start = self.refuse_foreground_start, None
        if refusal is not None:
            # CallForegroundService caught it, stopped itself and reported it.
            raise platform_exception(
                "foreground_service", f"Android refused the call's foreground service: {refusal}"
            )
        self.service_starts += 1
        self.service_running = True
        self.notification = (title, text)

    async def stop_call_service(self, holder: object) -> None:
        if holder not in self.service_holders:
            return
        self.service_holders.discard(holder)
        if not self.service_holders:
            self.service_running = False
            self.notification = None

    async def set_proximity_screen_off(self, holder: object, enabled: bool) -> None:
        if enabled:
            self.proximity_holders.add(holder)
        else:
            self.proximity_holders.discard(holder)
        self.proximity_lock = bool(self.proximity_holders)

    # -- routes: AudioRoutes.java and LiveKit's audioswitch -----------------------------------

    def _best_non_speaker(self) -> dict[str, str] | None:
        ranked = [d for d in self.devices if d["kind"] in KIND_RANK]
        return max(ranked, key=lambda d: KIND_RANK[d["kind"]], default=None)

    def choices(self) -> list[Route]:
        best = self._best_non_speaker()
        automatic = [] if best is None else [_route("automatic", best)]
        return [*automatic, {"id": "speaker", "name": "Speaker", "kind": "speaker"}]

    def route(self) -> Route:
        best = self._best_non_speaker()
        if self.speaker_forced or best is None:
            return {"id": "speaker", "name": "Speaker", "kind": "speaker"}
        return _route("automatic", best)

    async def set_speaker_preference(self, forced: bool) -> None:
        self.speaker_forced = forced
        await self._route_changed()

    async def plug(self, kind: str, name: str) -> None:
        """A wired or Bluetooth headset arrives; audioswitch takes it (unless speaker forced)."""
        self.devices.append({"kind": kind, "name": name})
        await self._route_changed()

    async def unplug(self, name: str) -> None:
        self.devices = [d for d in self.devices if d["name"] != name]
        await self._route_changed()

    def subscribe(self, key: object, listener: RouteListener) -> Route | None:
        """Listen on the one route stream; the first subscriber starts the watcher, which
        reports the route at once (returned here; later subscribers get only changes)."""
        first = not self._subscribers
        self._subscribers[key] = listener
        if not first:
            return None
        self._last_route = self.route()
        return dict(self._last_route)

    def unsubscribe(self, key: object) -> None:
        self._subscribers.pop(key, None)
        if not self._subscribers:
            self._last_route = None  # the watcher stops with the last subscriber

    @property
    def route_watched(self) -> bool:
        return bool(self._subscribers)

    async def _route_changed(self) -> None:
        route = self.route()
        if not self._subscribers or route == self._last_route:
            return
        self._last_route = route
        for listener in list(self._subscribers.values()):
            await listener(dict(route))


def _route(choice: str, device: dict[str, str]) -> Route:
    return {"id": choice, "name": device["name"], "kind": device["kind"]}
