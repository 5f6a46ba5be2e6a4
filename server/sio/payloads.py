"""Client event payloads, validated at the edge by the contract's closed, bounded models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server.errors import ServiceError
from voip_contract import ErrorCode, SyncPayload
from voip_contract.base import ID_MAX, PRESENCE_WATCH_MAX

M = TypeVar("M", bound=BaseModel)

MAX_PAYLOAD_BYTES = 2048
"""Largest event payload (JSON) a client may send; bigger is ``invalid_payload``."""
MAX_WATCH_PAYLOAD_BYTES = PRESENCE_WATCH_MAX * (ID_MAX + 4) + 64
"""``presence_watch`` carries up to :data:`PRESENCE_WATCH_MAX` ids."""


def parse(model: type[M], data: Any, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> M:
    """``data`` as ``model``; ``invalid_payload`` (saying where) for anything else."""
    if data is None and model is SyncPayload:
        data = {}
    if not isinstance(data, dict):
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "payload must be a JSON object")
    if len(json.dumps(data, default=str)) > max_bytes:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "payload too large")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, f"{where}: {first['msg']}") from exc


def device_id_of(auth: dict[str, Any]) -> str | None:
    """The ``device_id`` a client named at connect; ``ValueError`` when it is not 1-64 chars."""
    device_id = auth.get("device_id")
    if device_id is not None and (
        not isinstance(device_id, str) or not 0 < len(device_id) <= ID_MAX
    ):
        raise ValueError("bad device_id")
    return device_id
