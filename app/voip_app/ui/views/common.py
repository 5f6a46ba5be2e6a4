"""What every screen uses: the model and viewport contexts, semantics identifiers, event handlers,
and the shared building blocks (avatar, screen, list card, section, empty state).

Views render state and call model methods; nothing here talks to the engine, the network or the
platform. Every control a test touches is wrapped in ``ft.Semantics(identifier=...)`` with the
contract's identifier (``shared/ARCHITECTURE.md``), and text a test reads is the visible text of
the identified node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import flet as ft

from voip_app.ui import theme
from voip_app.ui.models import AppModel
from voip_app.ui.models.text import initials

Handler = Callable[..., Any]


@ft.observable
@dataclass
class Viewport:
    """The window's width, kept current by ``page.on_resize`` (``app/main.py``)."""

    width: float = 1024.0

    @property
    def phone(self) -> bool:
        return self.width < theme.PHONE_MAX_WIDTH


ModelContext = ft.create_context(cast("AppModel | None", None))
ViewportContext = ft.create_context(cast("Viewport | None", None))


def use_model() -> AppModel:
    model = ft.use_context(ModelContext)
    assert model is not None, "the app's components run inside App()"
    return model


def use_viewport() -> Viewport:
    viewport = ft.use_context(ViewportContext)
    assert viewport is not None, "the app's components run inside App()"
    return viewport


def tagged(identifier: str, content: ft.Control | None = None, **kwargs: Any) -> ft.Semantics:
    """``content`` with a stable semantics identifier (``[flt-semantics-identifier=...]``)."""
    return ft.Semantics(identifier=identifier, content=content, container=True, **kwargs)


def task(fn: Callable[[], Awaitable[None]]) -> Handler:
    """An event handler that runs a model coroutine."""

    async def handler(_: Any = None) -> None:
        await fn()

    return handler


def avatar(name: str, size: int = 40, presence: str | None = None) -> ft.Control:
    circle = ft.CircleAvatar(
        content=ft.Text(initials(name), size=size * 0.38, weight=ft.FontWeight.W_600),
        radius=size / 2,
        bgcolor=ft.Colors.PRIMARY_CONTAINER,
        color=ft.Colors.ON_PRIMARY_CONTAINER,
    )
    if presence is None:
        return circle
    dot = ft.Container(
        width=size * 0.3,
        height=size * 0.3,
        bgcolor=theme.PRESENCE_COLORS.get(presence, theme.PRESENCE_COLORS["offline"]),
        border_radius=size,
        border=ft.Border.all(2, ft.Colors.SURFACE),
        right=0,
        bottom=0,
    )
    return ft.Stack([circle, dot], width=size, height=size)


def icon_action(
    identifier: str, icon: ft.IconData, tooltip: str, on_click: Handler, **style: Any
) -> ft.Control:
    """A row's round icon button, with its identifier."""
    button = ft.IconButton(icon, tooltip=tooltip, on_click=on_click, **style)
    return tagged(identifier, button, button=True)


def list_row(
    identifier: str, lead: ft.Control, lines: list[ft.Control], action: ft.Control, **box: Any
) -> ft.Control:
    """One row of a list: a picture, lines of text, one action at the end."""
    text = ft.Column(lines, spacing=2, expand=True, alignment=ft.MainAxisAlignment.CENTER)
    row = ft.Container(
        padding=ft.Padding.symmetric(horizontal=16, vertical=10),
        content=ft.Row([lead, text, action], spacing=16),
        **box,
    )
    return tagged(identifier, row)


def screen(title: str, children: list[ft.Control], scroll: bool = False) -> ft.Control:
    return ft.Container(
        expand=True,
        padding=ft.Padding.only(left=12, right=12, top=12),
        content=ft.Column(
            [ft.Text(title, size=24, weight=ft.FontWeight.W_600), *children],
            spacing=12,
            expand=True,
            scroll=ft.ScrollMode.AUTO if scroll else None,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
    )


def list_card(rows: list[ft.Control]) -> ft.Control:
    """Rows on one rounded surface (the screen scrolls)."""
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        border_radius=16,
        padding=ft.Padding.symmetric(vertical=6),
        content=ft.Column(rows, spacing=0),
    )


def section(title: str, children: list[ft.Control]) -> ft.Control:
    return ft.Card(
        content=ft.Container(
            padding=16,
            content=ft.Column(
                [ft.Text(title, size=16, weight=ft.FontWeight.W_600), *children], spacing=12
            ),
        ),
    )


def list_screen(
    title: str,
    tiles: list[ft.Control],
    *,
    loading: bool,
    empty: ft.Control,
    header: list[ft.Control] | None = None,
) -> ft.Control:
    """A screen of rows: the rows, or a spinner while loading, or what to say when there are
    none."""
    body = list_card(tiles) if tiles else spinner() if loading else empty
    return screen(title, [*(header or []), body], scroll=True)


SCROLL_REPORT_MS = 100
"""How often a scrolling list reports where it is (Flet's default is every 10 ms)."""


def rows_screen(
    title: str,
    tiles: list[ft.Control],
    *,
    row_extent: float,
    padding: float,
    on_scroll: Handler,
    loading: bool,
    empty: ft.Control,
    header: list[ft.Control] | None = None,
) -> ft.Control:
    """A screen of many rows of one height: the header stays put, the rows scroll in a list that
    builds only the rows it shows and reports where it is (``on_scroll``, an
    ``ft.OnScrollEvent`` every :data:`SCROLL_REPORT_MS` while it moves)."""
    if not tiles:
        return list_screen(title, tiles, loading=loading, empty=empty, header=header)
    rows = ft.ListView(
        controls=tiles,
        item_extent=row_extent,
        padding=ft.Padding.symmetric(vertical=padding),
        on_scroll=on_scroll,
        scroll_interval=SCROLL_REPORT_MS,
        expand=True,
    )
    card = ft.Container(
        content=rows, expand=True, bgcolor=ft.Colors.SURFACE_CONTAINER_LOW, border_radius=16
    )
    return screen(title, [*(header or []), card])


def empty_state(icon: ft.IconData, title: str, hint: str) -> ft.Control:
    return ft.Container(
        alignment=ft.Alignment.CENTER,
        padding=ft.Padding.only(top=64),
        content=ft.Column(
            [
                ft.Icon(icon, size=48, color=ft.Colors.OUTLINE),
                ft.Text(title, size=18, weight=ft.FontWeight.W_500),
                ft.Text(hint, color=ft.Colors.ON_SURFACE_VARIANT),
            ],
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            tight=True,
        ),
    )


def spinner() -> ft.Control:
    """Loading, with nothing to show yet."""
    return ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, padding=48)
