"""The Webhooks screen (``admin.webhook*``), for a tenant's admins: add an endpoint (its secret
shown once), the endpoints with their state, Disable / Enable and Delete (confirmed), the
latest deliveries with status, response code and Re-send."""

from __future__ import annotations

import flet as ft

from voip_app.ui.models.webhooks import WebhooksModel
from voip_app.ui.views.common import Handler, list_card, screen, tagged, task
from voip_contract.admin import WebhookDeliveryOut, WebhookEndpointOut


def add_form(hooks: WebhooksModel) -> ft.Control:
    async def typed(e: ft.Event[ft.TextField]) -> None:
        hooks.type_url(e.control.value or "")

    url = tagged(
        "admin.webhook.url",
        ft.TextField(label="Endpoint URL", value=hooks.new_url, on_change=typed),
    )
    add = tagged("admin.webhook.add", ft.FilledButton("Add endpoint", on_click=task(hooks.add)))
    parts: list[ft.Control] = [url, ft.Row([add], alignment=ft.MainAxisAlignment.END)]
    if hooks.secret:
        shown = ft.Text(hooks.secret, size=13)
        parts.append(ft.Text("Signing secret (shown once):", size=13))
        parts.append(tagged("admin.webhook.secret", shown))
    return ft.Column(parts, spacing=8)


def endpoint_actions(hooks: WebhooksModel, endpoint: WebhookEndpointOut) -> list[ft.Control]:
    """Disable / Enable and Delete; after Delete, "Delete?" with Delete and Keep."""
    key = f"admin.webhook.{endpoint.id}"

    def button(name: str, label: str, on_click: Handler) -> ft.Control:
        return tagged(f"{key}.{name}", ft.TextButton(label, on_click=on_click), button=True)

    if hooks.deleting == endpoint.id:
        return [
            ft.Text("Delete it and its deliveries?", size=13),
            button("confirm", "Delete", task(lambda: hooks.delete(endpoint.id))),
            button("keep", "Keep", lambda _: hooks.ask_delete("")),
        ]
    switch = "Disable" if endpoint.enabled else "Enable"
    return [
        button("switch", switch, task(lambda: hooks.switch(endpoint))),
        button("delete", "Delete", lambda _: hooks.ask_delete(endpoint.id)),
    ]


def endpoint_row(hooks: WebhooksModel, endpoint: WebhookEndpointOut) -> ft.Control:
    state = (
        "Enabled" if endpoint.enabled else f"Disabled: {endpoint.disabled_reason or 'by an admin'}"
    )
    lines = [
        ft.Text(endpoint.url, size=15, weight=ft.FontWeight.W_500),
        ft.Text(", ".join(endpoint.event_types), size=13),
        tagged(f"admin.webhook.{endpoint.id}.status", ft.Text(state, size=13)),
    ]
    return ft.Container(
        padding=ft.Padding.symmetric(horizontal=16, vertical=10),
        content=ft.Row(
            [ft.Column(lines, spacing=2, expand=True), *endpoint_actions(hooks, endpoint)]
        ),
    )


def delivery_row(hooks: WebhooksModel, delivery: WebhookDeliveryOut) -> ft.Control:
    code = f" · HTTP {delivery.response_code}" if delivery.response_code else ""
    state = f"{delivery.state}{code} · {delivery.attempts} attempt(s)"
    resend = ft.TextButton("Re-send", on_click=task(lambda: hooks.resend(delivery.id)))
    key = f"admin.delivery.{delivery.id}"
    return ft.Container(
        padding=ft.Padding.symmetric(horizontal=16, vertical=8),
        content=ft.Row(
            [
                ft.Column(
                    [
                        ft.Text(delivery.event_type, size=15),
                        tagged(f"{key}.status", ft.Text(state, size=13)),
                    ],
                    spacing=2,
                    expand=True,
                ),
                tagged(f"{key}.resend", resend, button=True),
            ]
        ),
    )


@ft.component
def WebhooksView(hooks: WebhooksModel) -> ft.Control:
    refresh = tagged(
        "admin.webhooks.refresh", ft.TextButton("Refresh", on_click=task(hooks.opened))
    )
    endpoints = [endpoint_row(hooks, e) for e in hooks.endpoints]
    deliveries = [delivery_row(hooks, d) for d in hooks.deliveries]
    body: list[ft.Control] = [add_form(hooks)]
    if endpoints:
        body.append(list_card(endpoints))
    body.append(
        ft.Row(
            [ft.Text("Recent deliveries", size=16, weight=ft.FontWeight.W_500), refresh],
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        )
    )
    if deliveries:
        body.append(list_card(deliveries))
    return tagged("admin.webhooks.view", screen("Webhooks", body, scroll=True))
