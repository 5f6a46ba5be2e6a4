"""The history screen: my recent calls, calling back from a row (``history.row.<id>.callback``)
and playing its recording (``history.row.<id>.play``)."""

from __future__ import annotations

import flet as ft

from voip_app.ui.models import HistoryModel, HistoryRow
from voip_app.ui.views.common import (
    avatar,
    empty_state,
    icon_action,
    list_row,
    list_screen,
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


@ft.component
def HistoryTile(row: HistoryRow, key: str | None = None) -> ft.Control:
    """One call; ``key`` is taken by Flet's renderer (stable identity in the list)."""
    history = use_model().history
    call_back = icon_action(
        f"history.row.{row.id}.callback",
        ft.Icons.CALL_OUTLINED,
        f"Call {row.peer_name} back",
        task(lambda: history.call_back(row.id)),
    )
    lines = [ft.Text(row.peer_name, size=16, weight=ft.FontWeight.W_500), outcome_line(row)]
    if row.about_text:  # the CRM record and the note
        about = ft.Text(row.about_text, size=13, max_lines=2, overflow=ft.TextOverflow.ELLIPSIS)
        lines.append(tagged(f"history.row.{row.id}.about", about))
    action: ft.Control = call_back
    if row.recording_id is not None:
        play = icon_action(
            f"history.row.{row.id}.play",
            ft.Icons.PLAY_CIRCLE_OUTLINE,
            "Play the recording",
            task(lambda: history.play(row.id)),
        )
        action = ft.Row([play, call_back], tight=True, spacing=0)
    return list_row(f"history.row.{row.id}", avatar(row.peer_name, 40), lines, action)


@ft.component
def HistoryView(history: HistoryModel) -> ft.Control:
    tiles: list[ft.Control] = [HistoryTile(row, key=row.id) for row in history.rows]
    none = empty_state(ft.Icons.HISTORY, "No calls yet", "Calls you make and get show up here.")
    return list_screen("History", tiles, loading=history.loading, empty=none)
