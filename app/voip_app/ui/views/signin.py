"""The sign-in screen (``signin.*``)."""

from __future__ import annotations

from typing import Any

import flet as ft

from voip_app.ui.models import SignInForm
from voip_app.ui.views.common import Handler, tagged, task


def keystrokes(form: SignInForm, name: str) -> Handler:
    """Keystrokes land in the form without a re-render; when the form re-renders for another
    reason (busy, error) the values it renders are what the fields already hold."""

    # async: handled on the loop in arrival order (sync handlers run in a thread pool, where a
    # quick "type, then press Sign in" could see the submit before the last keystroke).
    async def handler(e: ft.Event[ft.TextField]) -> None:
        form.type(name, e.control.value or "")

    return handler


def text_field(form: SignInForm, name: str, label: str, icon: ft.IconData, **kw: Any) -> ft.Control:
    field = ft.TextField(
        label=label,
        value=getattr(form, name),
        prefix_icon=icon,
        on_change=keystrokes(form, name),
        **kw,
    )
    identifier = "signin.server" if name == "server_url" else f"signin.{name}"
    return tagged(identifier, field)


def heading() -> ft.Control:
    title = ft.Column(
        [
            ft.Text("CRM Calls", size=26, weight=ft.FontWeight.W_700),
            ft.Text("Sign in with your work account", color=ft.Colors.ON_SURFACE_VARIANT),
        ],
        spacing=0,
    )
    icon = ft.Image(src="icon.png", width=56, height=56, border_radius=14)
    return ft.Row([icon, title], spacing=16)


def submit_button(form: SignInForm) -> ft.Control:
    button = ft.FilledButton(
        "Signing in…" if form.busy else "Sign in",
        icon=ft.Icons.LOGIN,
        on_click=task(form.submit),
        disabled=form.busy,
        height=48,
        width=float("inf"),
    )
    return tagged("signin.submit", button)


@ft.component
def SignInView(form: SignInForm) -> ft.Control:
    fields = ft.Column(
        [
            heading(),
            ft.Container(height=8),
            text_field(
                form,
                "server_url",
                "Server",
                ft.Icons.DNS_OUTLINED,
                keyboard_type=ft.KeyboardType.URL,
            ),
            text_field(
                form,
                "email",
                "Email",
                ft.Icons.MAIL_OUTLINE,
                keyboard_type=ft.KeyboardType.EMAIL,
                autofill_hints=[ft.AutofillHint.EMAIL],
            ),
            text_field(
                form,
                "password",
                "Password",
                ft.Icons.LOCK_OUTLINE,
                password=True,
                can_reveal_password=True,
                on_submit=task(form.submit),
            ),
            submit_button(form),
        ],
        spacing=14,
        tight=True,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    card = ft.Card(elevation=2, content=ft.Container(fields, padding=28, width=420))
    return ft.Container(card, alignment=ft.Alignment.CENTER, expand=True, padding=20)
