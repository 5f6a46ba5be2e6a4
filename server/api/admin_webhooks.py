"""``/api/admin/webhooks``: a tenant's admins set where its call events go, see recent
deliveries and re-send one. Only the admin's own tenant's endpoints and deliveries exist for it."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response

from server.api.admin import AdminDep
from server.api.cursors import Cursor, Limit, decode_cursor, split_page
from server.api.deps import CallsDep, DbDep
from server.db import webhook_admin as hook_admin
from server.db import webhooks as hook_data
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.errors import ServiceError
from server.webhooks.destination import DestinationRefused, check_url
from server.webhooks.signing import new_secret
from voip_contract import ErrorCode, Page
from voip_contract.admin import (
    WEBHOOK_EVENTS,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
)

router = APIRouter(prefix="/admin/webhooks")
ENDPOINTS_MAX = 10
"""Endpoints one tenant may have."""
Row = TypeVar("Row", WebhookEndpoint, WebhookDelivery)


def endpoint_view(row: WebhookEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=row.id,
        url=row.url,
        event_types=[t for t in row.event_types.split(",") if t],
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
    )


def delivery_view(row: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=row.id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        call_id=row.call_id,
        state=row.state,
        attempts=row.attempts,
        response_code=row.response_code,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        next_attempt_at=row.due_at if row.state == hook_data.PENDING else None,
    )


def _types(types: list[str]) -> str:
    """As stored: in the contract's order, comma-delimited at both ends."""
    return "," + ",".join(t for t in WEBHOOK_EVENTS if t in types) + ","


def _checked_url(deps: CallsDep, url: str) -> str:
    try:
        check_url(url, allow_private=deps.settings.webhook_allow_private)
    except DestinationRefused as exc:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, f"url: {exc}") from exc
    return url


def _found(row: Row | None, what: str) -> Row:
    """``row``, or NOT_FOUND when there is none (for the admin: the lookups only see the
    admin's own tenant, so another tenant's row is not found either)."""
    if row is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"no such {what}")
    return row


async def _endpoint(session: DbDep, admin: AdminDep, endpoint_id: str) -> WebhookEndpoint:
    found = await hook_admin.endpoint(
        session, tenant_id=admin.tenant_id, endpoint_id=endpoint_id[:32]
    )
    return _found(found, "webhook endpoint")


@router.get("", response_model=list[WebhookEndpointOut])
async def list_endpoints(admin: AdminDep, session: DbDep) -> list[WebhookEndpointOut]:
    rows = await hook_admin.endpoints_of(session, tenant_id=admin.tenant_id)
    return [endpoint_view(r) for r in rows]


@router.post("", response_model=WebhookEndpointCreated, status_code=201)
async def create_endpoint(
    admin: AdminDep, deps: CallsDep, session: DbDep, body: WebhookEndpointIn
) -> WebhookEndpointCreated:
    """A new endpoint; its signing secret is in this answer only."""
    if len(await hook_admin.endpoints_of(session, tenant_id=admin.tenant_id)) >= ENDPOINTS_MAX:
        raise ServiceError(ErrorCode.INVALID_STATE, f"at most {ENDPOINTS_MAX} endpoints")
    row = WebhookEndpoint(
        tenant_id=admin.tenant_id,
        url=_checked_url(deps, body.url),
        event_types=_types(list(body.event_types)),
        enabled=body.enabled,
        secret=new_secret(),
        created_at=deps.clock.now(),
    )
    session.add(row)
    await session.commit()
    return WebhookEndpointCreated(**endpoint_view(row).model_dump(), secret=row.secret)


@router.patch("/{endpoint_id}", response_model=WebhookEndpointOut)
async def update_endpoint(
    endpoint_id: str, admin: AdminDep, deps: CallsDep, session: DbDep, body: WebhookEndpointUpdate
) -> WebhookEndpointOut:
    """Change the URL, the events or ``enabled``; enabling clears why it was disabled."""
    row = await _endpoint(session, admin, endpoint_id)
    if body.url is not None:
        row.url = _checked_url(deps, body.url)
    if body.event_types is not None:
        row.event_types = _types(list(body.event_types))
    if body.enabled is not None:
        if body.enabled and not row.enabled:
            row.disabled_reason, row.failing_since = None, None
        row.enabled = body.enabled
    await session.commit()
    return endpoint_view(row)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, admin: AdminDep, session: DbDep) -> Response:
    """The endpoint and its deliveries (pending ones are not sent)."""
    row = await _endpoint(session, admin, endpoint_id)
    await hook_admin.delete_endpoint(session, endpoint_id=row.id)
    await session.commit()
    return Response(status_code=204)


@router.get("/deliveries", response_model=Page[WebhookDeliveryOut])
async def list_deliveries(
    admin: AdminDep,
    session: DbDep,
    endpoint_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WebhookDeliveryOut]:
    """The tenant's deliveries, newest first: state, attempts, the last response code."""
    before = decode_cursor(cursor, 1)[0] if cursor else None
    if before is not None and not before.isdigit():
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor")
    rows = await hook_admin.deliveries_page(
        session,
        tenant_id=admin.tenant_id,
        endpoint_id=endpoint_id,
        before=int(before) if before else None,
        limit=limit + 1,
    )
    page, next_cursor = split_page(rows, limit, lambda d: (str(d.id),))
    return Page[WebhookDeliveryOut](items=[delivery_view(r) for r in page], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/resend", response_model=WebhookDeliveryOut, status_code=201)
async def resend(
    delivery_id: int, admin: AdminDep, deps: CallsDep, session: DbDep
) -> WebhookDeliveryOut:
    """The same event (same ``webhook-id``) once more to its endpoint, as a new delivery."""
    original = await hook_admin.delivery(
        session, tenant_id=admin.tenant_id, delivery_id=delivery_id
    )
    made = await hook_admin.resend(
        session, original=_found(original, "delivery"), at=deps.clock.now()
    )
    await session.commit()
    deps.webhooks.kick()
    again = await hook_admin.delivery(session, tenant_id=admin.tenant_id, delivery_id=made)
    assert again is not None
    return delivery_view(again)
