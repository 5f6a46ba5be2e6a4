"""``lib/src/push_service.dart`` and the plugin's push half played in Python, for the push
service's Python side.

:class:`FakeCallPushDart` is ``CallPushService`` (Dart): the same methods, events and error texts.
:class:`FakePushPhone` is what is process-wide on the phone: ``CallPushChannel.java`` (the server
the Decline goes to, the call an Accept opened the app for, the event sink) and FCM (the token,
whether this build carries a Firebase configuration). Hooks play what only a phone can do: FCM
rotates the token, the person taps Accept on a notification with the app running or not.
If push_service.dart or CallPushChannel.java changes, change this with them
(``test_push_package.py`` checks the names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.android.fake_flet import DartError, FakeDartService, FakeFletClient


@dataclass
class FakePushPhone:
    """``CallPushChannel.java`` and FCM, once per app process."""

    firebase_configured: bool = True
    token: str = "fcm-token-1"
    server_url: str | None = None
    accepted_call: str | None = None
    services: list[FakeCallPushDart] = field(default_factory=list)
    """Dart services listening on ``flet_livekit/push_events``."""

    def start(self, server_url: str) -> str | None:
        self.server_url = server_url
        return self.token if self.firebase_configured else None

    def take_accepted_call(self) -> str | None:
        call_id, self.accepted_call = self.accepted_call, None
        return call_id

    async def rotate(self, token: str) -> None:
        """FCM's ``onNewToken``: the event reaches the listening services."""
        self.token = token
        for service in list(self.services):
            await service.platform_event({"event": "token", "token": token})

    async def accept_on_notification(self, call_id: str) -> None:
        """The person tapped Accept: an event while the app runs, else kept for the app."""
        if not self.services:
            self.accepted_call = call_id
        for service in list(self.services):
            await service.platform_event({"event": "accepted", "call_id": call_id})


class FakeCallPushDart(FakeDartService):
    """``CallPushService`` (push_service.dart) over the fake phone."""

    def __init__(self, client: FakeFletClient, control_id: int) -> None:
        super().__init__(client, control_id)
        self.phone = client.process_state(FakePushPhone)
        self.phone.services.append(self)

    def dispose(self) -> None:
        super().dispose()
        self.phone.services.remove(self)

    async def invoke(self, name: str, args: Any) -> Any:
        match name:
            case "start":
                return self.phone.start(args["server_url"])
            case "stop":
                self.phone.server_url = None
                return None
            case "take_accepted_call":
                return self.phone.take_accepted_call()
            case _:
                raise DartError(f"Exception: Unknown CallPush method: {name}")

    async def platform_event(self, event: dict[str, str]) -> None:
        """``_onPlatformEvent``."""
        if event["event"] == "token":
            await self._emit("token_refreshed", {"token": event["token"]})
        elif event["event"] == "accepted":
            await self._emit("call_accepted", {"call_id": event["call_id"]})

    async def _emit(self, name: str, data: dict[str, Any]) -> None:
        if not self.disposed:
            await self.emit(name, data)
