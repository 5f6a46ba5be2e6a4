"""The composition root: one page gets one engine, one app model and the app's components.

``app/main.py`` runs :func:`main` with ``ft.run``; the browser tests run the same file in Flet's
web mode. Configuration (environment, all optional):

- ``VOIP_SERVER_URL``: the server address the sign-in form starts with;
- ``VOIP_APP_AUDIO``: ``devices`` (default: the machine's microphone and speaker), ``tone`` or
  ``tone:<hz>`` (a test tone, nothing played: what the browser tests use);
- ``VOIP_APP_THEME``: ``system`` (default), ``light`` or ``dark``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import flet as ft

from voip_app import applog
from voip_app.engine import CallEngine, MediaFactory, default_media_factory
from voip_app.platform import current_platform, is_android
from voip_app.ui import theme, update_guard
from voip_app.ui.binding import AudioMode, EngineBinding, media_factory_for
from voip_app.ui.models import DEFAULT_SERVER_URL, AppModel
from voip_app.ui.player import FletPlayer
from voip_app.ui.ports import Post, Spawn
from voip_app.ui.redraw import redraw
from voip_app.ui.ringer import FletRinger
from voip_app.ui.session_store import PreferencesStore, platform_vault
from voip_app.ui.views import App, Viewport

if TYPE_CHECKING:
    from voip_app.push.android import AndroidPushSource

log = logging.getLogger(__name__)

TITLE = "CRM Calls"


def _media_factory(page: ft.Page) -> MediaFactory:
    """The livekit SDK on desktop (devices or a test tone); the Flet extension on Android."""
    desktop = media_factory_for(AudioMode.parse(os.environ.get("VOIP_APP_AUDIO")))
    if not is_android():
        return desktop or default_media_factory
    # Only the APK carries flet-livekit ([tool.flet.android] dependencies).
    from voip_app.media.android import platform_media_factory

    return platform_media_factory(desktop or default_media_factory, page, android=True)


def _push_source(page: ft.Page) -> AndroidPushSource | None:
    """The incoming-call notification's side on Android (the extension); none elsewhere."""
    if not is_android():
        return None
    from voip_app.push.android import AndroidPushSource

    return AndroidPushSource(page=page)


async def _answer_from_notification(push: AndroidPushSource, engine: CallEngine) -> None:
    """Accept on a notification opened the app (perhaps started it): answer that call once it
    rings here; an Accept while the app runs comes as an event."""
    push.set_accept_listener(engine.answer_from_notification)
    try:
        call_id = await push.take_accepted_call()
    except Exception:  # the extension's trouble: the call still rings on screen
        log.exception("could not read the notification's Accept")
        return
    if call_id is not None:
        engine.answer_from_notification(call_id)


def _away(page: ft.Page) -> bool:
    """In web mode, the page's browser tab is disconnected (closed, or a network blip). Flet
    keeps its session for ``FLET_SESSION_TIMEOUT`` seconds, in case it comes back; then
    ``on_close`` signs the engine out, so a closed tab is not a device that rings for long."""
    try:
        return page.session.connection is None
    except RuntimeError:  # the session is gone already
        return True


def _page_loop(page: ft.Page) -> tuple[Post, Spawn]:
    """The models' ``post`` and ``spawn`` for ``page``: on its loop, in its context."""

    def post(fn: Callable[[], None]) -> None:
        async def run() -> None:
            fn()

        if _away(page):
            fn()  # keep the models as current as the engine; the tab sees it when back
        else:
            page.run_task(run)

    def spawn(fn: Callable[[], Awaitable[None]]) -> None:
        # Flet runs only coroutine functions; the models hand over plain lambdas that
        # return a coroutine, so each one is wrapped rather than passed as it is.
        async def run() -> None:
            await fn()

        if _away(page):
            log.debug("a browser tab is away: %s not started", getattr(fn, "__name__", fn))
        else:
            page.run_task(run)

    return post, spawn


async def _model(page: ft.Page, push: AndroidPushSource | None) -> tuple[AppModel, EngineBinding]:
    """The page's engine, bound, and the app's model over it."""
    post, spawn = _page_loop(page)
    platform = current_platform()
    store = PreferencesStore(vault=platform_vault())
    engine = CallEngine(
        media_factory=_media_factory(page), device_id=await store.device_id(), push=push
    )
    engine.add_event_listener(applog.log_event)
    binding = EngineBinding(engine, AudioMode.parse(os.environ.get("VOIP_APP_AUDIO")))
    model = AppModel(
        engine=binding,
        ringer=FletRinger(spawn, platform),
        player=FletPlayer(spawn),
        store=store,
        platform=platform,
        post=post,
        spawn=spawn,
    )
    model.signin.server_url = os.environ.get("VOIP_SERVER_URL", DEFAULT_SERVER_URL)
    model.settings.theme_mode = os.environ.get("VOIP_APP_THEME", "system")
    return model, binding


def _render(page: ft.Page, model: AppModel, viewport: Viewport, binding: EngineBinding) -> None:
    """Render the app and follow the page's own events (its size, its tab leaving and coming
    back, its close); guard its re-renders (:mod:`voip_app.ui.update_guard`)."""

    def redraw_page() -> None:
        redraw(model, viewport)

    def on_resize(e: ft.PageResizeEvent) -> None:
        viewport.width = float(e.width)

    async def on_close(_: ft.Event[ft.Page]) -> None:
        await binding.close()

    def on_disconnect(_: ft.Event[ft.Page]) -> None:
        log.info("browser tab disconnected")

    def on_connect(_: ft.Event[ft.Page]) -> None:
        log.info("browser tab reconnected")
        redraw_page()  # (Flet sends the page as last rendered: changes made meanwhile)

    page.on_resize = on_resize
    page.on_close = on_close
    page.on_disconnect = on_disconnect
    page.on_connect = on_connect
    page.render(App, model, viewport)
    update_guard.guard(page.session, redraw_page)  # (rendering started the update task)


async def main(page: ft.Page) -> None:
    """Build the app for one page (one window, one browser tab)."""
    page.title = TITLE
    if not is_android():
        try:
            applog.install()
        except OSError as exc:  # a read-only working directory: the app runs without its file
            log.warning("no app log: %s", exc)
    page.padding = 0
    theme.apply(page, os.environ.get("VOIP_APP_THEME", "system"))
    push = _push_source(page)
    model, binding = await _model(page, push)
    viewport = Viewport(width=float(page.width or 1024))

    _render(page, model, viewport, binding)
    if push is not None:
        await _answer_from_notification(push, binding.engine)
    await model.start()
