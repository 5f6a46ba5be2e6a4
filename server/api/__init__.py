"""HTTP API (FastAPI): one router module per resource, the dependencies they share, and the
translation of errors into the contract's ``{"error": {"code", "message"}}``.

Identity and tenant always come from the bearer token, never from the request. Routes hold no
SQL: they call :mod:`server.calls` and the data functions of :mod:`server.db`.
"""

from __future__ import annotations

from fastapi import FastAPI

from server.api import (
    admin,
    admin_calls,
    admin_webhooks,
    calls,
    health,
    livekit,
    notes,
    push,
    recordings,
    signin,
    users,
)
from server.api.errors import install_error_handlers
from server.calls.deps import CallDeps


def install(app: FastAPI, deps: CallDeps) -> None:
    """Mount every route on ``app``, serving with ``deps``."""
    app.state.calls = deps
    install_error_handlers(app)
    routers = (
        signin,
        users,
        calls,
        notes,
        livekit,
        push,
        recordings,
        admin,
        admin_calls,
        admin_webhooks,
    )
    for module in routers:
        app.include_router(module.router, prefix="/api")
    app.include_router(health.router)
