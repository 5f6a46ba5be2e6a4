"""The error banner (``banner.error``): the message and its way forward."""

from __future__ import annotations

import flet as ft

from voip_app.ui.models import AppModel, Banner
from voip_app.ui.views.common import tagged, task, use_model


def banner_actions(model: AppModel, banner: Banner) -> list[ft.Control]:
    actions: list[ft.Control] = []
    if banner.action_label:
        actions.append(
            ft.TextButton(
                banner.action_label,
                on_click=task(model.banner_action),
                style=ft.ButtonStyle(color=ft.Colors.ON_ERROR_CONTAINER),
            )
        )
    close = ft.IconButton(
        ft.Icons.CLOSE,
        icon_color=ft.Colors.ON_ERROR_CONTAINER,
        tooltip="Dismiss",
        on_click=lambda _: banner.clear(),
    )
    return [*actions, close]


@ft.component
def BannerView(banner: Banner) -> ft.Control:
    model = use_model()
    if not banner.visible:
        return ft.Container(height=0)
    row = ft.Row(
        [
            ft.Icon(ft.Icons.ERROR_OUTLINE, color=ft.Colors.ON_ERROR_CONTAINER),
            ft.Text(banner.message, color=ft.Colors.ON_ERROR_CONTAINER, expand=True),
            *banner_actions(model, banner),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    box = ft.Container(
        bgcolor=ft.Colors.ERROR_CONTAINER,
        border_radius=12,
        padding=ft.Padding.only(left=16, right=4, top=6, bottom=6),
        margin=ft.Margin.only(left=12, right=12, top=8),
        content=row,
    )
    return tagged("banner.error", box, live_region=True)
