"""Whose presence some socket watches, on this node or on any: a presence change is worked out
and sent only when someone can hear it.

On one node the node's own sockets are all there is. Across nodes (Redis) each node also keeps,
in a hash of its own (``voip-call:watched:<node>``), how many of its sockets watch each user,
and lists itself, until its hash's time to live, in ``voip-call:watch-nodes``; a change on any
node reads the hashes of the nodes listed. That keeps a second node from paying for every
presence change of every user (a query and a message through Redis) when nobody watches.

Why a change is not lost: ``presence_watch`` counts the watch (written to Redis and
acknowledged; if the write fails the watch fails) *before* it reads the snapshot it acks, and
a change is committed before its hearers are read. So either the hearers are read after the
count is written and the watcher gets the event, or before, and then so was the commit, and
the snapshot read after the count has it.

Each node writes its hash alone, one write after another (a lock), from the counts it keeps
itself. Every write's replies are checked against those counts, and a difference (Redis lost
the hash: a restart, a flush, an eviction) rewrites the whole hash at once; so does every
``refresh`` (each heartbeat), which also renews the time to live (the node liveness TTL: a
dead node's watches go with its sockets). A hash always holds the field ``*``, so a node listed
without its hash is one whose counts Redis lost: every user counts as watched there until the
node writes again, as when Redis cannot be read at all (more work, never a lost event). What
Redis loses before a node notices (its list of nodes with the rest) is as lost as the
Socket.IO messages Redis carries at that moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from server.errors import ServiceError
from server.sio.redis_wire import FAILURES, Client
from server.sio.resp import Arg
from voip_contract import ErrorCode

log = logging.getLogger(__name__)

Command = tuple[Arg, ...]

PREFIX = "voip-call"
MARK = "*"
"""The field every node's hash holds: a listed node's hash without it was lost."""


class Watches:
    """The watch sets of this node's sockets; which users some socket watches (this node only:
    the single-node server)."""

    def __init__(self) -> None:
        self._by_sid: dict[str, frozenset[str]] = {}
        self._counts: Counter[str] = Counter()
        self._lock = asyncio.Lock()
        """One change at a time: the sets, the counts and (with Redis) their write agree."""
        self._dirty = False
        """A write failed: the next one rewrites everything."""

    async def replace(self, sid: str, user_ids: Iterable[str]) -> None:
        """Socket ``sid`` now watches exactly ``user_ids``. Raises :class:`ServiceError`
        (``unavailable``) when a new watch could not be counted where other nodes read it."""
        async with self._lock:
            old, new = self._by_sid.get(sid, frozenset()), frozenset(user_ids)
            if new:
                self._by_sid[sid] = new
            else:
                self._by_sid.pop(sid, None)
            if new != old or self._dirty:  # (a watch that failed is written when retried)
                self._count(added=new - old, removed=old - new)
                await self._write(added=new - old, removed=old - new)

    async def forget(self, sid: str) -> None:
        """Socket ``sid`` is gone: it watches nobody. (It only takes counts away, so it never
        fails: a write lost here over-counts until the next one.)"""
        await self.replace(sid, ())

    async def watched_among(self, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` that some socket watches, in order."""
        return [uid for uid in user_ids if self._counts[uid] > 0]

    async def refresh(self) -> None:
        """Periodic upkeep (none on one node)."""

    async def aclose(self) -> None:
        """Let go of what it holds (nothing on one node)."""

    async def _write(self, *, added: frozenset[str], removed: frozenset[str]) -> None:
        """Make the change known beyond this node (nothing to do on one node)."""

    def _count(self, *, added: frozenset[str], removed: frozenset[str]) -> None:
        self._counts.update(added)
        self._counts.subtract(removed)
        for uid in removed:
            if self._counts[uid] <= 0:
                del self._counts[uid]


class RedisWatches(Watches):
    """:class:`Watches` across nodes: this node's counts in its own Redis hash, the hashes of
    every listed node read for a change. ``now`` gives the wall-clock time in seconds (nodes'
    clocks agree to well within ``ttl_s``)."""

    NODES = f"{PREFIX}:watch-nodes"
    """Sorted set: each node, scored with the time its hash expires."""

    def __init__(
        self, client: Client, node: str, *, ttl_s: float, now: Callable[[], float]
    ) -> None:
        super().__init__()
        self._redis = client
        self._node = node
        self._ttl_s = ttl_s
        self._now = now

    @staticmethod
    def key(node: str) -> str:
        """The hash of ``node``'s counts."""
        return f"{PREFIX}:watched:{node}"

    async def _write(self, *, added: frozenset[str], removed: frozenset[str]) -> None:
        mine = self.key(self._node)
        changed = sorted(added | removed)
        writes: list[Command] = [("HEXISTS", mine, MARK)]
        writes += [("HINCRBY", mine, uid, 1 if uid in added else -1) for uid in changed]
        try:
            if self._dirty:
                await self._rewrite()
            else:
                kept, *counts = await self._execute(writes)
                wrong = (int(n) != self._counts[u] for u, n in zip(changed, counts, strict=False))
                if not kept or any(wrong):
                    await self._rewrite()  # Redis lost the hash: this node's counts, at once
            self._dirty = False
        except FAILURES as exc:
            self._dirty = True
            log.warning("presence watches not written to Redis", exc_info=True)
            if added:
                raise ServiceError(ErrorCode.UNAVAILABLE, "presence unavailable; retry") from exc

    async def refresh(self) -> None:
        """Rewrite this node's hash from its counts, renew its time to live, and drop the
        nodes whose hashes expired from the list."""
        async with self._lock:
            try:
                await self._rewrite()
                self._dirty = False
            except FAILURES:
                log.warning("presence watches not refreshed in Redis", exc_info=True)

    async def _rewrite(self) -> None:
        mine = self.key(self._node)
        fields: list[Arg] = [MARK, 1]
        for uid, n in self._counts.items():
            fields += [uid, n]
        rewrite: list[Command] = [("DEL", mine), ("HSET", mine, *fields)]
        rewrite.append(("ZREMRANGEBYSCORE", self.NODES, "-inf", self._now()))
        await self._execute(rewrite, transaction=True)

    async def _execute(self, commands: list[Command], *, transaction: bool = False) -> list[Any]:
        """Run ``commands`` with this node's time to live renewed and its listing, its own
        replies first."""
        renew: list[Command] = [
            ("EXPIRE", self.key(self._node), max(1, int(self._ttl_s))),
            ("ZADD", self.NODES, self._now() + self._ttl_s, self._node),
        ]
        return await self._redis.pipeline([*commands, *renew], transaction=transaction)

    async def watched_among(self, user_ids: Sequence[str]) -> list[str]:
        if not user_ids:
            return []
        try:
            nodes = await self._redis.call("ZRANGEBYSCORE", self.NODES, self._now(), "+inf")
            reads = [("HMGET", self.key(_text(node)), MARK, *user_ids) for node in nodes]
            rows = await self._redis.pipeline(reads) if reads else []
        except FAILURES:
            log.warning("presence watches unreadable: every user counts as watched", exc_info=True)
            return list(user_ids)
        if any(row[0] is None for row in rows):  # a listed node's counts lost
            return list(user_ids)
        seen = {u for row in rows for u, n in zip(user_ids, row[1:], strict=True) if int(n or 0)}
        return [uid for uid in user_ids if uid in seen]

    async def aclose(self) -> None:
        self._redis.close()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
