"""What the call screens share: the full-window frame, the caller's block, round buttons."""

from __future__ import annotations

import flet as ft

from voip_app.ui.views.common import Handler, avatar, tagged


def round_button(
    identifier: str,
    icon: ft.IconData,
    label: str,
    on_click: Handler,
    bgcolor: str,
    color: str = ft.Colors.WHITE,
) -> ft.Control:
    button = ft.IconButton(
        icon,
        icon_size=30,
        icon_color=color,
        bgcolor=bgcolor,
        width=68,
        height=68,
        on_click=on_click,
    )
    # its name for screen readers (no tooltip: the label shows below)
    named = tagged(identifier, button, button=True, label=label)
    return ft.Column(
        [named, ft.Text(label, size=13)],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=8,
        tight=True,
    )


def call_frame(identifier: str, children: list[ft.Control]) -> ft.Control:
    column = ft.Column(
        children,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        expand=True,
    )
    frame = ft.Container(
        expand=True,
        gradient=ft.LinearGradient(
            begin=ft.Alignment.TOP_CENTER,
            end=ft.Alignment.BOTTOM_CENTER,
            colors=[ft.Colors.PRIMARY_CONTAINER, ft.Colors.SURFACE],
        ),
        padding=ft.Padding.symmetric(horizontal=24, vertical=48),
        content=column,
    )
    return tagged(identifier, expand=True, content=frame)


def caller_block(
    name: str, status: ft.Control, *, shown_name: ft.Control | None = None
) -> ft.Control:
    """The other person: avatar, name (``shown_name`` when a test reads it), a status line."""
    if shown_name is None:
        shown_name = ft.Text(
            name, size=30, weight=ft.FontWeight.W_600, text_align=ft.TextAlign.CENTER
        )
    return ft.Column(
        [avatar(name, 112), ft.Container(height=8), shown_name, status],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=6,
    )
