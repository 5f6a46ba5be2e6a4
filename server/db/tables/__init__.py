"""The ORM tables, one module per domain. Importing any of them imports them all, so that
``Base.metadata`` always knows every table (the foreign keys name tables of other modules)."""

from __future__ import annotations

from server.db.tables.accounts import Tenant, User
from server.db.tables.base import NAMING, Base, UTCDateTime, new_id, utcnow
from server.db.tables.calls import CallEvent, CallRow
from server.db.tables.presence import Connection, Node
from server.db.tables.push import PushDevice, PushMessage
from server.db.tables.recordings import RecordingRow
from server.db.tables.signin import AuthSession, SignInFailure
from server.db.tables.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "NAMING",
    "AuthSession",
    "Base",
    "CallEvent",
    "CallRow",
    "Connection",
    "Node",
    "PushDevice",
    "PushMessage",
    "RecordingRow",
    "SignInFailure",
    "Tenant",
    "UTCDateTime",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "new_id",
    "utcnow",
]
