"""A small level meter: a bar and its reading (``silent`` or ``-18 dB``), polled a few times a
second from a model's reader while it is on screen."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from voip_app.clock import Clock
from voip_app.ui.models.text import level_fraction, level_text
from voip_app.ui.views.common import tagged

METER_PERIOD_S = 0.15
METER_MAX_TICKS = 24 * 3600 * 7
"""A meter stops polling after about a day on screen (a bound, not a feature)."""


async def poll(
    clock: Clock, read: Callable[[], float], show: Callable[[float], object], ticks: int
) -> None:
    """Tell ``show`` what ``read`` says every :data:`METER_PERIOD_S` on ``clock``."""
    for _ in range(ticks):
        await clock.sleep(METER_PERIOD_S)
        show(read())


@ft.component
def LevelMeter(
    identifier: str, label: str, read: Callable[[], float], clock: Clock, width: float = 140
) -> ft.Control:
    level, set_level = ft.use_state(0.0)

    async def polling() -> None:
        await poll(clock, read, set_level, METER_MAX_TICKS)

    ft.use_effect(polling, [])
    fraction = level_fraction(level)
    colour = ft.Colors.PRIMARY if fraction < 0.9 else ft.Colors.ERROR  # near clipping
    bar = ft.ProgressBar(value=fraction, width=width, bar_height=6, color=colour)
    reading = ft.Text(level_text(level), size=12, width=56, text_align=ft.TextAlign.RIGHT)
    row = ft.Row(
        [ft.Text(label, size=12, width=64), bar, reading],
        tight=True,
        spacing=8,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    return tagged(identifier, row)
