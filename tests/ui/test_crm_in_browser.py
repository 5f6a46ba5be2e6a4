"""The CRM in the call, in Chromium against a real call server: the callee sees the CRM record a
call is about on the incoming screen ("Alice Anders · Deal: ACME renewal"), then notes the call
from its history row (``note.*``: an outcome of the tenant's and a text), and the row shows
both. The caller here is the CRM-embedded client the app is not:
a real Socket.IO client that sends ``invite`` with a ``context`` (the app has no CRM record to
name), running on its own thread's event loop while the browser test drives Bob's screen."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
import socketio

from tests.ui.browser import User
from tests.ui.scenarios import ALICE, BOB, PASSWORD, Stack, go, shot, signed_in
from voip_contract import NAMESPACE

DEAL = {"object_type": "deal", "object_id": "D-1042", "label": "ACME renewal"}


class ThreadedCaller:
    """Alice as a Socket.IO client on a thread of its own (the browser driver is synchronous)."""

    def __init__(self, url: str, email: str) -> None:
        self.url = url
        self.token, self.http = "", httpx.Client(base_url=url, timeout=10)
        login = self.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        self.token = login.json()["access_token"]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.sio = self._run(self._connect())

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=20)

    async def _connect(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.url,
            auth={"token": self.token},
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=10,
        )
        return client

    def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = self._run(self.sio.call(event, data, namespace=NAMESPACE, timeout=10))
        return ack

    def close(self) -> None:
        self._run(self.sio.disconnect())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self.http.close()


def user_id(stack: Stack, email: str) -> str:
    login = httpx.post(
        f"{stack.api_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    login.raise_for_status()
    return str(login.json()["user"]["id"])


@pytest.mark.ui
def test_the_callee_sees_the_crm_record_then_notes_the_call(bob: User, stack: Stack) -> None:
    signed_in(bob, BOB, stack)
    alice = ThreadedCaller(stack.api_url, ALICE)
    try:
        ack = alice.call(
            "invite",
            {"callee_id": user_id(stack, BOB), "request_id": uuid.uuid4().hex, "context": DEAL},
        )
        assert ack["ok"], ack
        call_id = ack["call"]["id"]
        bob.visible("incoming.view")
        assert bob.wait_text("incoming.context", "Deal: ACME renewal") == "Deal: ACME renewal"
        shot(bob, "incoming-context")
        bob.click("incoming.decline")
        bob.gone("incoming.view")
    finally:
        alice.close()
    go(bob, "history")
    assert bob.wait_text(f"history.row.{call_id}.about", "Deal") == "Deal: ACME renewal"
    bob.click(f"history.row.{call_id}.note")
    bob.visible("note.view")
    bob.click("note.outcome.follow_up")
    bob.type_into("note.text", "call back Monday")
    shot(bob, "note")
    bob.click("note.save")
    bob.gone("note.view")
    expected = "Deal: ACME renewal · Follow up: call back Monday"
    assert bob.wait_text(f"history.row.{call_id}.about", "Follow up") == expected
    with httpx.Client(base_url=stack.api_url, timeout=10) as http:
        token = http.post("/api/auth/login", json={"email": BOB, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        stored = http.get(f"/api/calls/{call_id}", headers=headers).json()["note"]
    assert (stored["outcome"], stored["text"]) == ("follow_up", "call back Monday")
    shot(bob, "history-note")
