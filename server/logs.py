"""Structured logs through stdlib logging: one JSON object (or ``key=value`` line) per record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class _Formatter(logging.Formatter):
    def __init__(self, style_json: bool) -> None:
        super().__init__()
        self._json = style_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        if self._json:
            return json.dumps(fields, default=str)
        return " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in fields.items())


PER_SOCKET_MESSAGES = frozenset(
    {"connection open", "connection closed", '%s - "WebSocket %s" [accepted]'}
)
"""What uvicorn (and the websockets library, on uvicorn's logger) say at INFO for every
WebSocket that opens or closes: two lines per connect, no identity in them; a tenth of the
server's CPU while thousands of sockets connect. Dropped unless the level is DEBUG, as HTTP
access lines are (a refused handshake, ``... 403``, is still logged)."""


class _NoPerSocketLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg in PER_SOCKET_MESSAGES)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (ours, uvicorn's, SQLAlchemy's) to stderr in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(style_json=fmt != "kv"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.filters[:] = []
    if root.level > logging.DEBUG:
        uvicorn_error.addFilter(_NoPerSocketLines())
