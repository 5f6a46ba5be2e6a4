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
    note = icon_action(
        f"history.row.{row.id}.note",
        ft.Icons.EDIT_NOTE,
        "Add a note",
        task(lambda: history.start_note(row.id)),
    )
    lines = [ft.Text(row.peer_name, size=16, weight=ft.FontWeight.W_500), outcome_line(row)]
    if row.about_text:  # the CRM record and the note
        about = ft.Text(row.about_text, size=13, max_lines=2, overflow=ft.TextOverflow.ELLIPSIS)
        lines.append(tagged(f"history.row.{row.id}.about", about))
    buttons: list[ft.Control] = [note, call_back]
    if row.recording_id is not None:
        play = icon_action(
            f"history.row.{row.id}.play",
            ft.Icons.PLAY_CIRCLE_OUTLINE,
            "Play the recording",
            task(lambda: history.play(row.id)),
        )
        buttons.insert(0, play)
    actions = ft.Row(buttons, spacing=0, tight=True)
    return list_row(f"history.row.{row.id}", avatar(row.peer_name, 40), lines, actions)


def note_editor(history: HistoryModel) -> ft.Control:
    """The note of one call (``note.*``): an outcome of the tenant's, a text, save or cancel."""

    async def typed(e: ft.Event[ft.TextField]) -> None:
        history.type_note(e.control.value or "")

    def chip(outcome: str) -> ft.Control:
        label = outcome.replace("_", " ").capitalize()
        picked = history.note_outcome == outcome
        kind = ft.FilledButton if picked else ft.OutlinedButton
        button = kind(label, on_click=lambda _: history.choose_outcome(outcome))
        return tagged(f"note.outcome.{outcome}", button, button=True, selected=picked)

    text = ft.TextField(label="Note", value=history.note_text, max_length=2000, on_change=typed)
    save = ft.FilledButton("Save", on_click=task(history.save_note), disabled=history.note_busy)
    cancel = ft.TextButton("Skip", on_click=lambda _: history.cancel_note())
    return tagged(
        "note.view",
        ft.Container(
            padding=ft.Padding.all(16),
            border_radius=16,
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGH,
            content=ft.Column(
                [
                    ft.Text("What was the call about?", size=16, weight=ft.FontWeight.W_500),
                    ft.Row([chip(o) for o in history.note_outcomes], wrap=True, spacing=8),
                    tagged("note.text", text),
                    ft.Row(
                        [tagged("note.cancel", cancel), tagged("note.save", save)],
                        alignment=ft.MainAxisAlignment.END,
                    ),
                ],
                spacing=10,
            ),
        ),
    )


@ft.component
def HistoryView(history: HistoryModel) -> ft.Control:
    tiles: list[ft.Control] = [HistoryTile(row, key=row.id) for row in history.rows]
    none = empty_state(ft.Icons.HISTORY, "No calls yet", "Calls you make and get show up here.")
    header = [note_editor(history)] if history.noting else None
    return list_screen("History", tiles, loading=history.loading, empty=none, header=header)
