"""Push on this device, behind one small interface: the token FCM reaches it with, and the
incoming-call notification's Accept.

:class:`PushSource` is what the engine asks of the platform. On Android it is the
``flet_livekit.CallPush`` service (:mod:`voip_app.push.android`: a native
``FirebaseMessagingService`` posts the call's notification even with the app killed); on
desktop and web there is no FCM, so there is no source and nothing is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

TokenListener = Callable[[str], None]


class PushSource(Protocol):
    """This device's push token, and the native side that shows the incoming-call notification."""

    async def start(self, server_url: str) -> str | None:
        """The app signed in to ``server_url`` (the notification's Decline goes there); this
        device's current push token, or ``None`` when this build has no push configured."""
        ...

    def set_token_listener(self, listener: TokenListener | None) -> None:
        """``listener(token)`` whenever the token rotates (``None``: nobody listens)."""

    async def stop(self) -> None:
        """Signed out: the native side forgets the server."""


__all__ = ["PushSource", "TokenListener"]
