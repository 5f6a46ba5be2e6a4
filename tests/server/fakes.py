"""Fakes of the call operations' edges for tests without a server process: LiveKit's room API,
the Socket.IO notifier and the clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from server.media import EgressResult, MediaUnavailable, ParticipantInfo, RoomInfo, WebhookNotice
from voip_contract import ServerEvent


@dataclass
class FakeRooms:
    """:class:`server.media.MediaRooms` in memory; ``down`` makes every request fail."""

    inside: dict[str, list[str]] = field(default_factory=dict)
    down: bool = False
    egress: dict[str, EgressResult] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)

    @property
    def client_url(self) -> str:
        return "ws://fake"

    async def create_room(self, name: str) -> str:
        self.inside.setdefault(name, [])
        return f"RM_{name}"

    async def delete_room(self, name: str) -> None:
        self.inside.pop(name, None)

    async def list_rooms(self, prefix: str) -> list[RoomInfo]:
        return [RoomInfo(n, f"RM_{n}", len(p)) for n, p in self.inside.items()]

    async def existing_rooms(self, names: Sequence[str]) -> set[str]:
        if self.down:
            raise MediaUnavailable("fake LiveKit is down")
        return set(names) & set(self.inside)

    async def list_participants(self, name: str) -> list[ParticipantInfo]:
        if self.down:
            raise MediaUnavailable("fake LiveKit is down")
        return [ParticipantInfo(identity, identity) for identity in self.inside.get(name, [])]

    def mint_token(self, *, room: str, identity: str, name: str) -> str:
        return f"token:{room}:{identity}"

    async def start_recording(self, room: str, filepath: str) -> str:
        if self.down:
            raise MediaUnavailable("fake LiveKit is down")
        self.egress[filepath] = EgressResult(f"EG_{filepath}", room, "active", filepath)
        return f"EG_{filepath}"

    async def stop_recording(self, egress_id: str) -> None:
        if self.down:
            raise MediaUnavailable("fake LiveKit is down")
        self.stopped.append(egress_id)

    async def list_recordings(self, room: str) -> list[EgressResult]:
        if self.down:
            raise MediaUnavailable("fake LiveKit is down")
        return [e for e in self.egress.values() if e.room_name == room]

    def verify_webhook(self, body: str, auth_header: str | None) -> WebhookNotice:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


@dataclass
class Recorded:
    """:class:`server.calls.announce.Notifier` that keeps what it was asked to deliver:
    ``(event, data, (kind, id))`` with kind ``user``, ``tenant``, ``watchers`` or ``socket``."""

    events: list[tuple[ServerEvent, dict[str, Any], tuple[str, str]]] = field(default_factory=list)
    watched: set[str] = field(default_factory=set)
    """Users someone watches (``watched_among``)."""
    closed: list[str] = field(default_factory=list)
    """Sockets closed (``disconnect``), in order."""

    async def to_user(
        self,
        user_id: str,
        event: ServerEvent,
        data: dict[str, Any],
        *,
        except_sid: str | None = None,
    ) -> None:
        self.events.append((event, data, ("user", user_id)))

    async def to_tenant(self, tenant_id: str, event: ServerEvent, data: dict[str, Any]) -> None:
        self.events.append((event, data, ("tenant", tenant_id)))

    async def to_watchers(self, user_id: str, event: ServerEvent, data: dict[str, Any]) -> None:
        self.events.append((event, data, ("watchers", user_id)))

    async def to_socket(self, sid: str, event: ServerEvent, data: dict[str, Any]) -> None:
        self.events.append((event, data, ("socket", sid)))

    async def watched_among(self, user_ids: Sequence[str]) -> list[str]:
        return [uid for uid in user_ids if uid in self.watched]

    async def disconnect(self, sid: str) -> None:
        self.closed.append(sid)

    def sent(self, event: ServerEvent) -> list[tuple[dict[str, Any], tuple[str, str]]]:
        """``(data, to)`` of every ``event`` delivered, in order."""
        return [(data, to) for e, data, to in self.events if e is event]


class FakeClock:
    """:class:`server.clock.Clock` that moves only when told: :meth:`advance`, or
    :meth:`sleep`, which moves it by the time slept and returns at once (it never suspends:
    give it only to code that awaits something else too, or that a test awaits to its end)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
