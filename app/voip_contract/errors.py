"""Error codes of the contract: in every Socket.IO ack and in every HTTP error body."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """``{"ok": false, "error": {"code", "message"}}`` / ``{"error": {"code", "message"}}``."""

    INVALID_PAYLOAD = "invalid_payload"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    BUSY = "busy"
    SELF_CALL = "self_call"
    INVALID_STATE = "invalid_state"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    # HTTP only: no or bad credentials (401).
    UNAUTHORIZED = "unauthorized"
