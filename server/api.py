"""HTTP API (FastAPI): login, me, contacts, history, room tokens, LiveKit webhooks, rooms.

Errors leave as ``{"error": {"code", "message"}}`` (see :mod:`server.errors`); identity and
tenant always come from the bearer token, never from the request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import signin_guard
from server.auth import Identity, authenticate, issue_token, renew_token, verify_password
from server.calls import CallService, call_view, presence_of, users_by_id
from server.config import Settings
from server.db.models import CallRow, User, utcnow
from server.errors import ServiceError
from server.media import MediaRooms, MediaUnavailable, WebhookRejected
from voip_contract import Call, Contact, ErrorCode, LoginRequest, LoginResponse, Page, RoomToken
from voip_contract import User as UserOut
from voip_contract.models import ID_MAX

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the routes need, set on ``app.state.services`` by :func:`server.app.create_app`."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    calls: CallService
    media: MediaRooms


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


async def _db(services: ServicesDep) -> Any:
    async with services.sessions() as session:
        yield session


DbDep = Annotated[AsyncSession, Depends(_db)]


async def _identity(
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Identity:
    # A session of its own, closed at once: routes that call the service open theirs.
    async with services.sessions() as session:
        return await authenticate(session, services.settings, _bearer(authorization))


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Authorization: Bearer <token> needed")
    return token.strip()


IdentityDep = Annotated[Identity, Depends(_identity)]


def _error(code: ErrorCode, message: str, status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code.value, "message": message}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    async def service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return _error(exc.code, exc.message, exc.http_status)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        return _error(ErrorCode.INVALID_PAYLOAD, f"{where}: {first.get('msg')}", 422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: ErrorCode.NOT_FOUND, 401: ErrorCode.UNAUTHORIZED}.get(
            exc.status_code, ErrorCode.INVALID_PAYLOAD
        )
        return _error(code, str(exc.detail), exc.status_code)

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed", exc_info=exc)
        return _error(ErrorCode.UNAVAILABLE, "internal error", 500)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


# --- cursors ----------------------------------------------------------------------------------


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor") from exc
    if not (
        isinstance(parts, list) and len(parts) == size and all(isinstance(p, str) for p in parts)
    ):
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor")
    return parts


# --- routes -----------------------------------------------------------------------------------

router = APIRouter(prefix="/api")


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, tenant_id=user.tenant_id, email=user.email, display_name=user.display_name
    )


@router.post("/auth/login", response_model=LoginResponse)
async def login(
    body: LoginRequest, request: Request, services: ServicesDep, session: DbDep
) -> LoginResponse:
    """Sign in with a password; guessing is slowed down by :mod:`server.signin_guard`."""
    email = body.email.lower()
    address = (request.client.host if request.client else "")[:64] or "unknown"
    await signin_guard.check(session, services.settings, email, address)
    user = await session.scalar(select(User).where(User.email == email))
    # argon2 takes tens of milliseconds of CPU and releases the GIL: not on the event loop.
    known = user.password_hash if user else None
    if not await asyncio.to_thread(verify_password, known, body.password) or user is None:
        await signin_guard.failed(session, email, address)
        await session.commit()
        raise ServiceError(ErrorCode.UNAUTHORIZED, "wrong email or password")
    await signin_guard.succeeded(session, email, address)
    await session.commit()
    token, ttl = issue_token(services.settings, user)
    return LoginResponse(access_token=token, expires_in=ttl, user=_user_out(user))


@router.post("/auth/refresh", response_model=LoginResponse)
async def refresh(
    services: ServicesDep,
    session: DbDep,
    authorization: Annotated[str | None, Header()] = None,
) -> LoginResponse:
    """A fresh access token for a valid one, so a signed-in device stays reachable past one
    token's lifetime (within ``VOIP_SESSION_MAX_S`` of the password sign-in)."""
    user, token, ttl = await renew_token(session, services.settings, _bearer(authorization))
    return LoginResponse(access_token=token, expires_in=ttl, user=_user_out(user))


