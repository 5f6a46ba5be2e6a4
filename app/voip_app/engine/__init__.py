"""The call engine: API client + signaling + media + the call's state machine, for the UI to bind
to. :class:`CallEngine` (:mod:`.facade`) is the whole public surface; the other modules are its
parts (see :mod:`.facade`'s docstring), each testable alone.
"""

from __future__ import annotations

from voip_app.call.model import ActiveCall
from voip_app.clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
from voip_app.engine.events import EngineEvent, EngineEventName
from voip_app.engine.facade import CallEngine
from voip_app.engine.media_factory import MediaFactory, MediaPrefs, default_media_factory
from voip_app.engine.session import SESSION_EXPIRED
from voip_app.engine.snapshot import ConnectionState, EngineSnapshot

__all__ = [
    "SESSION_EXPIRED",
    "SYSTEM_CLOCK",
    "ActiveCall",
    "CallEngine",
    "Clock",
    "ConnectionState",
    "EngineEvent",
    "EngineEventName",
    "EngineSnapshot",
    "FakeClock",
    "MediaFactory",
    "MediaPrefs",
    "SystemClock",
    "default_media_factory",
]
