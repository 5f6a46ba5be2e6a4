"""How the screens word things: durations, times, initials, a call's outcome. Pure functions."""

from __future__ import annotations

import math
from datetime import datetime

from voip_contract import Call, CallStatus, Reason


def initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def format_duration(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a call; empty when it never connected."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def elapsed_text(answered_at: datetime | None, now: datetime) -> str:
    """The in-call timer's text at ``now``."""
    if answered_at is None:
        return "0:00"
    return format_duration((now - answered_at).total_seconds())


def history_status_text(call: Call) -> str:
    """What a history row says about how the call went, from the viewer's side."""
    outgoing = call.direction == "outgoing"
    match call.status:
        case CallStatus.COMPLETED:
            return "Outgoing" if outgoing else "Incoming"
        case CallStatus.MISSED:
            if call.reason is Reason.CALLEE_OFFLINE and outgoing:
                return "Not reached (offline)"
            return "No answer" if outgoing else "Missed"
        case CallStatus.DECLINED:
            return "Declined"
        case CallStatus.CANCELED:
            return "Cancelled" if outgoing else "Missed (cancelled)"
        case CallStatus.BUSY:
            return "Busy"
        case CallStatus.FAILED:
            return "Failed"
        case _:
            return "In progress"


def format_when(moment: datetime, now: datetime) -> str:
    """``14:05`` today, ``Mon 14:05`` this week, ``12 Mar 14:05`` before (local time)."""
    local = moment.astimezone()
    today = now.astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (today - local.date()).days < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%d %b %H:%M")


METER_FLOOR_DB = -60.0
"""Below this a meter reads "silent" (a muted or missing microphone, or nobody talking)."""


def level_db(level: float) -> float:
    """An RMS level (0..1) in dBFS, floored at :data:`METER_FLOOR_DB`."""
    if level <= 0:
        return METER_FLOOR_DB
    return max(METER_FLOOR_DB, 20 * math.log10(level))


def level_text(level: float) -> str:
    """What a meter says: ``silent``, or the level in dB (``-18 dB``)."""
    db = level_db(level)
    return "silent" if db <= METER_FLOOR_DB else f"{db:.0f} dB"


def level_fraction(level: float) -> float:
    """How full a meter's bar is, 0..1 (linear in dB above the floor)."""
    return (level_db(level) - METER_FLOOR_DB) / -METER_FLOOR_DB
