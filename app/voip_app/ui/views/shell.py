"""The frame: navigation and the routed screens, the call screens over everything while a call
is on, the theme, and :func:`App` for one page.

Layout: below :data:`~voip_app.ui.theme.PHONE_MAX_WIDTH` the phone layout (bottom navigation),
above it the desktop layout (navigation rail, content in a centred column). The route is the
only record of which tab shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import flet as ft

from voip_app.ui import theme
from voip_app.ui.models import AppModel, CallModel, ContactsModel, SettingsModel
from voip_app.ui.views.admin import AdminView
from voip_app.ui.views.banner import BannerView
from voip_app.ui.views.common import (
    ModelContext,
    Viewport,
    ViewportContext,
    tagged,
    use_model,
    use_viewport,
)
from voip_app.ui.views.contacts import ContactsView
from voip_app.ui.views.history import HistoryView
from voip_app.ui.views.incall import InCallView
from voip_app.ui.views.incoming import IncomingView
from voip_app.ui.views.outgoing import OutgoingView
from voip_app.ui.views.settings import SettingsView
from voip_app.ui.views.signin import SignInView
from voip_app.ui.views.webhooks import WebhooksView


@dataclass(frozen=True, slots=True)
class Tab:
    """One navigation destination (``nav.<name>``)."""

    name: str
    route: str
    label: str
    icon: ft.IconData
    selected_icon: ft.IconData

    def selected_at(self, location: str) -> bool:
        return location == self.route or (self.route == "/" and location in ("", "/contacts"))


TABS = (
    Tab("contacts", "/", "Contacts", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE),
    Tab("history", "/history", "History", ft.Icons.HISTORY, ft.Icons.HISTORY),
    Tab("settings", "/settings", "Settings", ft.Icons.SETTINGS_OUTLINED, ft.Icons.SETTINGS),
)
ADMIN_TABS = (
    Tab("admin", "/admin", "Users", ft.Icons.MANAGE_ACCOUNTS_OUTLINED, ft.Icons.MANAGE_ACCOUNTS),
    Tab("webhooks", "/webhooks", "Webhooks", ft.Icons.WEBHOOK_OUTLINED, ft.Icons.WEBHOOK),
)
"""Shown to a tenant's admins only, after the others."""


def nav_item(tab: Tab, selected: bool, badge: int) -> ft.Control:
    glyph = ft.Icon(
        tab.selected_icon if selected else tab.icon,
        color=ft.Colors.ON_SECONDARY_CONTAINER if selected else ft.Colors.ON_SURFACE_VARIANT,
        badge=ft.Badge(label=str(badge)) if badge else None,
    )
    pill = ft.Container(
        glyph,
        bgcolor=ft.Colors.SECONDARY_CONTAINER if selected else None,
        border_radius=16,
        padding=ft.Padding.symmetric(horizontal=20, vertical=4),
    )
    weight = ft.FontWeight.W_600 if selected else ft.FontWeight.W_400
    item = ft.Container(
        on_click=lambda _: ft.context.page.navigate(tab.route),
        border_radius=16,
        padding=ft.Padding.symmetric(horizontal=8, vertical=4),
        content=ft.Column(
            [pill, ft.Text(tab.label, size=12, weight=weight)],
            spacing=4,
            tight=True,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
    )
    return tagged(f"nav.{tab.name}", item, button=True, selected=selected, label=tab.label)


def badge(tab: Tab, location: str, contacts: ContactsModel) -> int:
    """The missed calls, on the history tab, unless the history shows them right now."""
    if tab.name != "history" or tab.selected_at(location):
        return 0
    return contacts.missed_count


@ft.component
def Navigation(contacts: ContactsModel, viewport: Viewport) -> ft.Control:
    location = ft.use_route_location() or "/"
    user = use_model().user
    tabs = (*TABS, *ADMIN_TABS) if user is not None and user.role == "admin" else TABS
    items = [
        nav_item(tab, tab.selected_at(location), badge(tab, location, contacts)) for tab in tabs
    ]
    if viewport.phone:
        return ft.Container(
            bgcolor=ft.Colors.SURFACE_CONTAINER,
            padding=ft.Padding.symmetric(vertical=8),
            content=ft.Row(items, alignment=ft.MainAxisAlignment.SPACE_AROUND),
        )
    rail = [ft.Image(src="icon.png", width=40, height=40, border_radius=10), *items]
    return ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        padding=ft.Padding.symmetric(horizontal=8, vertical=16),
        width=96,
        content=ft.Column(rail, spacing=20, horizontal_alignment=ft.CrossAxisAlignment.CENTER),
    )


