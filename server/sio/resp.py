"""RESP2, the protocol Redis speaks: commands written, replies read (:mod:`server.sio.redis_wire`
sends and receives them), and the addresses of Redis URLs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class RedisReplyError(Exception):
    """Redis answered a command with an error (``-ERR ...``)."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where a Redis server is, and how to sign in to it."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    path: str | None = None
    """A Unix socket's path (then no host or port)."""
    db: int = 0


def address(url: str) -> Address | None:
    """The address of a ``redis://``, ``rediss://`` or ``unix://`` URL; ``None`` for any other
    (Sentinel's)."""
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    secret = unquote(parts.password) if parts.password else None
    if parts.scheme == "unix" and parts.path:
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return Address("", 0, username=user, password=secret, path=parts.path, db=int(db))
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return None
    db = parts.path.strip("/") or "0"
    tls = parts.scheme == "rediss"
    return Address(parts.hostname, parts.port or 6379, tls, user, secret, db=int(db))


Arg = bytes | str | int | float


def _bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    return b"%d" % arg if isinstance(arg, int) else repr(arg).encode()


def command(*args: Arg) -> bytes:
    """A command as RESP2 sends it: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in map(_bytes, args):
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


INCOMPLETE = object()


def parse(buf: bytearray | bytes, pos: int) -> tuple[Any, int]:
    """One RESP2 value at ``pos`` and the position after it; ``(INCOMPLETE, pos)`` when the
    buffer does not hold all of it yet. An error reply is a :class:`RedisReplyError` value."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return INCOMPLETE, pos
    kind, line = buf[pos : pos + 1], bytes(buf[pos + 1 : end])
    after = end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            return INCOMPLETE, pos
        return bytes(buf[after : after + size]), after + size + 2
    if kind == b"*":
        items: list[Any] = []
        for _ in range(max(int(line), 0)):
            item, after = parse(buf, after)
            if item is INCOMPLETE:
                return INCOMPLETE, pos
            items.append(item)
        return items, after
    if kind == b":":
        return int(line), after
    if kind == b"+":
        return line.decode(), after
    if kind == b"-":
        return RedisReplyError(line.decode(errors="replace")), after
    raise ValueError(f"not RESP2: {bytes(buf[pos : pos + 16])!r}")
