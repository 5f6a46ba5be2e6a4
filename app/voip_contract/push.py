"""The contract's push payloads: a device's registration and the notification's decline
(HTTP, in), and the FCM data messages (out)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from voip_contract.base import CAPABILITY_MAX, PUSH_TOKEN_MAX, Inbound, Outbound
from voip_contract.models import CallStatus


class PushRegistration(Inbound):
    """``PUT /api/devices/{device_id}/push``: wake this device with this token."""

    provider: Literal["fcm"]
    token: str = Field(min_length=1, max_length=PUSH_TOKEN_MAX, pattern=r"^[\x21-\x7e]+$")


class PushDecline(Inbound):
    """``POST /api/calls/{call_id}/push-decline``: the capability an ``incoming`` push carried."""

    capability: str = Field(min_length=1, max_length=CAPABILITY_MAX)


class IncomingPush(Outbound):
    """The ``data`` of an ``incoming`` push (every value a string, as FCM wants)."""

    type: Literal["incoming"] = "incoming"
    call_id: str
    caller_id: str
    caller_name: str
    ring_expires_at: datetime
    decline_capability: str
    """Declines this call for this callee until the ring ends, and does nothing else."""
    context_label: str = ""
    """The CRM record the caller called from (``invite``'s ``context.label``); empty when the
    call has none, or the server keeps it off pushes (``VOIP_PUSH_CONTEXT=false``)."""


class CancelPush(Outbound):
    """The ``data`` of a ``cancel`` push: the call stopped ringing (``status`` is its status then:
    ``IN_PROGRESS`` when answered, else its final status)."""

    type: Literal["cancel"] = "cancel"
    call_id: str
    status: CallStatus
