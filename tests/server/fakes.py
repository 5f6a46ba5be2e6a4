"""Fakes of the call service's edges for service-level tests (no server process): LiveKit's room
API and the Socket.IO notifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.media import MediaUnavailable, ParticipantInfo, RoomInfo, WebhookNotice
from voip_contract import ServerEvent


@dataclass
class FakeRooms:
    """:class:`server.media.MediaRooms` in memory; ``down`` makes every request fail."""

    inside: dict[str, list[str]] = field(default_factory=dict)
    down: bool = False

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

    def verify_webhook(self, body: str, auth_header: str | None) -> WebhookNotice:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


@dataclass
class Recorded:
    events: list[tuple[ServerEvent, dict[str, Any], str]] = field(default_factory=list)

    async def emit(
        self, event: ServerEvent, data: dict[str, Any], *, to: str, skip_sid: str | None = None
    ) -> None:
        self.events.append((event, data, to))

    def may_reach(self, room: str) -> bool:
        return True
