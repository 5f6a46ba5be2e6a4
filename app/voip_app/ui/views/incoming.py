"""The incoming call screen (``incoming.*``): who calls, whether the call will be recorded
(``incoming.recording``); accept or decline. The ringtone plays while it shows (the call
model's ringer)."""

from __future__ import annotations

import flet as ft

from voip_app.ui import theme
from voip_app.ui.models import CallModel
from voip_app.ui.views.call_parts import call_frame, caller_block, round_button
from voip_app.ui.views.common import tagged, task


def answer_buttons(calls: CallModel) -> ft.Control:
    decline = round_button(
        "incoming.decline", ft.Icons.CALL_END, "Decline", task(calls.decline), theme.HANG_UP_RED
    )
    accept = round_button(
        "incoming.accept", ft.Icons.CALL, "Accept", task(calls.accept), theme.ACCEPT_GREEN
    )
    return ft.Row([decline, accept], alignment=ft.MainAxisAlignment.SPACE_EVENLY, width=360)


@ft.component
def IncomingView(calls: CallModel) -> ft.Control:
    name = calls.call.peer.display_name if calls.call else ""
    caller = tagged("incoming.caller", ft.Text(name, size=30, weight=ft.FontWeight.W_600))
    status: ft.Control = ft.Text("Incoming call", size=18, color=ft.Colors.ON_SURFACE_VARIANT)
    context = calls.call.context if calls.call else None
    if context is not None:  # "Alice Anders · Deal: ACME renewal": the CRM record it is about
        about = f"{context.object_type.replace('_', ' ').capitalize()}: {context.label}"
        shown = tagged("incoming.context", ft.Text(about, size=16, text_align=ft.TextAlign.CENTER))
        status = ft.Column(
            [status, shown], horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=4
        )
    who = caller_block(name, status, shown_name=caller)
    parts: list[ft.Control] = [who]
    if calls.call is not None and calls.call.recorded:  # consent, before answering
        parts.append(recording_notice("incoming.recording", "This call will be recorded"))
    return call_frame("incoming.view", [*parts, answer_buttons(calls)])


def recording_notice(key: str, text: str) -> ft.Control:
    """A red dot and ``text``: the call is (or will be) recorded."""
    line = ft.Row(
        [ft.Icon(ft.Icons.FIBER_MANUAL_RECORD, size=14, color=ft.Colors.RED), ft.Text(text)],
        tight=True,
        spacing=6,
    )
    return tagged(key, line)
