"""Fakes of the engine's I/O boundaries, for unit tests of one layer at a time.

- :func:`fake_server_transport`: an ``httpx.MockTransport`` speaking the call server's HTTP API;
- :class:`FakeSignaling`: the :class:`voip_app.signaling.Signaling` protocol, scripted per test;
- :class:`FakeMedia`: a :class:`voip_app.media.base.MediaSession` that records what it was told.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from voip_app.errors import RequestRefused, ServerUnreachable
from voip_app.media.base import AudioOutput, MediaError, MediaEvent, MediaListener
from voip_app.signaling import LinkDown, LinkUp, SignalEvent, SignalListener
from voip_contract import Call, ErrorCode, Presence, PresenceChanged, RoomToken

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

ALICE = {"id": "u-alice", "tenant_id": "t1", "email": "alice@acme.test", "display_name": "Alice"}
BOB = {"id": "u-bob", "display_name": "Bob", "email": "bob@acme.test", "presence": "online"}
CAROL = {
    "id": "u-carol",
    "display_name": "Carol",
    "email": "carol@acme.test",
    "presence": "offline",
}


def call_json(
    call_id: str = "c1",
    *,
    direction: str = "outgoing",
    status: str = "RINGING",
    reason: str | None = None,
    created_at: datetime = NOW,
) -> dict[str, Any]:
    me = {"id": ALICE["id"], "display_name": "Alice"}
    peer = {"id": BOB["id"], "display_name": "Bob"}
    caller, callee = (me, peer) if direction == "outgoing" else (peer, me)
    return {
        "id": call_id,
        "caller": caller,
        "callee": callee,
        "direction": direction,
        "status": status,
        "reason": reason,
        "created_at": created_at.isoformat(),
    }


def make_call(**kwargs: Any) -> Call:
    return Call.model_validate(call_json(**kwargs))


@dataclass
class FakeServer:
    """State behind :func:`fake_server_transport`; tests tweak it and read ``requests``."""

    password: str = "demo-password"
    token: str = "tok-1"
    calls: list[dict[str, Any]] = field(default_factory=list)
    room_token_status: int = 200
    token_devices: set[str] | None = None
    """When set, room tokens only for these ``device_id`` s (403 ``forbidden`` otherwise)."""
    contacts: list[dict[str, Any]] = field(default_factory=lambda: [BOB, CAROL])
    requests: list[httpx.Request] = field(default_factory=list)
    renewed_token: str = "tok-2"
    refresh_status: int = 200
    """``POST /api/auth/refresh`` answers with this status (and a fitting error code)."""
    push_status: int = 204
    """``PUT``/``DELETE /api/devices/{id}/push`` answer with this status."""
    push_devices: dict[str, str] = field(default_factory=dict)
    """Push registrations, device id -> token, as the server keeps them."""

    def _session(self) -> httpx.Response:
        """What login and refresh answer: the current token, good for an hour."""
        body = {"access_token": self.token, "token_type": "bearer", "expires_in": 3600}
        return httpx.Response(200, json={**body, "user": ALICE})

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/auth/login":
            body = json.loads(request.content)
            if body.get("password") != self.password:
                return _error(401, "unauthorized", "bad credentials")
            return self._session()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "no session")
        if path == "/api/me":
            return httpx.Response(200, json=ALICE)
        if path == "/api/auth/refresh":
            if self.refresh_status != 200:
                code = {401: "unauthorized", 403: "forbidden"}.get(self.refresh_status)
                return _error(self.refresh_status, code or "unavailable", "no renewal")
            self.token = self.renewed_token
            return self._session()
        if path == "/api/contacts":
            query = request.url.params.get("q", "")
            limit = int(request.url.params.get("limit", "50"))
            start = int(request.url.params.get("cursor", "0"))
            matching = [c for c in self.contacts if query in c["email"]]
            items = matching[start : start + limit]
            more = start + limit < len(matching)
            return httpx.Response(
                200, json={"items": items, "next_cursor": str(start + limit) if more else None}
            )
        if path == "/api/calls":
            return httpx.Response(200, json={"items": self.calls, "next_cursor": None})
        if path.startswith("/api/devices/") and path.endswith("/push"):
            return self._push(request, path.split("/")[3])
        if path.startswith("/api/calls/") and path.endswith("/token"):
            if self.room_token_status != 200:
                return _error(self.room_token_status, "invalid_state", "call is over")
            device = json.loads(request.content).get("device_id") if request.content else None
            if self.token_devices is not None and device not in self.token_devices:
                return _error(403, "forbidden", "not the device in this call")
            return httpx.Response(
                200, json={"livekit_url": "ws://sfu", "room_name": "r", "token": "fresh"}
            )
        if path.startswith("/api/calls/"):
            call_id = path.rsplit("/", 1)[1]
            for call in self.calls:
                if call["id"] == call_id:
                    return httpx.Response(200, json=call)
            return _error(404, "not_found", "no such call")
        return _error(404, "not_found", "no route")

    def _push(self, request: httpx.Request, device_id: str) -> httpx.Response:
        if self.push_status != 204:
            return _error(self.push_status, "unavailable", "push registrations are down")
        if request.method == "PUT":
            self.push_devices[device_id] = json.loads(request.content)["token"]
        else:
            self.push_devices.pop(device_id, None)
        return httpx.Response(204)


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def fake_server_transport(server: FakeServer) -> httpx.MockTransport:
    return httpx.MockTransport(server.handler)


class FakeSignaling:
    """Records requests; acks come from ``ack_*`` attributes; ``push`` plays a server event."""

    def __init__(self) -> None:
        self.listener: SignalListener | None = None
        self.connected = False
        self.sent: list[tuple[str, str]] = []
        self._sent_more = asyncio.Event()
        self.request_ids: list[str] = []
        self.invite_result: Call | Exception = make_call()
        self.drop_invites = 0
        """The next this many invites lose the link while they wait (``LinkDown``, then
        ``ServerUnreachable``, as the real client does)."""
        self.before_invite_answer: list[SignalEvent] = []
        """Events the server sends while the next invite waits for its answer (a callee that
        answers at once: ``accepted`` can overtake the invite's answer)."""
        self.relink_with: tuple[Call, ...] | None = None
        """When set, a dropped link comes back at once, with these calls in its ``sync``."""
        self.accept_result: RoomToken | Exception = RoomToken(
            livekit_url="ws://sfu", room_name="r", token="t"
        )
        self.refuse: dict[str, Exception] = {}
        self.sync_calls: list[Call] = []
        self.connect_error: Exception | None = None
        self.watched: list[list[str]] = []
        """Every ``presence_watch``'s ids, in order."""
        self.renewed_tokens: list[str] = []
        """Every token handed over by ``renew_token``, in order."""
        self.presence: dict[str, Presence] = {}
        """What a ``presence_watch`` acks for these users (others are left out of the ack, as the
        server leaves out ids it does not know)."""

    def set_listener(self, listener: SignalListener | None) -> None:
        self.listener = listener

    def push(self, event: SignalEvent) -> None:
        assert self.listener is not None, "nobody listens"
        self.listener(event)

    async def connect(self) -> None:
        if self.connect_error is not None:
            raise self.connect_error
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    def _record(self, action: str, call_id: str) -> None:
        self.sent.append((action, call_id))
        self._sent_more.set()

    async def until_sent(self, action: str, call_id: str, within_s: float = 5) -> None:
        """Wait (bounded) until ``action`` for ``call_id`` has been sent."""
        async with asyncio.timeout(within_s):
            while (action, call_id) not in self.sent:
                self._sent_more.clear()
                await self._sent_more.wait()

    async def invite(self, callee_id: str, request_id: str) -> Call:
        self._record("invite", callee_id)
        self.request_ids.append(request_id)
        if self.drop_invites > 0:
            self.drop_invites -= 1
            self.push(LinkDown("transport error"))
            if self.relink_with is not None:
                relink = LinkUp(calls=self.relink_with, reconnected=True)
                asyncio.get_running_loop().call_soon(self.push, relink)
            raise ServerUnreachable("http://fake", "connection lost during invite")
        early, self.before_invite_answer = self.before_invite_answer, []
        for event in early:
            self.push(event)
        if isinstance(self.invite_result, Exception):
            raise self.invite_result
        return self.invite_result

    async def accept(self, call_id: str) -> RoomToken:
        self._record("accept", call_id)
        if isinstance(self.accept_result, Exception):
            raise self.accept_result
        return self.accept_result

    async def _simple(self, action: str, call_id: str) -> None:
        self._record(action, call_id)
        if action in self.refuse:
            raise self.refuse[action]

    async def decline(self, call_id: str) -> None:
        await self._simple("decline", call_id)

    async def cancel(self, call_id: str) -> None:
        await self._simple("cancel", call_id)

    async def hangup(self, call_id: str) -> None:
        await self._simple("hangup", call_id)

    async def sync(self) -> list[Call]:
        return self.sync_calls

    async def renew_token(self, token: str) -> None:
        self.renewed_tokens.append(token)

    async def watch_presence(self, user_ids: Sequence[str]) -> list[PresenceChanged]:
        self.watched.append(list(user_ids))
        return [
            PresenceChanged(user_id=u, presence=self.presence[u])
            for u in user_ids
            if u in self.presence
        ]


class FakeMedia:
    """A media session that joins at once (or fails with ``fail``) and records calls."""

    def __init__(self, fail: str | None = None) -> None:
        self.listener: MediaListener | None = None
        self.fail = fail
        self.joined: tuple[str, str] | None = None
        self.disconnected = 0
        self.mic_enabled = True
        self.selected: str | None = None

    def set_listener(self, listener: MediaListener | None) -> None:
        self.listener = listener

    def emit(self, event: MediaEvent) -> None:
        assert self.listener is not None
        self.listener(event)

    async def connect(self, url: str, token: str) -> None:
        if self.fail:
            raise MediaError(self.fail)
        self.joined = (url, token)

    async def disconnect(self) -> None:
        self.disconnected += 1

    async def set_microphone_enabled(self, enabled: bool) -> None:
        self.mic_enabled = enabled

    async def list_audio_outputs(self) -> list[AudioOutput]:
        return [
            AudioOutput("spk", "Speaker", "speaker"),
            AudioOutput("ear", "Earpiece", "earpiece"),
        ]

    async def select_audio_output(self, output_id: str) -> None:
        self.selected = output_id


class MediaFactory:
    """Hands out :class:`FakeMedia` sessions; ``failures`` makes the next joins fail."""

    def __init__(self) -> None:
        self.sessions: list[FakeMedia] = []
        self.failures: list[str] = []

    def __call__(self, prefs: Any) -> FakeMedia:
        media = FakeMedia(self.failures.pop(0) if self.failures else None)
        self.sessions.append(media)
        return media


def unreachable() -> ServerUnreachable:
    return ServerUnreachable("http://fake", "test")


def refused(code: ErrorCode) -> RequestRefused:
    return RequestRefused(code, "test")


class FakePushSource:
    """:class:`voip_app.push.PushSource` as the Android side behaves: a token once started
    (``None``: a build without push), rotations played by :meth:`rotate`."""

    def __init__(self, token: str | None = "fcm-1", *, fails: bool = False) -> None:
        self.token, self.fails = token, fails
        self.server_url: str | None = None
        self.stopped = 0
        self._listener: Callable[[str], None] | None = None

    async def start(self, server_url: str) -> str | None:
        if self.fails:
            raise RuntimeError("Firebase is not initialised")
        self.server_url = server_url
        return self.token

    def set_token_listener(self, listener: Callable[[str], None] | None) -> None:
        self._listener = listener

    async def stop(self) -> None:
        self.server_url = None
        self.stopped += 1

    def rotate(self, token: str) -> None:
        self.token = token
        if self._listener is not None:
            self._listener(token)
