"""The screens: declarative Flet components over the view-models (:mod:`voip_app.ui.viewmodels`).

Views render state and call view-model methods; nothing here talks to the engine, the network or
the platform. Every control a test touches is wrapped in ``ft.Semantics(identifier=...)`` with the
contract's identifier (``shared/ARCHITECTURE.md``), and text a test reads is the visible text of
the identified node.

Layout: below :data:`~voip_app.ui.theme.PHONE_MAX_WIDTH` the phone layout (bottom navigation),
above it the desktop layout (navigation rail, content in a centred column).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import flet as ft

from voip_app.ui import theme
from voip_app.ui.viewmodels import (
    AppModel,
    Banner,
    CallState,
    ContactRow,
    ContactsState,
    HistoryRow,
    HistoryState,
    SettingsState,
    SignInForm,
    Tab,
    elapsed_text,
    initials,
)

TIMER_MAX_TICKS = 24 * 3600
"""The in-call timer stops ticking after a day (a bound, not a feature)."""

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
    """An event handler that runs a view-model coroutine."""

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


# --- the error banner ---------------------------------------------------------------------------


@ft.component
def BannerView(banner: Banner) -> ft.Control:
    model = use_model()
    if not banner.visible:
        return ft.Container(height=0)
    actions: list[ft.Control] = []
    if banner.action_label:
        actions.append(
            ft.TextButton(
                banner.action_label,
                on_click=task(model.banner_action),
                style=ft.ButtonStyle(color=ft.Colors.ON_ERROR_CONTAINER),
            )
        )
    actions.append(
        ft.IconButton(
            ft.Icons.CLOSE,
            icon_color=ft.Colors.ON_ERROR_CONTAINER,
            tooltip="Dismiss",
            on_click=lambda _: banner.clear(),
        )
    )
    return tagged(
        "banner.error",
        ft.Container(
            bgcolor=ft.Colors.ERROR_CONTAINER,
            border_radius=12,
            padding=ft.Padding.only(left=16, right=4, top=6, bottom=6),
            margin=ft.Margin.only(left=12, right=12, top=8),
            content=ft.Row(
                [
                    ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.ON_ERROR_CONTAINER),
                    ft.Text(banner.message, color=ft.Colors.ON_ERROR_CONTAINER, expand=True),
                    *actions,
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        ),
        live_region=True,
    )


# --- sign in ------------------------------------------------------------------------------------


@ft.component
def SignInView(form: SignInForm) -> ft.Control:
    model = use_model()

    # Keystrokes land in the form without a re-render; when the form re-renders for another
    # reason (busy, error) the values it renders are what the fields already hold.
    def set_field(name: str) -> Handler:
        # async: handled on the loop in arrival order (sync handlers run in a thread pool, where
        # a quick "type, then press Sign in" could see the submit before the last keystroke).
        async def handler(e: ft.Event[ft.TextField]) -> None:
            form.type(name, e.control.value or "")

        return handler

    fields = ft.Column(
        [
            ft.Row(
                [
                    ft.Image(src="icon.png", width=56, height=56, border_radius=14),
                    ft.Column(
                        [
                            ft.Text("CRM Calls", size=26, weight=ft.FontWeight.W_700),
                            ft.Text(
                                "Sign in with your work account",
                                color=ft.Colors.ON_SURFACE_VARIANT,
                            ),
                        ],
                        spacing=0,
                    ),
                ],
                spacing=16,
            ),
            ft.Container(height=8),
            tagged(
                "signin.server",
                ft.TextField(
                    label="Server",
                    value=form.server_url,
                    prefix_icon=ft.Icons.DNS_OUTLINED,
                    keyboard_type=ft.KeyboardType.URL,
                    on_change=set_field("server_url"),
                ),
            ),
            tagged(
                "signin.email",
                ft.TextField(
                    label="Email",
                    value=form.email,
                    prefix_icon=ft.Icons.MAIL_OUTLINE,
                    keyboard_type=ft.KeyboardType.EMAIL,
                    autofill_hints=[ft.AutofillHint.EMAIL],
                    on_change=set_field("email"),
                ),
            ),
            tagged(
                "signin.password",
                ft.TextField(
                    label="Password",
                    value=form.password,
                    password=True,
                    can_reveal_password=True,
                    prefix_icon=ft.Icons.LOCK_OUTLINE,
                    on_change=set_field("password"),
                    on_submit=task(model.submit_sign_in),
                ),
            ),
            tagged(
                "signin.submit",
                ft.FilledButton(
                    "Signing in…" if form.busy else "Sign in",
                    icon=ft.Icons.LOGIN,
                    on_click=task(model.submit_sign_in),
                    disabled=form.busy,
                    height=48,
                    width=float("inf"),
                ),
            ),
        ],
        spacing=14,
        tight=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    return ft.Container(
        alignment=ft.Alignment.CENTER,
        expand=True,
        padding=20,
        content=ft.Card(
            elevation=2,
            content=ft.Container(fields, padding=28, width=420),
        ),
    )


# --- contacts -----------------------------------------------------------------------------------


@ft.component
def ContactTile(row: ContactRow, key: str | None = None) -> ft.Control:
    """One person; ``key`` is taken by Flet's renderer (stable identity in the list)."""
    model = use_model()
    presence_label = theme.PRESENCE_LABELS.get(row.presence, row.presence)
    presence = tagged(
        f"contact.{row.email}.presence",
        ft.Row(
            [
                ft.Container(
                    width=8,
                    height=8,
                    border_radius=4,
                    bgcolor=theme.PRESENCE_COLORS.get(row.presence),
                ),
                ft.Text(presence_label, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ],
            spacing=6,
            tight=True,
        ),
    )
    call_button = tagged(
        f"contact.{row.email}.call",
        ft.IconButton(
            ft.Icons.CALL,
            tooltip=f"Call {row.name}",
            icon_color=ft.Colors.PRIMARY,
            bgcolor=ft.Colors.PRIMARY_CONTAINER,
            on_click=task(lambda: model.call_contact(row.id)),
        ),
        button=True,
    )
    return tagged(
        f"contact.{row.email}",
        ft.Container(
            padding=ft.Padding.symmetric(horizontal=16, vertical=10),
            border_radius=12,
            content=ft.Row(
                [
                    avatar(row.name, 44, row.presence),
                    ft.Column(
                        [
                            ft.Text(row.name, size=16, weight=ft.FontWeight.W_500),
                            ft.Text(row.email, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
                            presence,
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    call_button,
                ],
                spacing=16,
            ),
        ),
    )


@ft.component
def ContactsView(contacts: ContactsState) -> ft.Control:
    model = use_model()

    async def on_search(e: ft.Event[ft.TextField]) -> None:
        await model.search(e.control.value or "")

    header: list[ft.Control] = [
        tagged(
            "contacts.search",
            ft.TextField(
                hint_text="Search people",
                value=contacts.query,
                prefix_icon=ft.Icons.SEARCH,
                border_radius=28,
                filled=True,
                border_color=ft.Colors.TRANSPARENT,
                dense=True,
                on_change=on_search,
            ),
        )
    ]
    if contacts.missed_count:
        count = contacts.missed_count
        header.append(
            tagged(
                "contacts.missed-badge",
                ft.Container(
                    on_click=lambda _: ft.context.page.navigate("/history"),
                    bgcolor=ft.Colors.ERROR_CONTAINER,
                    border_radius=16,
                    padding=ft.Padding.symmetric(horizontal=12, vertical=6),
                    content=ft.Row(
                        [
                            ft.Icon(ft.Icons.PHONE_MISSED, size=16, color=ft.Colors.ERROR),
                            ft.Text(
                                f"{count} missed call{'s' if count != 1 else ''}",
                                color=ft.Colors.ON_ERROR_CONTAINER,
                            ),
                        ],
                        tight=True,
                        spacing=6,
                    ),
                ),
                button=True,
            )
        )
    if contacts.rows:
        body: ft.Control = list_card([ContactTile(row, key=row.id) for row in contacts.rows])
    elif contacts.loading:
        body = ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, padding=48)
    else:
        body = empty_state(ft.Icons.PEOPLE_OUTLINE, "No one found", "Try another name or email.")
    return screen("Contacts", [*header, body], scroll=True)


# --- history ------------------------------------------------------------------------------------

_DIRECTION_ICONS = {"outgoing": ft.Icons.CALL_MADE, "incoming": ft.Icons.CALL_RECEIVED}


@ft.component
def HistoryTile(row: HistoryRow, key: str | None = None) -> ft.Control:
    """One call; ``key`` is taken by Flet's renderer (stable identity in the list)."""
    model = use_model()
    failed = row.status.value not in ("COMPLETED", "IN_PROGRESS", "RINGING")
    icon = ft.Icons.CALL_MISSED if row.missed else _DIRECTION_ICONS[row.direction]
    detail = " · ".join(part for part in (row.duration_text, row.time_text) if part)
    return tagged(
        f"history.row.{row.id}",
        ft.Container(
            padding=ft.Padding.symmetric(horizontal=16, vertical=10),
            content=ft.Row(
                [
                    avatar(row.peer_name, 40),
                    ft.Column(
                        [
                            ft.Text(row.peer_name, size=16, weight=ft.FontWeight.W_500),
                            ft.Row(
                                [
                                    ft.Icon(
                                        icon,
                                        size=16,
                                        color=ft.Colors.ERROR if failed else ft.Colors.PRIMARY,
                                    ),
                                    tagged(
                                        f"history.row.{row.id}.status",
                                        ft.Text(
                                            row.status_text,
                                            size=13,
                                            color=ft.Colors.ERROR
                                            if row.missed
                                            else ft.Colors.ON_SURFACE_VARIANT,
                                        ),
                                    ),
                                    ft.Text(detail, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
                                ],
                                spacing=6,
                            ),
                        ],
                        spacing=2,
                        expand=True,
                    ),
                    tagged(
                        f"history.row.{row.id}.callback",
                        ft.IconButton(
                            ft.Icons.CALL_OUTLINED,
                            tooltip=f"Call {row.peer_name} back",
                            on_click=task(lambda: model.call_back(row.id)),
                        ),
                        button=True,
                    ),
                ],
                spacing=16,
            ),
        ),
    )


@ft.component
def HistoryView(history: HistoryState) -> ft.Control:
    if history.rows:
        body: ft.Control = list_card([HistoryTile(row, key=row.id) for row in history.rows])
    elif history.loading:
        body = ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, padding=48)
    else:
        body = empty_state(ft.Icons.HISTORY, "No calls yet", "Calls you make and get show up here.")
    return screen("History", [body], scroll=True)


# --- settings -----------------------------------------------------------------------------------


@ft.component
def SettingsView(settings: SettingsState) -> ft.Control:
    model = use_model()

    def device_picker(
        identifier: str,
        label: str,
        devices: list[tuple[str, str]],
        value: str,
        choose: Callable[[str], Awaitable[None]],
    ) -> ft.Control:
        async def on_select(e: ft.Event[ft.Dropdown]) -> None:
            await choose(e.control.value or "")

        options = [ft.DropdownOption(key="", text="System default")] + [
            ft.DropdownOption(key=device_id, text=name) for device_id, name in devices
        ]
        return tagged(
            identifier,
            ft.Dropdown(
                label=label,
                value=value,
                options=options,
                on_select=on_select,
                expand=True,
            ),
        )

    user = model.user
    about: list[ft.Control] = [
        ft.Text(f"{name} {version}", color=ft.Colors.ON_SURFACE_VARIANT)
        for name, version in [("Server", model.server_url), *settings.versions.items()]
    ]
    return screen(
        "Settings",
        [
            section(
                "Audio",
                [
                    device_picker(
                        "settings.input",
                        "Microphone",
                        settings.inputs,
                        settings.input_id,
                        model.select_input_device,
                    ),
                    device_picker(
                        "settings.output",
                        "Speaker",
                        settings.outputs,
                        settings.output_id,
                        model.select_output_device,
                    ),
                ],
            ),
            section(
                "Appearance",
                [
                    ft.SegmentedButton(
                        selected=[settings.theme_mode],
                        segments=[
                            ft.Segment("system", label="System", icon=ft.Icons.BRIGHTNESS_AUTO),
                            ft.Segment("light", label="Light", icon=ft.Icons.LIGHT_MODE),
                            ft.Segment("dark", label="Dark", icon=ft.Icons.DARK_MODE),
                        ],
                        on_change=lambda e: model.set_theme_mode(
                            (e.control.selected or ["system"])[0]
                        ),
                    )
                ],
            ),
            section(
                "Account",
                [
                    ft.ListTile(
                        leading=avatar(user.display_name if user else "?", 40),
                        title=ft.Text(user.display_name if user else ""),
                        subtitle=ft.Text(f"{user.email if user else ''} · {model.server_url}"),
                    ),
                    tagged(
                        "settings.signout",
                        ft.OutlinedButton(
                            "Sign out", icon=ft.Icons.LOGOUT, on_click=task(model.sign_out)
                        ),
                    ),
                ],
            ),
            section("About", about),
        ],
        scroll=True,
    )


# --- calls --------------------------------------------------------------------------------------


def round_button(
    identifier: str,
    icon: ft.IconData,
    label: str,
    on_click: Handler,
    bgcolor: str,
    color: str = ft.Colors.WHITE,
) -> ft.Control:
    return ft.Column(
        [
            tagged(
                identifier,
                ft.IconButton(
                    icon,
                    icon_size=30,
                    icon_color=color,
                    bgcolor=bgcolor,
                    width=68,
                    height=68,
                    on_click=on_click,
                ),
                button=True,
                label=label,  # its name for screen readers (no tooltip: the label shows below)
            ),
            ft.Text(label, size=13),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=8,
        tight=True,
    )


def call_frame(identifier: str, children: list[ft.Control]) -> ft.Control:
    return tagged(
        identifier,
        expand=True,
        content=ft.Container(
            expand=True,
            gradient=ft.LinearGradient(
                begin=ft.Alignment.TOP_CENTER,
                end=ft.Alignment.BOTTOM_CENTER,
                colors=[ft.Colors.PRIMARY_CONTAINER, ft.Colors.SURFACE],
            ),
            padding=ft.Padding.symmetric(horizontal=24, vertical=48),
            content=ft.Column(
                children,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                expand=True,
            ),
        ),
    )


def caller_block(name: str, status: ft.Control) -> ft.Control:
    return ft.Column(
        [
            avatar(name, 112),
            ft.Container(height=8),
            ft.Text(name, size=30, weight=ft.FontWeight.W_600, text_align=ft.TextAlign.CENTER),
            status,
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=6,
    )


@ft.component
def OutgoingView(call: CallState) -> ft.Control:
    model = use_model()
    snap = call.snapshot
    status = tagged("outgoing.status", ft.Text(call.status_text, size=18))
    return call_frame(
        "outgoing.view",
        [
            caller_block(snap.peer_name, status),
            round_button(
                "outgoing.cancel",
                ft.Icons.CALL_END,
                "Cancel",
                task(model.cancel),
                theme.HANG_UP_RED,
            ),
        ],
    )


@ft.component
def IncomingView(call: CallState) -> ft.Control:
    model = use_model()
    snap = call.snapshot
    return call_frame(
        "incoming.view",
        [
            ft.Column(
                [
                    avatar(snap.peer_name, 112),
                    ft.Container(height=8),
                    tagged(
                        "incoming.caller",
                        ft.Text(snap.peer_name, size=30, weight=ft.FontWeight.W_600),
                    ),
                    ft.Text("Incoming call", size=18, color=ft.Colors.ON_SURFACE_VARIANT),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=6,
            ),
            ft.Row(
                [
                    round_button(
                        "incoming.decline",
                        ft.Icons.CALL_END,
                        "Decline",
                        task(model.decline),
                        theme.HANG_UP_RED,
                    ),
                    round_button(
                        "incoming.accept",
                        ft.Icons.CALL,
                        "Accept",
                        task(model.accept),
                        theme.ACCEPT_GREEN,
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_EVENLY,
                width=360,
            ),
        ],
    )


@ft.component
def CallTimer(answered_at: datetime | None) -> ft.Control:
    now, set_now = ft.use_state(datetime.now(UTC))

    async def tick() -> None:
        for _ in range(TIMER_MAX_TICKS):
            await asyncio.sleep(1)
            set_now(datetime.now(UTC))

    ft.use_effect(tick, [])
    return tagged(
        "incall.timer",
        ft.Text(elapsed_text(answered_at, now), size=20, font_family="monospace"),
    )


@ft.component
def InCallView(call: CallState) -> ft.Control:
    model = use_model()
    snap = call.snapshot

    async def on_output(e: ft.Event[ft.Dropdown]) -> None:
        if e.control.value:
            await model.select_output(e.control.value)

    outputs = [ft.DropdownOption(key=o.id, text=o.name) for o in call.outputs]
    status_line: list[ft.Control] = [
        CallTimer(snap.answered_at) if snap.answered_at else ft.Text(call.status_text, size=20),
        tagged(
            "incall.quality",
            ft.Container(
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
                border_radius=16,
                padding=ft.Padding.symmetric(horizontal=12, vertical=4),
                content=ft.Row(
                    [
                        ft.Icon(ft.Icons.SIGNAL_CELLULAR_ALT, size=16),
                        ft.Text(call.quality_text, size=13),
                    ],
                    tight=True,
                    spacing=6,
                ),
            ),
        ),
    ]
    controls = ft.Row(
        [
            round_button(
                "incall.mute",
                ft.Icons.MIC_OFF if snap.muted else ft.Icons.MIC,
                "Unmute" if snap.muted else "Mute",
                task(model.toggle_mute),
                ft.Colors.ON_SURFACE if snap.muted else ft.Colors.SURFACE_CONTAINER_HIGHEST,
                ft.Colors.SURFACE if snap.muted else ft.Colors.ON_SURFACE,
            ),
            ft.Column(
                [
                    tagged(
                        "incall.output",
                        ft.Dropdown(
                            value=snap.output.id if snap.output else None,
                            options=outputs,
                            hint_text=call.output_label,
                            leading_icon=ft.Icons.VOLUME_UP,
                            on_select=on_output,
                            width=230,
                            dense=True,
                        ),
                    ),
                    ft.Text("Audio output", size=13),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=8,
                tight=True,
            ),
            round_button(
                "incall.hangup",
                ft.Icons.CALL_END,
                "Hang up",
                task(model.hang_up),
                theme.HANG_UP_RED,
            ),
        ],
        alignment=ft.MainAxisAlignment.SPACE_EVENLY,
        vertical_alignment=ft.CrossAxisAlignment.START,
        wrap=True,
        spacing=24,
        run_spacing=24,
    )
    return call_frame(
        "incall.view",
        [
            caller_block(
                snap.peer_name,
                ft.Column(
                    status_line, horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=8
                ),
            ),
            controls,
        ],
    )


# --- frame: navigation, screens, the app --------------------------------------------------------


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


_NAV = [
    (Tab.CONTACTS, "/", "Contacts", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE),
    (Tab.HISTORY, "/history", "History", ft.Icons.HISTORY, ft.Icons.HISTORY),
    (Tab.SETTINGS, "/settings", "Settings", ft.Icons.SETTINGS_OUTLINED, ft.Icons.SETTINGS),
]


def nav_item(
    tab: Tab,
    route: str,
    label: str,
    icon: ft.IconData,
    selected_icon: ft.IconData,
    selected: bool,
    badge: int,
) -> ft.Control:
    glyph: ft.Control = ft.Icon(
        selected_icon if selected else icon,
        color=ft.Colors.ON_SECONDARY_CONTAINER if selected else ft.Colors.ON_SURFACE_VARIANT,
        badge=ft.Badge(label=str(badge)) if badge else None,
    )
    return tagged(
        f"nav.{tab.value}",
        ft.Container(
            on_click=lambda _: ft.context.page.navigate(route),
            border_radius=16,
            padding=ft.Padding.symmetric(horizontal=8, vertical=4),
            content=ft.Column(
                [
                    ft.Container(
                        glyph,
                        bgcolor=ft.Colors.SECONDARY_CONTAINER if selected else None,
                        border_radius=16,
                        padding=ft.Padding.symmetric(horizontal=20, vertical=4),
                    ),
                    ft.Text(
                        label,
                        size=12,
                        weight=ft.FontWeight.W_600 if selected else ft.FontWeight.W_400,
                    ),
                ],
                spacing=4,
                tight=True,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        ),
        button=True,
        selected=selected,
        label=label,
    )


@ft.component
def Navigation(contacts: ContactsState, viewport: Viewport) -> ft.Control:
    location = ft.use_route_location() or "/"
    items = [
        nav_item(
            tab,
            route,
            label,
            icon,
            selected_icon,
            selected=(location == route) or (route == "/" and location in ("", "/contacts")),
            badge=contacts.missed_count if tab is Tab.HISTORY else 0,
        )
        for tab, route, label, icon, selected_icon in _NAV
    ]
    if viewport.phone:
        return ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER,
            padding=ft.Padding.symmetric(vertical=8),
            content=ft.Row(items, alignment=ft.MainAxisAlignment.SPACE_AROUND),
        )
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        padding=ft.Padding.symmetric(horizontal=8, vertical=16),
        width=96,
        content=ft.Column(
            [ft.Image(src="icon.png", width=40, height=40, border_radius=10), *items],
            spacing=20,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
    )


@ft.component
def ContactsRoute() -> ft.Control:
    model = use_model()
    ft.use_effect(lambda: model.select_tab(Tab.CONTACTS), [])
    return ContactsView(model.contacts)


@ft.component
def HistoryRoute() -> ft.Control:
    model = use_model()

    async def opened() -> None:
        model.select_tab(Tab.HISTORY)
        await model.refresh_history()

    ft.use_effect(opened, [])
    return HistoryView(model.history)


@ft.component
def SettingsRoute() -> ft.Control:
    model = use_model()
    ft.use_effect(lambda: model.select_tab(Tab.SETTINGS), [])
    return SettingsView(model.settings)


@ft.component
def Shell() -> ft.Control:
    """Signed in: navigation plus the routed screen."""
    return ShellLayout(use_viewport(), ft.use_route_outlet())


@ft.component
def ShellLayout(viewport: Viewport, outlet: ft.Control) -> ft.Control:
    model = use_model()
    content = ft.Container(
        outlet,
        expand=True,
        alignment=ft.Alignment.TOP_CENTER,
    )
    if not viewport.phone:
        content = ft.Container(
            ft.Container(outlet, width=760),
            expand=True,
            alignment=ft.Alignment.TOP_CENTER,
        )
    nav = Navigation(model.contacts, viewport)
    if viewport.phone:
        return ft.Column([content, nav], spacing=0, expand=True)
    return ft.Row([nav, ft.VerticalDivider(width=1), content], spacing=0, expand=True)


@ft.component
def CallGate(call: CallState) -> ft.Control:
    """The call screens take the whole window while a call is on; otherwise the app."""
    match call.screen:
        case "outgoing":
            return OutgoingView(call)
        case "incoming":
            return IncomingView(call)
        case "incall":
            return InCallView(call)
    return ft.Router(
        [
            ft.Route(
                component=Shell,
                children=[
                    ft.Route(index=True, component=ContactsRoute),
                    ft.Route(path="contacts", component=ContactsRoute),
                    ft.Route(path="history", component=HistoryRoute),
                    ft.Route(path="settings", component=SettingsRoute),
                ],
            )
        ]
    )


@ft.component
def ThemeSync(settings: SettingsState) -> ft.Control:
    """Applies the chosen light/dark mode to the page."""
    mode = settings.theme_mode

    def apply() -> None:
        page = ft.context.page
        theme.apply(page, mode)
        page.update()

    ft.use_effect(apply, [mode])
    return ft.Container(height=0)


@ft.component
def Root(model: AppModel) -> ft.Control:
    if model.starting:
        body: ft.Control = ft.Container(
            ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True
        )
    elif model.user is None:
        body = SignInView(model.signin)
    else:
        body = CallGate(model.call)
    return ft.SafeArea(
        ft.Column(
            [ThemeSync(model.settings), BannerView(model.banner), body], spacing=0, expand=True
        ),
        expand=True,
    )


@ft.component
def App(model: AppModel, viewport: Viewport) -> ft.Control:
    """The whole app for one page: providers, then :func:`Root`."""
    return ModelContext(model, lambda: ViewportContext(viewport, lambda: Root(model)))
