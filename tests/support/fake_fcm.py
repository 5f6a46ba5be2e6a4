"""A real HTTP fake of Firebase Cloud Messaging HTTP v1 and of Google's OAuth token endpoint, on
loopback, for the push tests.

It runs an aiohttp server on its own thread and event loop, so one fake serves server processes
and test event loops alike. It speaks what the server speaks to Google:

- ``POST /token``: the JWT-bearer grant (RFC 7523). The assertion must be an RS256 JWT signed by
  the service account's key (checked with its public key), issued by its ``client_email``, for
  this ``token_uri``, with FCM's scope; the answer is an access token good for an hour.
- ``POST /v1/projects/{project}/messages:send``: needs ``Authorization: Bearer`` with a token it
  issued (else 401 ``UNAUTHENTICATED``); answers 200 ``{"name": ...}``, 404 ``UNREGISTERED`` for
  a token marked :meth:`FakeFcm.forget_token`, or what :meth:`FakeFcm.answer_next` scripted.

Every message it took or refused is kept (:attr:`FakeFcm.received`) with the monotonic time it
arrived. The service account's private key is generated at run time (``cryptography``): no key
is ever committed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.servers import HOST, free_port

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_AUDIENCE = "https://oauth2.googleapis.com/token"
"""What a service account's assertion names as its audience, wherever its ``token_uri`` is."""


@dataclass(frozen=True)
class Received:
    """One ``messages:send`` request."""

    at: float
    """``time.monotonic()`` when it arrived."""
    status: int
    """What the fake answered."""
    message: dict[str, Any]
    authorization: str

    @property
    def token(self) -> str:
        return str(self.message.get("token", ""))

    @property
    def data(self) -> dict[str, str]:
        return dict(self.message.get("data", {}))

    @property
    def android(self) -> dict[str, Any]:
        return dict(self.message.get("android", {}))


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def fcm_error(status: int, code: str, message: str) -> dict[str, Any]:
    """FCM v1's error body."""
    detail = {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
    names |= {500: "INTERNAL", 503: "UNAVAILABLE"}
    status_name = names.get(status, code)
    return {
        "error": {"code": status, "message": message, "status": status_name, "details": [detail]}
    }


class FakeFcm:
    """FCM v1 + OAuth token endpoint for one project. :meth:`start` it; :meth:`stop` at the end."""

    def __init__(self, project_id: str = "voip-push-test") -> None:
        self.project_id = project_id
        self.port = free_port()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_email = f"push@{project_id}.iam.gserviceaccount.com"
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._scripted: deque[Answer] = deque()
        self._gone: set[str] = set()
        self._issued: set[str] = set()
        self._serial = itertools.count(1)
        self.token_requests = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # --- set-up ---------------------------------------------------------------------------

    @classmethod
    def start(cls, project_id: str = "voip-push-test") -> FakeFcm:
        fake = cls(project_id)
        fake._thread.start()
        asyncio.run_coroutine_threadsafe(fake._serve(), fake._loop).result(timeout=10)
        return fake

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def write_service_account(self, path: Path) -> Path:
        """A service-account JSON of the shape Google's console hands out (key made here)."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "1234567890",
            "auth_uri": f"{self.url}/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": f"{self.url}/certs",
            "client_x509_cert_url": f"{self.url}/certs/push",
            "universe_domain": "googleapis.com",
        }
        path.write_text(json.dumps(info))
        path.chmod(0o600)
        return path

    def env(self, credentials: Path, *, endpoint: str | None = None) -> dict[str, str]:
        """The server's ``VOIP_FCM_*`` for this fake (``endpoint``: another FCM URL)."""
        return {
            "VOIP_FCM_PROJECT_ID": self.project_id,
            "VOIP_FCM_CREDENTIALS_FILE": str(credentials),
            "VOIP_FCM_ENDPOINT": endpoint or self.url,
        }

    # --- what it answers ------------------------------------------------------------------

    def answer_next(self, *answers: Answer) -> None:
        """The next ``messages:send`` requests get these answers, in order."""
        with self._lock:
            self._scripted.extend(answers)

    def forget_token(self, token: str) -> None:
        """FCM no longer knows ``token`` (the app was uninstalled): 404 ``UNREGISTERED``."""
        with self._lock:
            self._gone.add(token)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") != JWT_GRANT:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self._key.public_key(),
                algorithms=["RS256"],
                audience=ASSERTION_AUDIENCE,
                issuer=self.client_email,
            )
        except jwt.PyJWTError as exc:
            return web.json_response({"error": "invalid_grant", "detail": str(exc)}, status=400)
        if FCM_SCOPE not in str(claims.get("scope", "")).split():
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = f"ya29.fake-{next(self._serial)}"
        with self._lock:
            self._issued.add(token)
        return web.json_response(
            {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        )

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        authorization = request.headers.get("Authorization", "")
        message = dict(body.get("message", {}))
        answer = self._answer(request.match_info["project"], authorization, message)
        with self._lock:
            self._received.append(Received(time.monotonic(), answer.status, message, authorization))
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    def _answer(self, project: str, authorization: str, message: dict[str, Any]) -> Answer:
        with self._lock:
            if project != self.project_id:
                return Answer(404, fcm_error(404, "NOT_FOUND", "no such project"))
            if authorization.removeprefix("Bearer ") not in self._issued:
                return Answer(401, fcm_error(401, "UNAUTHENTICATED", "bad OAuth token"))
            if self._scripted:
                return self._scripted.popleft()
            if message.get("token") in self._gone:
                return Answer(
                    404, fcm_error(404, "UNREGISTERED", "Requested entity was not found.")
                )
        name = f"projects/{self.project_id}/messages/{next(self._serial)}"
        return Answer(200, {"name": name})

    # --- what it got ----------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def delivered(self, call_id: str, kind: str | None = None) -> list[Received]:
        """The messages about ``call_id`` (of ``kind``) it answered 200."""
        return [
            r
            for r in self.received
            if r.status == 200
            and r.data.get("call_id") == call_id
            and (kind is None or r.data.get("type") == kind)
        ]

    async def until(
        self, call_id: str, kind: str, count: int, within_s: float = 10.0
    ) -> list[Received]:
        """Wait (polling) until ``count`` ``kind`` messages about ``call_id`` were delivered."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            found = self.delivered(call_id, kind)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"{count} {kind} for {call_id} not delivered: {self.received}")
