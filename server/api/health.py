"""``/healthz`` (the process is up) and ``/readyz`` (the database answers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from server.api.deps import CallsDep
from server.api.errors import error_response
from server.db.engine import ping
from voip_contract import ErrorCode

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(deps: CallsDep) -> JSONResponse:
    try:
        await ping(deps.sessions)
    except Exception as exc:
        message = f"database unreachable: {type(exc).__name__}"
        return error_response(ErrorCode.UNAVAILABLE, message, 503)
    return JSONResponse({"status": "ready"})
