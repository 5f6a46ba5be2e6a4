"""The server's log configuration (:func:`server.logs.configure`): at INFO, uvicorn's two lines
per WebSocket opened or closed are not written (a refused handshake and everything else uvicorn
says are); at DEBUG they are."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from server import logs

ADDRESS, PATH = "127.0.0.1:5000", "/socket.io/?EIO=4&transport=websocket"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root, uvicorn_error = logging.getLogger(), logging.getLogger("uvicorn.error")
    saved = (root.handlers[:], root.level, uvicorn_error.filters[:])
    yield
    root.handlers[:], _, uvicorn_error.filters[:] = saved
    root.setLevel(saved[1])


def _uvicorn_says() -> None:
    """What uvicorn and the websockets library log for one socket, and a few other lines."""
    say = logging.getLogger("uvicorn.error")
    say.info("Uvicorn running on %s", "http://127.0.0.1:8000")
    say.info('%s - "WebSocket %s" [accepted]', ADDRESS, PATH)
    say.info("connection open")
    say.info('%s - "WebSocket %s" 403', ADDRESS, PATH)
    say.info("connection closed")
    say.error("Exception in ASGI application")


def _written(err: str) -> list[str]:
    return [json.loads(line)["msg"] for line in err.splitlines() if line.startswith("{")]


def test_info_leaves_out_the_lines_of_every_socket(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "json")
    _uvicorn_says()

    assert _written(capsys.readouterr().err) == [
        "Uvicorn running on http://127.0.0.1:8000",
        f'{ADDRESS} - "WebSocket {PATH}" 403',
        "Exception in ASGI application",
    ]


def test_debug_writes_them(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG", "json")
    _uvicorn_says()

    assert _written(capsys.readouterr().err) == [
        "Uvicorn running on http://127.0.0.1:8000",
        f'{ADDRESS} - "WebSocket {PATH}" [accepted]',
        "connection open",
        f'{ADDRESS} - "WebSocket {PATH}" 403',
        "connection closed",
        "Exception in ASGI application",
    ]
