"""The app's own log file (``var/app.log``): one line per call event, error and device change.

:func:`install` adds one file handler to the root logger, once per process: the app's loggers
(``voip_app.*``) at INFO (engine events as ``event <name> {fields}``, sound devices coming and
going), everything else from WARNING. Every line goes through :func:`redact` first, so no access
token, room token or password reaches the file, whoever logged it, tracebacks included; a
traceback is folded onto its record's line (`` | ``), so a line is a record.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import time
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("var") / "app.log"
MAX_BYTES = 2_000_000
BACKUPS = 2
REDACTED = "[redacted]"

_PATTERNS = [
    # JSON Web Tokens (access tokens, LiveKit room tokens): three base64url parts, "eyJ" first
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    # "Bearer <anything>" in headers
    re.compile(r"(?i)(bearer\s+)[^\s'\",}]+"),
    # token=..., access_token: '...', "password": "..." and friends, in URLs, dicts and JSON
    re.compile(
        r"(?i)((?:access_|refresh_|room_|push_|id_)?(?:token|password|secret|capability)"
        r"['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"
    ),
]

_installed: logging.Handler | None = None


def redact(text: str) -> str:
    """``text`` with every token, password or secret it shows replaced by ``[redacted]``."""
    text = _PATTERNS[0].sub(REDACTED, text)
    for pattern in _PATTERNS[1:]:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFormatter(logging.Formatter):
    """UTC timestamps, one line per record, secrets redacted."""

    converter = staticmethod(time.gmtime)

    def __init__(self) -> None:
        super().__init__("%(asctime)sZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return redact(" | ".join(part for part in line.splitlines() if part.strip()))


def _ours_or_trouble(record: logging.LogRecord) -> bool:
    """The app's own lines from INFO; a library's (HTTP requests, Flet) only from WARNING."""
    return record.levelno >= logging.WARNING or record.name.startswith("voip_app")


def install(path: Path | None = None) -> logging.Handler:
    """Log to ``path`` (``VOIP_APP_LOG``, default ``var/app.log`` in the working directory);
    a second call returns the handler of the first."""
    global _installed
    if _installed is not None:
        return _installed
    target = path or Path(os.environ.get("VOIP_APP_LOG") or DEFAULT_PATH)
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setLevel(logging.INFO)
    handler.setFormatter(RedactingFormatter())
    handler.addFilter(_ours_or_trouble)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("voip_app").setLevel(logging.INFO)
    _installed = handler
    return handler


_events = logging.getLogger("voip_app.events")


def log_event(event: Any) -> None:
    """An engine event as one line (an engine event listener)."""
    _events.info("event %s %s", event.name, event.data)
