"""Push on Android: :class:`AndroidPushSource`, the engine's :class:`~voip_app.push.PushSource`
over the ``flet_livekit.CallPush`` service.

The native side (``CallPushService``, Java) receives FCM's messages and shows the incoming-call
notification with or without the app; this adapter gives the engine the token and its
rotations, tells the native side where to decline, and hands the app the call the person
accepted on a notification (at start, :meth:`AndroidPushSource.take_accepted_call`; while
running, the accept listener).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

import flet as ft
from flet.controls.context import _context_page

from voip_app.listeners import notify
from voip_app.push import TokenListener

if TYPE_CHECKING:
    from flet_livekit import AcceptedCallEvent, CallPush, PushTokenEvent

log = logging.getLogger(__name__)

AcceptListener = Callable[[str], None]


class AndroidPushSource:
    """:class:`voip_app.push.PushSource` on the extension's ``CallPush`` service; keep it for
    the app's life (it holds the reference that keeps the service registered)."""

    def __init__(self, *, page: ft.Page | None = None) -> None:
        from flet_livekit import CallPush

        self._token_listener: TokenListener | None = None
        self._accept_listener: AcceptListener | None = None
        # As AndroidMediaSession: the service registers with the page it is made for.
        token = cast("ContextVar[Any]", _context_page).set(page) if page is not None else None
        try:
            self.service: CallPush = CallPush(
                on_token_refreshed=self._on_token, on_call_accepted=self._on_accepted
            )
        finally:
            if token is not None:
                _context_page.reset(token)

    async def start(self, server_url: str) -> str | None:
        return await self.service.start(server_url)

    def set_token_listener(self, listener: TokenListener | None) -> None:
        self._token_listener = listener

    async def stop(self) -> None:
        await self.service.stop()

    async def take_accepted_call(self) -> str | None:
        """The call whose notification's Accept opened the app (once), or ``None``."""
        return await self.service.take_accepted_call()

    def set_accept_listener(self, listener: AcceptListener | None) -> None:
        """``listener(call_id)`` when a notification's Accept is tapped while the app runs."""
        self._accept_listener = listener

    def _on_token(self, e: PushTokenEvent) -> None:
        notify([self._token_listener], e.token, log=log, what="push token")

    def _on_accepted(self, e: AcceptedCallEvent) -> None:
        notify([self._accept_listener], e.call_id, log=log, what="accepted call")


__all__ = ["AndroidPushSource"]
