"""The Users screen (``admin.*``), for a tenant's admins: every user with its role and state,
Disable/Enable, Make admin/Make member, and a form that adds a member."""

from __future__ import annotations

from typing import Any

import flet as ft

from voip_app.ui.models.admin import AdminModel
from voip_app.ui.views.common import avatar, list_row, list_screen, tagged, task
from voip_contract.admin import AdminUser


def user_row(admin: AdminModel, user: AdminUser) -> ft.Control:
    key = f"admin.user.{user.email}"
    state = ", ".join([user.role.capitalize(), *(["Disabled"] if user.disabled else [])])
    status = tagged(f"{key}.status", ft.Text(state, size=13, color=ft.Colors.ON_SURFACE_VARIANT))
    disable = ft.TextButton(
        "Enable" if user.disabled else "Disable",
        on_click=task(lambda: admin.toggle_disabled(user.id)),
    )
    role = ft.TextButton(
        "Make member" if user.role == "admin" else "Make admin",
        on_click=task(lambda: admin.toggle_role(user.id)),
    )
    actions = ft.Row(
        [tagged(f"{key}.role", role, button=True), tagged(f"{key}.disable", disable, button=True)],
        spacing=0,
        tight=True,
    )
    lines = [
        ft.Text(user.display_name, size=16, weight=ft.FontWeight.W_500),
        ft.Text(user.email, size=13),
        status,
    ]
    return list_row(key, avatar(user.display_name, 40), lines, actions)


def add_form(admin: AdminModel) -> ft.Control:
    def field(name: str, label: str, **kw: Any) -> ft.Control:
        async def typed(e: ft.Event[ft.TextField]) -> None:
            admin.type_new(name, e.control.value or "")

        value = admin.new_email if name == "email" else admin.new_name
        box = ft.TextField(label=label, value=value, on_change=typed, **kw)
        return tagged(f"admin.add.{name}", box)

    submit = tagged("admin.add.submit", ft.FilledButton("Add", on_click=task(admin.add)))
    return ft.Column(
        [
            ft.Text("Add a member", size=16, weight=ft.FontWeight.W_500),
            field("email", "Email"),
            field("name", "Name"),
            ft.Row([submit], alignment=ft.MainAxisAlignment.END),
        ],
        spacing=8,
    )


@ft.component
def AdminView(admin: AdminModel) -> ft.Control:
    rows = [user_row(admin, u) for u in admin.users]
    none = ft.Text("No users")
    return tagged(
        "admin.view",
        list_screen("Users", rows, loading=admin.loading, empty=none, header=[add_form(admin)]),
    )
