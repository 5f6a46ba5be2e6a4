"""The call on this device: its state machine (:mod:`.machine`), what ``sync`` means for it
(:mod:`.reconcile`) and the one value the engine and the UI share (:mod:`.model`). No I/O."""

from __future__ import annotations

from voip_app.call.machine import (
    ENDING,
    LEAVING,
    TRANSITIONS,
    CallProgress,
    Effect,
    IllegalTrigger,
    Outcome,
    Phase,
    Step,
    Trigger,
    allows,
    next_step,
    placing,
)
from voip_app.call.model import ActiveCall
from voip_app.call.reconcile import SyncEvent, reconcile, report

__all__ = [
    "ENDING",
    "LEAVING",
    "TRANSITIONS",
    "ActiveCall",
    "CallProgress",
    "Effect",
    "IllegalTrigger",
    "Outcome",
    "Phase",
    "Step",
    "SyncEvent",
    "Trigger",
    "allows",
    "next_step",
    "placing",
    "reconcile",
    "report",
]
