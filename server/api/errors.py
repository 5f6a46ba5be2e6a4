"""Errors leave the HTTP API as ``{"error": {"code", "message"}}`` with a fitting status
(:mod:`server.errors`); nothing else does."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.bodylimit import BodyTooLarge
from server.errors import ServiceError
from voip_contract import ErrorCode

log = logging.getLogger(__name__)


def error_response(code: ErrorCode, message: str, status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code.value, "message": message}}, status_code=status, headers=headers
    )


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.code, exc.message, exc.http_status)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "request"
    return error_response(ErrorCode.INVALID_PAYLOAD, f"{where}: {first.get('msg')}", 422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: ErrorCode.NOT_FOUND, 401: ErrorCode.UNAUTHORIZED}.get(
        exc.status_code, ErrorCode.INVALID_PAYLOAD
    )
    return error_response(code, str(exc.detail), exc.status_code)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, BodyTooLarge):  # answered 413 by server.bodylimit; nothing went wrong
        return error_response(ErrorCode.INVALID_PAYLOAD, "request body too large", 413)
    log.exception("request failed", exc_info=exc)
    return error_response(ErrorCode.UNAVAILABLE, "internal error", 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
