"""The outgoing call screen (``outgoing.*``): calling, ringing, connecting; cancel."""

from __future__ import annotations

import flet as ft

from voip_app.ui import theme
from voip_app.ui.models import CallModel
from voip_app.ui.views.call_parts import call_frame, caller_block, round_button
from voip_app.ui.views.common import tagged, task


@ft.component
def OutgoingView(calls: CallModel) -> ft.Control:
    name = calls.call.peer.display_name if calls.call else ""
    status = tagged("outgoing.status", ft.Text(calls.status_text, size=18))
    cancel = round_button(
        "outgoing.cancel", ft.Icons.CALL_END, "Cancel", task(calls.cancel), theme.HANG_UP_RED
    )
    return call_frame("outgoing.view", [caller_block(name, status), cancel])
