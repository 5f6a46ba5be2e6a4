"""The contacts screen: search, live presence, a call button each, the missed-call badge
(``contacts.*``, ``contact.<email>…``). The rows scroll in a list of fixed-height rows that
tells the model where it is, so the engine watches the presence of the rows on screen."""

from __future__ import annotations

import flet as ft

from voip_app.ui import theme
from voip_app.ui.models import ContactRow, ContactsModel, HistoryModel
from voip_app.ui.models.contacts import LIST_PADDING, ROW_EXTENT
from voip_app.ui.views.common import (
    avatar,
    empty_state,
    icon_action,
    list_row,
    rows_screen,
    tagged,
    task,
    use_model,
)
from voip_app.ui.views.history import note_editor


def presence_line(row: ContactRow) -> ft.Control:
    dot = ft.Container(
        width=8, height=8, border_radius=4, bgcolor=theme.PRESENCE_COLORS.get(row.presence)
    )
    label = theme.PRESENCE_LABELS.get(row.presence, row.presence)
    text = ft.Text(label, size=12, color=ft.Colors.ON_SURFACE_VARIANT)
    return tagged(f"contact.{row.email}.presence", ft.Row([dot, text], spacing=6, tight=True))


@ft.component
def ContactTile(row: ContactRow, key: str | None = None) -> ft.Control:
    """One person; ``key`` is taken by Flet's renderer (stable identity in the list)."""
    contacts = use_model().contacts
    call = icon_action(
        f"contact.{row.email}.call",
        ft.Icons.CALL,
        f"Call {row.name}",
        task(lambda: contacts.call(row.id)),
        icon_color=ft.Colors.PRIMARY,
        bgcolor=ft.Colors.PRIMARY_CONTAINER,
    )
    lines = [
        ft.Text(row.name, size=16, weight=ft.FontWeight.W_500),
        ft.Text(row.email, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        presence_line(row),
    ]
    lead = avatar(row.name, 44, row.presence)
    return list_row(f"contact.{row.email}", lead, lines, call, border_radius=12)


def search_field(contacts: ContactsModel) -> ft.Control:
    async def on_search(e: ft.Event[ft.TextField]) -> None:
        await contacts.search(e.control.value or "")

    field = ft.TextField(
        hint_text="Search people",
        value=contacts.query,
        prefix_icon=ft.Icons.SEARCH,
        border_radius=28,
        filled=True,
        border_color=ft.Colors.TRANSPARENT,
        dense=True,
        on_change=on_search,
    )
    return tagged("contacts.search", field)


def missed_badge(count: int) -> ft.Control:
    words = ft.Text(
        f"{count} missed call{'s' if count != 1 else ''}", color=ft.Colors.ON_ERROR_CONTAINER
    )
    badge = ft.Container(
        on_click=lambda _: ft.context.page.navigate("/history"),
        bgcolor=ft.Colors.ERROR_CONTAINER,
        border_radius=16,
        padding=ft.Padding.symmetric(horizontal=12, vertical=6),
        content=ft.Row(
            [ft.Icon(ft.Icons.PHONE_MISSED, size=16, color=ft.Colors.ERROR), words],
            tight=True,
            spacing=6,
        ),
    )
    return tagged("contacts.missed-badge", badge, button=True)


@ft.component
def ContactsView(contacts: ContactsModel, history: HistoryModel | None = None) -> ft.Control:
    """The directory; ``history`` shows the note offered for a call that just ended."""
    header = [search_field(contacts)]
    if history is not None and history.noting:
        header.insert(0, note_editor(history))
    if contacts.missed_count:
        header.append(missed_badge(contacts.missed_count))
    tiles: list[ft.Control] = [ContactTile(row, key=row.id) for row in contacts.rows]
    nobody = empty_state(ft.Icons.PEOPLE_OUTLINE, "No one found", "Try another name or email.")

    def on_scroll(e: ft.OnScrollEvent) -> None:
        contacts.scrolled(e.pixels, e.viewport_dimension)

    return rows_screen(
        "Contacts",
        tiles,
        row_extent=ROW_EXTENT,
        padding=LIST_PADDING,
        on_scroll=on_scroll,
        loading=contacts.loading,
        empty=nobody,
        header=header,
    )
