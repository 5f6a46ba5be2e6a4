"""Fairness per socket: a token bucket of events for each socket of this node.

A socket may send ``VOIP_SOCKET_EVENT_BURST`` events at once and ``VOIP_SOCKET_EVENTS_PER_S``
on average; an event beyond that is answered ``rate_limited`` before any work is done. A socket
that keeps sending past its budget (``VOIP_SOCKET_FLOOD_LIMIT`` refused events with no allowed
one between) is disconnected. Judged on the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    REFUSE = "refuse"
    DISCONNECT = "disconnect"


@dataclass
class _Bucket:
    tokens: float
    at: datetime
    refused: int = 0


class EventBudget:
    """The buckets of this node's sockets (forgotten at disconnect)."""

    def __init__(self, rate_per_s: float, burst: int, flood_limit: int) -> None:
        self._rate = rate_per_s
        self._burst = float(burst)
        self._flood = flood_limit
        self._buckets: dict[str, _Bucket] = {}

    def spend(self, sid: str, now: datetime) -> Verdict:
        """Take one event of ``sid``'s budget at ``now``."""
        bucket = self._buckets.get(sid)
        if bucket is None:
            bucket = self._buckets[sid] = _Bucket(self._burst, now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refused = 0
            return Verdict.ALLOW
        bucket.refused += 1
        return Verdict.DISCONNECT if bucket.refused >= self._flood else Verdict.REFUSE

    def forget(self, sid: str) -> None:
        self._buckets.pop(sid, None)
