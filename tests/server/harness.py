"""What the server integration tests share: a running stack, tenants, and recording clients.

A :class:`Stack` is one real call server process (plus the real ``voip-devsfu`` it uses as its
LiveKit endpoint). Tests make their own tenant with fresh users (:meth:`Stack.tenant`), so tests
sharing a server never see each other's users or calls. Clients are real
``socketio.AsyncClient`` s that record every event they receive.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import socketio
from livekit import api

from server.auth import issue_token
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.seed import UserSpec, ensure_tenant, ensure_users
from tests.support.devsfu import DevSfu
from tests.support.servers import CallServer
from voip_contract import NAMESPACE

EVENT_TIMEOUT = 10.0
PASSWORD = "test-password"


@dataclass
class Person:
    id: str
    tenant_id: str
    email: str
    display_name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Recorder:
    """A connected ``/call`` client that keeps every server event, in order."""

    def __init__(
        self,
        url: str,
        person: Person,
        device_id: str | None = None,
        transports: tuple[str, ...] = ("websocket",),
    ) -> None:
        self.url = url
        self.person = person
        self.device_id = device_id
        self.transports = list(transports)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._queues: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.sio.on("*", self._record, namespace=NAMESPACE)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        self._queues[event].put_nowait(data)

    async def connect(self) -> Recorder:
        auth: dict[str, str] = {"token": self.person.token}
        if self.device_id:
            auth["device_id"] = self.device_id
        await self.sio.connect(
            self.url, auth=auth, namespaces=[NAMESPACE], transports=self.transports, wait_timeout=10
        )
        return self

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    @property
    def sid(self) -> str:
        sid = self.sio.get_sid(NAMESPACE)
        assert isinstance(sid, str)
        return sid

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        ack = await self.sio.call(event, data, namespace=NAMESPACE, timeout=EVENT_TIMEOUT)
        assert isinstance(ack, dict)
        return ack

    async def next(self, event: str) -> Any:
        """The next not yet consumed ``event``; fails after :data:`EVENT_TIMEOUT` seconds."""
        return await asyncio.wait_for(self._queues[event].get(), EVENT_TIMEOUT)

    async def next_matching(self, event: str, **fields: Any) -> Any:
        """The next ``event`` whose payload has these field values (others are skipped)."""
        while True:
            data = await self.next(event)
            if all(data.get(k) == v for k, v in fields.items()):
                return data

    def pending(self, event: str) -> int:
        return self._queues[event].qsize()

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    async def invite(self, callee: Person, request_id: str | None = None) -> dict[str, Any]:
        ack = await self.call(
            "invite", {"callee_id": callee.id, "request_id": request_id or uuid.uuid4().hex}
        )
        assert ack["ok"], ack
        call: dict[str, Any] = ack["call"]
        return call


@dataclass
class Stack:
    """A call server (and its devsfu) as the tests see it."""

    server: CallServer
    sfu: DevSfu | None
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    @property
    def http(self) -> httpx.AsyncClient:
        """An HTTP client for this server, made in (and bound to) the running test's loop."""
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.server.url, timeout=EVENT_TIMEOUT)
        return self._http

    @property
    def url(self) -> str:
        return self.server.url

    def settings(self) -> Settings:
        env = self.server.env
        return Settings(
            database_url=env["VOIP_DATABASE_URL"],
            jwt_secret=env["VOIP_JWT_SECRET"],
        )

    async def tenant(self, *names: str, with_password: bool = False) -> dict[str, Person]:
        """A fresh tenant with these users, each holding an access token."""
        slug = f"t{uuid.uuid4().hex[:10]}"
        settings = self.settings()
        engine = make_engine(settings.db_url)
        try:
            async with make_sessionmaker(engine)() as session:
                tenant = await ensure_tenant(session, slug, slug.upper())
                specs = [
                    UserSpec(f"{n}@{slug}.test", f"{n.capitalize()} {slug}", f"idp|{slug}|{n}")
                    for n in names
                ]
                password = PASSWORD if with_password else uuid.uuid4().hex
                users = await ensure_users(session, tenant, specs, password)
                await session.commit()
        finally:
            await engine.dispose()
        return {
            name: Person(
                u.id,
                u.tenant_id,
                u.email,
                u.display_name,
                issue_token(settings, u, now=datetime.now(UTC))[0],
            )
            for name, u in zip(names, users, strict=True)
        }

    @asynccontextmanager
    async def clients(self, *people: Person | tuple[Person, str]) -> AsyncIterator[list[Recorder]]:
        """Connected recorders (``(person, device_id)`` for a named device), closed afterwards."""
        recorders = []
        try:
            for p in people:
                person, device = p if isinstance(p, tuple) else (p, None)
                recorders.append(await Recorder(self.url, person, device).connect())
            yield recorders
        finally:
            for r in recorders:
                await r.disconnect()

    async def get_call(self, person: Person, call_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/calls/{call_id}", headers=person.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


async def call_events(stack: Stack, call_id: str) -> list[tuple[str, str | None, str, str]]:
    """``(event, from_status, to_status, actor)`` of every transition of a call, in order."""
    from sqlalchemy import select

    from server.db.models import CallEvent

    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)
            )
            return [(r.event, r.from_status, r.to_status, r.actor) for r in rows]
    finally:
        await engine.dispose()


