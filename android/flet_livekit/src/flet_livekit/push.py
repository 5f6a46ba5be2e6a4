# No `from __future__ import annotations` here: see the note at the top of `types.py`.
"""The Python side of the extension's push half: one :class:`CallPush` service per app.

FCM's messages are received natively (``CallPushService``, a ``FirebaseMessagingService`` in the
plugin's Java), so the incoming-call notification appears with the app in the background or
killed, when no Flutter engine (and no Python) runs. This service is what the running app asks
of that native side: the device's FCM token (and its rotations), where the notification's Decline
goes, and which call the person accepted on the notification (the app was opened for it).
"""

from typing import Any

import flet as ft

from flet_livekit.room import call_dart
from flet_livekit.types import AcceptedCallEvent, LiveKitError, PushTokenEvent

URL_SCHEMES = ("http://", "https://")
CALL_TIMEOUT_S = 15.0
"""Fetching the FCM token can take a few seconds on a cold start."""


@ft.control("CallPush")  # type: ignore[arg-type]
class CallPush(ft.Service):
    """This device's push token, and the incoming-call notification's news."""

    on_token_refreshed: ft.EventHandler[PushTokenEvent] | None = None
    """FCM rotated the token (register it again)."""
    on_call_accepted: ft.EventHandler[AcceptedCallEvent] | None = None
    """The person accepted a call on its notification while the app was running."""

    async def start(self, server_url: str) -> str | None:
        """The app signed in to ``server_url``: the notification's Decline goes there from now
        on. Returns this device's FCM token, or ``None`` when the build has no Firebase
        configuration (``google-services.json``, see ``android/README.md``)."""
        if not isinstance(server_url, str) or not server_url.startswith(URL_SCHEMES):
            raise ValueError("server_url must be an http:// or https:// URL")
        if len(server_url) > 2048:
            raise ValueError("server_url is too long")
        token = await self._call("start", {"server_url": server_url.rstrip("/")})
        if token is not None and not isinstance(token, str):
            raise LiveKitError(f"start answered {type(token).__name__}, not a token")
        return token or None

    async def stop(self) -> None:
        """Signed out: the native side forgets the server (a Decline then only stops the
        ringing)."""
        await self._call("stop", None)

    async def take_accepted_call(self) -> str | None:
        """The call whose notification's Accept opened the app, once (``None``: none)."""
        call_id = await self._call("take_accepted_call", None)
        if call_id is not None and not isinstance(call_id, str):
            raise LiveKitError(f"take_accepted_call answered {type(call_id).__name__}")
        return call_id or None

    async def _call(self, method: str, arguments: dict[str, Any] | None) -> Any:
        return await call_dart(self, method, arguments, CALL_TIMEOUT_S)
