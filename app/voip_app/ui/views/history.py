"""The history screen: my recent calls, and calling back from a row (``history.row.<id>…``)."""

from __future__ import annotations

import flet as ft

from voip_app.ui.models import HistoryModel, HistoryRow
from voip_app.ui.views.common import (
    avatar,
    empty_state,
    list_card,
    screen,
    spinner,
    tagged,
    task,
    use_model,
)

_DIRECTION_ICONS = {"outgoing": ft.Icons.CALL_MADE, "incoming": ft.Icons.CALL_RECEIVED}


def outcome_line(row: HistoryRow) -> ft.Control:
    failed = row.status.value not in ("COMPLETED", "IN_PROGRESS", "RINGING")
    icon = ft.Icons.CALL_MISSED if row.missed else _DIRECTION_ICONS[row.direction]
    glyph = ft.Icon(icon, size=16, color=ft.Colors.ERROR if failed else ft.Colors.PRIMARY)
    color = ft.Colors.ERROR if row.missed else ft.Colors.ON_SURFACE_VARIANT
    status = tagged(f"history.row.{row.id}.status", ft.Text(row.status_text, size=13, color=color))
    detail = " · ".join(part for part in (row.duration_text, row.time_text) if part)
    return ft.Row(
        [glyph, status, ft.Text(detail, size=13, color=ft.Colors.ON_SURFACE_VARIANT)], spacing=6
    )


def call_back_button(row: HistoryRow, history: HistoryModel) -> ft.Control:
    button = ft.IconButton(
        ft.Icons.CALL_OUTLINED,
        tooltip=f"Call {row.peer_name} back",
        on_click=task(lambda: history.call_back(row.id)),
    )
    return tagged(f"history.row.{row.id}.callback", button, button=True)


@ft.component
def HistoryTile(row: HistoryRow, key: str | None = None) -> ft.Control:
    """One call; ``key`` is taken by Flet's renderer (stable identity in the list)."""
    history = use_model().history
    who = ft.Column(
        [ft.Text(row.peer_name, size=16, weight=ft.FontWeight.W_500), outcome_line(row)],
        spacing=2,
        expand=True,
    )
    tile = ft.Container(
        padding=ft.Padding.symmetric(horizontal=16, vertical=10),
        content=ft.Row(
            [avatar(row.peer_name, 40), who, call_back_button(row, history)], spacing=16
        ),
    )
    return tagged(f"history.row.{row.id}", tile)


@ft.component
def HistoryView(history: HistoryModel) -> ft.Control:
    if history.rows:
        body = list_card([HistoryTile(row, key=row.id) for row in history.rows])
    elif history.loading:
        body = spinner()
    else:
        body = empty_state(ft.Icons.HISTORY, "No calls yet", "Calls you make and get show up here.")
    return screen("History", [body], scroll=True)