@router.get("/me", response_model=UserOut)
async def me(ident: IdentityDep, session: DbDep) -> UserOut:
    user = await session.get(User, ident.user_id)
    if user is None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "unknown user")
    return _user_out(user)


Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("/contacts", response_model=Page[Contact])
async def contacts(
    ident: IdentityDep,
    services: ServicesDep,
    session: DbDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Contact]:
    query = select(User).where(User.tenant_id == ident.tenant_id, User.id != ident.user_id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(User.display_name).like(like), func.lower(User.email).like(like))
        )
    if cursor:
        name, uid = decode_cursor(cursor, 2)
        query = query.where(
            or_(User.display_name > name, and_(User.display_name == name, User.id > uid))
        )
    rows = list(await session.scalars(query.order_by(User.display_name, User.id).limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    live_since = utcnow() - _ttl(services)
    states = await presence_of(session, [u.id for u in page], live_since=live_since)
    items = [
        Contact(id=u.id, display_name=u.display_name, email=u.email, presence=states[u.id])
        for u in page
    ]
    next_cursor = encode_cursor(page[-1].display_name, page[-1].id) if more else None
    return Page[Contact](items=items, next_cursor=next_cursor)


def _ttl(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.presence_ttl_s)


@router.get("/calls", response_model=Page[Call])
async def history(
    ident: IdentityDep, session: DbDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[Call]:
    mine = or_(CallRow.caller_id == ident.user_id, CallRow.callee_id == ident.user_id)
    query = select(CallRow).where(mine)
    if cursor:
        at, cid = decode_cursor(cursor, 2)
        try:
            when = datetime.fromisoformat(at)
        except ValueError as exc:
            raise ServiceError(ErrorCode.INVALID_PAYLOAD, "bad cursor") from exc
        query = query.where(
            or_(CallRow.created_at < when, and_(CallRow.created_at == when, CallRow.id < cid))
        )
    query = query.order_by(CallRow.created_at.desc(), CallRow.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    users = await users_by_id(session, {u for r in page for u in (r.caller_id, r.callee_id)})
    items = [call_view(r, users, ident.user_id) for r in page]
    last = page[-1] if page else None
    next_cursor = encode_cursor(last.created_at.isoformat(), last.id) if more and last else None
    return Page[Call](items=items, next_cursor=next_cursor)


@router.get("/calls/{call_id}", response_model=Call)
async def one_call(call_id: str, ident: IdentityDep, session: DbDep) -> Call:
    row = await session.get(CallRow, call_id[:ID_MAX])
    if row is None or ident.user_id not in (row.caller_id, row.callee_id):
        raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
    users = await users_by_id(session, (row.caller_id, row.callee_id))
    return call_view(row, users, ident.user_id)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str | None = Field(default=None, min_length=1, max_length=ID_MAX)


@router.post("/calls/{call_id}/token", response_model=RoomToken)
async def room_token(
    call_id: str,
    ident: IdentityDep,
    services: ServicesDep,
    body: TokenRequest | None = None,
) -> RoomToken:
    device = body.device_id if body else None
    return await services.calls.room_token(ident, call_id[:ID_MAX], device)


@router.post("/livekit/webhook", status_code=200)
async def livekit_webhook(request: Request, services: ServicesDep) -> dict[str, bool]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ServiceError(ErrorCode.INVALID_PAYLOAD, "body too large")
    try:
        notice = services.media.verify_webhook(
            raw.decode("utf-8", "replace"), request.headers.get("authorization")
        )
    except WebhookRejected as exc:
        raise ServiceError(ErrorCode.UNAUTHORIZED, f"webhook refused: {exc}") from exc
    await services.calls.on_webhook(notice)
    return {"ok": True}


class RoomOut(BaseModel):
    name: str
    sid: str
    num_participants: int


class ParticipantOut(BaseModel):
    identity: str
    name: str


async def _tenant_prefix(services: Services, ident: Identity) -> str:
    return f"{await services.calls.tenant_slug(ident.tenant_id)}_"


@router.get("/rooms/active", response_model=list[RoomOut])
async def active_rooms(ident: IdentityDep, services: ServicesDep) -> list[RoomOut]:
    prefix = await _tenant_prefix(services, ident)
    try:
        rooms = await services.media.list_rooms(prefix)
    except MediaUnavailable as exc:
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
    return [RoomOut(name=r.name, sid=r.sid, num_participants=r.num_participants) for r in rooms]


@router.get("/rooms/{room_name}/participants", response_model=list[ParticipantOut])
async def room_participants(
    room_name: str, ident: IdentityDep, services: ServicesDep
) -> list[ParticipantOut]:
    prefix = await _tenant_prefix(services, ident)
    if not room_name.startswith(prefix) or len(room_name) > 128:
        raise ServiceError(ErrorCode.NOT_FOUND, "no such room")
    try:
        people = await services.media.list_participants(room_name)
    except MediaUnavailable as exc:
        raise ServiceError(ErrorCode.UNAVAILABLE, "media server unavailable") from exc
    return [ParticipantOut(identity=p.identity, name=p.name) for p in people]


health = APIRouter()


@health.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    try:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return _error(ErrorCode.UNAVAILABLE, f"database unreachable: {type(exc).__name__}", 503)
    return JSONResponse({"status": "ready"})
