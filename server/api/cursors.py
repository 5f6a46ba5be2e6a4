"""Opaque page cursors: a few strings, base64url JSON; anything else is ``invalid_payload``."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Query

from server.errors import ServiceError
from voip_contract import ErrorCode

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]
Row = TypeVar("Row")


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def split_page(
    rows: Sequence[Row], limit: int, key: Callable[[Row], tuple[str, ...]]
) -> tuple[list[Row], str | None]:
    """The page in ``rows``, read as ``limit + 1`` (one more than a page, to learn whether
    another follows), and the next page's cursor: ``key`` of the page's last row, ``None``
    when this page is the last."""
    page = list(rows[:limit])
    next_cursor = encode_cursor(*key(page[-1])) if len(rows) > limit else None
    return page, next_cursor


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor") from exc
    if not (
        isinstance(parts, list)
        and len(parts) == size
        and all(isinstance(p, str) and p.isprintable() and len(p) <= 64 for p in parts)
    ):
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor")
    return parts


def decode_time_cursor(cursor: str) -> tuple[datetime, str]:
    """``(time, id)`` of a cursor made from an ISO time and an id."""
    at, item_id = decode_cursor(cursor, 2)
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor") from exc
    if when.tzinfo is None:  # every cursor we make has one; UTC columns take no other
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor")
    return when, item_id
