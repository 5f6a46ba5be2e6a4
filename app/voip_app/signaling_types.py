"""Signaling's vocabulary: the link's events (:class:`LinkUp`, :class:`LinkDown`,
:class:`AuthRefused`), every :data:`SignalEvent`, what the engine needs (:class:`Signaling`), and
the call server's Socket.IO acks and pushed events read into the contract's models: the one place
that checks their shape.

An ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}``
(:func:`parse_ack`: the typed payload, or the :mod:`voip_app.errors` exception for it); a pushed
event is one of :data:`PUSHED` (:func:`parse_pushed`: ``None`` for one outside the contract).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from voip_app.errors import BadResponse, refused
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    Call,
    ClientEvent,
    Ended,
    Incoming,
    PresenceChanged,
    RecordingChanged,
    Ringing,
    RoomToken,
    ServerEvent,
)

log = logging.getLogger("voip_app.signaling")


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Connected (again) and synced: ``calls`` are the active calls I am part of."""

    calls: tuple[Call, ...]
    reconnected: bool


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link dropped; the client is retrying on its own."""

    reason: str


@dataclass(frozen=True, slots=True)
class AuthRefused:
    """The server refused our credentials on a reconnect: sign in again (the client has stopped
    reconnecting)."""

    message: str


SignalEvent = (
    Incoming
    | Ringing
    | Accepted
    | AnsweredElsewhere
    | Ended
    | PresenceChanged
    | RecordingChanged
    | LinkUp
    | LinkDown
    | AuthRefused
)
SignalListener = Callable[[SignalEvent], None]


class Signaling(Protocol):
    """What the engine needs from signaling (real: ``SignalingClient``)."""

    def set_listener(self, listener: SignalListener | None) -> None: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def invite(self, callee_id: str, request_id: str) -> Call: ...

    async def accept(self, call_id: str) -> RoomToken: ...

    async def decline(self, call_id: str) -> None: ...

    async def cancel(self, call_id: str) -> None: ...

    async def hangup(self, call_id: str) -> None: ...

    async def sync(self) -> list[Call]: ...

    async def watch_presence(self, user_ids: Sequence[str]) -> list[PresenceChanged]: ...

    async def renew_token(self, token: str) -> None:
        """Hand the link's server a renewed access token: the server closes a socket whose
        token expired."""
        ...


PUSHED: dict[ServerEvent, type[BaseModel]] = {
    ServerEvent.INCOMING: Incoming,
    ServerEvent.RINGING: Ringing,
    ServerEvent.ACCEPTED: Accepted,
    ServerEvent.ANSWERED_ELSEWHERE: AnsweredElsewhere,
    ServerEvent.ENDED: Ended,
    ServerEvent.PRESENCE: PresenceChanged,
    ServerEvent.RECORDING: RecordingChanged,
}
"""Every event the server pushes, and its payload model."""

M = TypeVar("M", bound=BaseModel)


class CallAck(BaseModel):
    """``invite``'s ack."""

    call: Call


class SyncAck(BaseModel):
    calls: list[Call]


class EmptyAck(BaseModel):
    """``decline``/``cancel``/``hangup``'s ack."""


def parse_ack(event: ClientEvent, raw: Any, model: type[M]) -> M:
    """The ack of ``event`` as ``model``; raises ``RequestRefused`` (``ok: false``) or
    ``BadResponse`` (anything outside the contract)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
        raise BadResponse(f"The call server sent an unexpected answer to {event.value}.")
    if not raw["ok"]:
        error = raw.get("error") or {}
        code = error.get("code", "") if isinstance(error, dict) else ""
        message = error.get("message", "") if isinstance(error, dict) else ""
        raise refused(str(code), str(message))
    body = {key: value for key, value in raw.items() if key != "ok"}
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadResponse(f"The call server sent an unexpected answer to {event.value}.") from exc


def parse_pushed(name: ServerEvent, data: Any) -> BaseModel | None:
    """A pushed event as its model; a malformed one is logged and dropped (``None``)."""
    try:
        return PUSHED[name].model_validate(data)
    except ValidationError:
        log.warning("dropping malformed %s event: %r", name.value, data)
        return None


def is_auth_refusal(text: str) -> bool:
    """Does a connect refusal say the token was refused (not that the network failed)?"""
    return any(word in text.lower() for word in ("token", "auth", "expired", "unauthorized"))
