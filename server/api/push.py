"""Push: a device's registration (``PUT``/``DELETE /api/devices/{device_id}/push``) and a decline
from an incoming-call notification (``POST /api/calls/{call_id}/push-decline``), which carries
the push's capability instead of a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from server.api.deps import CallsDep, IdentityDep
from server.calls import push_devices
from server.push.capability import verify_decline
from voip_contract import PushDecline, PushRegistration
from voip_contract.base import ID_MAX

router = APIRouter()

DeviceId = Annotated[str, Path(min_length=1, max_length=ID_MAX)]
CallId = Annotated[str, Path(min_length=1, max_length=ID_MAX)]


@router.put("/devices/{device_id}/push", status_code=204)
async def register_push(
    device_id: DeviceId, body: PushRegistration, ident: IdentityDep, deps: CallsDep
) -> Response:
    """Wake my device ``device_id`` (the id it gives at socket connect) with this token; it
    replaces the device's old one, and leaves any other device that had it."""
    await push_devices.register(deps, ident, device_id, body)
    return Response(status_code=204)


@router.delete("/devices/{device_id}/push", status_code=204)
async def unregister_push(device_id: DeviceId, ident: IdentityDep, deps: CallsDep) -> Response:
    """Stop waking my device ``device_id`` (at sign-out); 204 also when it had no registration."""
    await push_devices.unregister(deps, ident, device_id)
    return Response(status_code=204)


@router.post("/calls/{call_id}/push-decline", status_code=204)
async def decline_from_push(call_id: CallId, body: PushDecline, deps: CallsDep) -> Response:
    """Decline a ringing call with the capability its ``incoming`` push carried (no session:
    the phone's notification declines with the app killed)."""
    grant = verify_decline(deps.settings, body.capability, call_id=call_id, now=deps.clock.now())
    await push_devices.decline_from_push(deps, grant)
    return Response(status_code=204)