@ft.component
def ContactsRoute() -> ft.Control:
    model = use_model()
    ft.use_effect(model.contacts.shown, [])  # a new list, at its top
    return ContactsView(model.contacts, model.history)


@ft.component
def HistoryRoute() -> ft.Control:
    """History: what it lists counts as seen, on the way in and on the way out."""
    history = use_model().history
    ft.use_effect(history.opened, [], cleanup=history.seen)
    return HistoryView(history)


@ft.component
def SettingsRoute() -> ft.Control:
    return SettingsView(use_model().settings)


@ft.component
def AdminRoute() -> ft.Control:
    admin = use_model().admin
    ft.use_effect(admin.opened, [])
    return AdminView(admin)


@ft.component
def WebhooksRoute() -> ft.Control:
    hooks = use_model().webhooks
    ft.use_effect(hooks.opened, [])
    return WebhooksView(hooks)


@ft.component
def Shell() -> ft.Control:
    """Signed in: navigation plus the routed screen."""
    return ShellLayout(use_viewport(), ft.use_route_outlet())


@ft.component
def ShellLayout(viewport: Viewport, outlet: ft.Control) -> ft.Control:
    model = use_model()
    nav = Navigation(model.contacts, viewport)
    if viewport.phone:
        content = ft.Container(outlet, expand=True, alignment=ft.Alignment.TOP_CENTER)
        return ft.Column([content, nav], spacing=0, expand=True)
    centred = ft.Container(
        ft.Container(outlet, width=760), expand=True, alignment=ft.Alignment.TOP_CENTER
    )
    return ft.Row([nav, ft.VerticalDivider(width=1), centred], spacing=0, expand=True)


@ft.component
def CallGate(calls: CallModel) -> ft.Control:
    """The call screens take the whole window while a call is on; otherwise the app."""
    match calls.screen:
        case "outgoing":
            return OutgoingView(calls)
        case "incoming":
            return IncomingView(calls)
        case "incall":
            return InCallView(calls)
    routes = [
        ft.Route(index=True, component=ContactsRoute),
        ft.Route(path="contacts", component=ContactsRoute),
        ft.Route(path="history", component=HistoryRoute),
        ft.Route(path="settings", component=SettingsRoute),
        ft.Route(path="admin", component=AdminRoute),
        ft.Route(path="webhooks", component=WebhooksRoute),
    ]
    return ft.Router([ft.Route(component=Shell, children=routes)])


@ft.component
def ThemeSync(settings: SettingsModel) -> ft.Control:
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
    body: ft.Control
    if model.starting:
        body = ft.Container(ft.ProgressRing(), alignment=ft.Alignment.CENTER, expand=True)
    elif model.user is None:
        body = SignInView(model.signin)
    else:
        body = CallGate(model.call)
    column = ft.Column(
        [ThemeSync(model.settings), BannerView(model.banner), body], spacing=0, expand=True
    )
    return ft.SafeArea(column, expand=True)


@ft.component
def App(model: AppModel, viewport: Viewport) -> ft.Control:
    """The whole app for one page: providers, then :func:`Root`."""
    return ModelContext(model, lambda: ViewportContext(viewport, lambda: Root(model)))
