"""The contract's payload models: what the server accepts from a client and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from voip_contract import Ack, CallIdPayload, CallStatus, ErrorCode, InvitePayload
from voip_contract.base import ID_MAX


def test_invite_accepts_the_contract_shape() -> None:
    payload = InvitePayload.model_validate({"callee_id": " u1 ", "request_id": "r1"})
    assert payload.callee_id == "u1"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"callee_id": "u1"},
        {"callee_id": "", "request_id": "r"},
        {"callee_id": "u1", "request_id": "r", "tenant_id": "t2"},
        {"callee_id": "u" * (ID_MAX + 1), "request_id": "r"},
        {"callee_id": 5, "request_id": "r"},
        {"callee_id": ["u1"], "request_id": "r"},
    ],
)
def test_invite_refuses_malformed_payloads(raw: object) -> None:
    with pytest.raises(ValidationError):
        InvitePayload.model_validate(raw)


def test_call_id_payload_refuses_extra_fields() -> None:
    with pytest.raises(ValidationError):
        CallIdPayload.model_validate({"call_id": "c", "user_id": "someone-else"})


def test_final_statuses() -> None:
    live = {CallStatus.RINGING, CallStatus.IN_PROGRESS}
    assert {s for s in CallStatus if not s.is_final} == live


def test_ack_shapes() -> None:
    assert Ack.success(call_id="c") == {"ok": True, "call_id": "c"}
    assert Ack.failure(ErrorCode.BUSY, "Bob is in another call.") == {
        "ok": False,
        "error": {"code": "busy", "message": "Bob is in another call."},
    }
