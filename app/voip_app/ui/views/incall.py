"""The in-call screen (``incall.*``): timer, connection quality, the recording indicator
(``incall.recording``, while a recording runs), mute, audio output, hang up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import flet as ft

from voip_app.clock import Clock
from voip_app.ui import theme
from voip_app.ui.models import CallModel
from voip_app.ui.models.text import elapsed_text
from voip_app.ui.views.call_parts import call_frame, caller_block, round_button
from voip_app.ui.views.common import tagged, task, use_model
from voip_app.ui.views.incoming import recording_notice
from voip_app.ui.views.meter import LevelMeter

TIMER_MAX_TICKS = 24 * 3600
"""The in-call timer stops ticking after a day (a bound, not a feature)."""


async def tick(
    clock: Clock, show: Callable[[datetime], object], ticks: int = TIMER_MAX_TICKS
) -> None:
    """Tell ``show`` the time once a second on ``clock``, ``ticks`` times."""
    for _ in range(ticks):
        await clock.sleep(1)
        show(clock.now())


@ft.component
def CallTimer(answered_at: datetime, clock: Clock) -> ft.Control:
    now, set_now = ft.use_state(clock.now())

    async def ticking() -> None:
        await tick(clock, set_now)

    ft.use_effect(ticking, [])
    text = ft.Text(elapsed_text(answered_at, now), size=20, font_family="monospace")
    return tagged("incall.timer", text)


def status_line(calls: CallModel, clock: Clock) -> ft.Control:
    call = calls.call
    timer: ft.Control
    if call is not None and call.connected_at is not None:
        timer = CallTimer(call.connected_at, clock)
    else:
        timer = ft.Text(calls.status_text, size=20)
    quality = ft.Container(
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
        border_radius=16,
        padding=ft.Padding.symmetric(horizontal=12, vertical=4),
        content=ft.Row(
            [ft.Icon(ft.Icons.SIGNAL_CELLULAR_ALT, size=16), ft.Text(calls.quality_text, size=13)],
            tight=True,
            spacing=6,
        ),
    )
    lines = [timer, tagged("incall.quality", quality)]
    if call is not None and call.recording_now:
        lines.append(recording_notice("incall.recording", "Recording"))
    return ft.Column(lines, horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=8)


def mute_button(calls: CallModel) -> ft.Control:
    muted = calls.call is not None and calls.call.muted
    return round_button(
        "incall.mute",
        ft.Icons.MIC_OFF if muted else ft.Icons.MIC,
        "Unmute" if muted else "Mute",
        task(calls.toggle_mute),
        ft.Colors.ON_SURFACE if muted else ft.Colors.SURFACE_CONTAINER_HIGHEST,
        ft.Colors.SURFACE if muted else ft.Colors.ON_SURFACE,
    )


def output_picker(calls: CallModel) -> ft.Control:
    async def on_output(e: ft.Event[ft.Dropdown]) -> None:
        if e.control.value:
            await calls.select_output(e.control.value)

    output = calls.call.output if calls.call else None
    picker = ft.Dropdown(
        value=output.id if output else None,
        options=[ft.DropdownOption(key=o.id, text=o.name) for o in calls.outputs],
        hint_text=calls.output_label,
        leading_icon=ft.Icons.VOLUME_UP,
        on_select=on_output,
        width=230,
        dense=True,
    )
    return ft.Column(
        [tagged("incall.output", picker), ft.Text("Audio output", size=13)],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=8,
        tight=True,
    )


def devices_notice(calls: CallModel) -> ft.Control | None:
    """``incall.devices``: which device is missing and what to do (none when all work)."""
    text = calls.devices_text
    if not text:
        return None
    notice = ft.Container(
        bgcolor=ft.Colors.ERROR_CONTAINER,
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=14, vertical=10),
        width=420,
        content=ft.Row(
            [
                ft.Icon(ft.Icons.MIC_OFF if "microphone" in text else ft.Icons.VOLUME_OFF),
                ft.Text(text, color=ft.Colors.ON_ERROR_CONTAINER, expand=True),
            ],
            spacing=10,
        ),
    )
    return tagged("incall.devices", notice)


@ft.component
def InCallView(calls: CallModel) -> ft.Control:
    clock = use_model().clock
    name = calls.call.peer.display_name if calls.call else ""
    hang_up = round_button(
        "incall.hangup", ft.Icons.CALL_END, "Hang up", task(calls.hang_up), theme.HANG_UP_RED
    )
    controls = ft.Row(
        [mute_button(calls), output_picker(calls), hang_up],
        alignment=ft.MainAxisAlignment.SPACE_EVENLY,
        vertical_alignment=ft.CrossAxisAlignment.START,
        wrap=True,
        spacing=24,
        run_spacing=24,
    )
    meters = ft.Column(
        [
            LevelMeter("incall.level.local", "You", calls.local_level, clock),
            LevelMeter(
                "incall.level.remote", name.split(" ")[0] or "Them", calls.remote_level, clock
            ),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        spacing=4,
        tight=True,
    )
    parts: list[ft.Control] = [caller_block(name, status_line(calls, clock)), meters]
    notice = devices_notice(calls)
    if notice is not None:
        parts.append(notice)
    parts.append(controls)
    return call_frame("incall.view", parts)