def signed_webhook(stack: Stack, body: str) -> dict[str, str]:
    """Headers LiveKit would send with ``body``: a JWT of the API key carrying its SHA-256."""
    assert stack.sfu is not None
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    token = api.AccessToken(stack.sfu.api_key, stack.sfu.api_secret).with_sha256(digest).to_jwt()
    return {"Authorization": token, "Content-Type": "application/webhook+json"}


def webhook_body(event: str, room_name: str, identity: str | None = None) -> str:
    body: dict[str, Any] = {
        "event": event,
        "room": {"name": room_name},
        "id": f"EV_{uuid.uuid4().hex[:12]}",
        "createdAt": str(int(time.time())),
    }
    if identity is not None:
        body["participant"] = {"identity": identity, "sid": f"PA_{uuid.uuid4().hex[:12]}"}
    return json.dumps(body)


async def post_webhook(stack: Stack, event: str, room_name: str, identity: str | None) -> None:
    """Deliver a correctly signed LiveKit webhook to the server, as LiveKit would."""
    body = webhook_body(event, room_name, identity)
    response = await stack.http.post(
        "/api/livekit/webhook", content=body, headers=signed_webhook(stack, body)
    )
    assert response.status_code == 200, response.text


async def grace_of(stack: Stack, call_id: str) -> tuple[Any, Any]:
    """``(caller_grace_until, callee_grace_until)`` of a call, straight from the database."""
    from sqlalchemy import select

    from server.db.models import CallRow

    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            row = (
                await session.execute(
                    select(CallRow.caller_grace_until, CallRow.callee_grace_until).where(
                        CallRow.id == call_id
                    )
                )
            ).one()
            return row[0], row[1]
    finally:
        await engine.dispose()


async def race_invites(*pairs: tuple[Recorder, Recorder]) -> tuple[Recorder, dict[str, Any]]:
    """Send every ``(caller, callee)`` invite at the same instant; exactly one may ring. Check
    that the others did not (``BUSY`` call or ``invalid_state``), that the callee of the one
    rang once, then cancel it so every line is free again; return (its caller, its call)."""
    acks = await asyncio.gather(
        *(
            caller.call("invite", {"callee_id": callee.person.id, "request_id": uuid.uuid4().hex})
            for caller, callee in pairs
        )
    )
    outcomes = [a["call"]["status"] if a["ok"] else a["error"]["code"] for a in acks]
    assert outcomes.count("RINGING") == 1, outcomes
    index = outcomes.index("RINGING")
    (caller, callee), call = pairs[index], acks[index]["call"]
    incoming = await callee.next("incoming")
    assert incoming["call"]["id"] == call["id"]
    assert (await caller.call("cancel", {"call_id": call["id"]}))["ok"]
    for r in (caller, callee):
        await r.next_matching("ended", call_id=call["id"])
    assert callee.pending("incoming") == 0
    return caller, {"winner": call, "outcomes": outcomes, "acks": acks}
