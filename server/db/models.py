"""Tables of the call server. Alembic migrations in :mod:`server.migrations` create them.

Nothing about a call lives only in process memory: the call row holds its status, its ring
deadline, the sockets and devices involved, its room and the rejoin deadline of a party whose
media dropped; ``call_events`` records every transition; ``connections`` holds every connected
socket of every node and ``nodes`` which nodes are alive (presence); ``sign_in_failures`` counts
recent wrong passwords; ``push_devices`` holds each device's push token and ``push_outbox`` every
push to send (or sent) for a call.

The tables are defined by domain in :mod:`server.db.tables` (accounts, calls, presence, signin,
push, webhooks, recordings); this module is where the rest of the code imports them from.
"""

from __future__ import annotations

# The tables package names what it exports once, in its ``__all__``; this module re-exports
# exactly that list, so the two cannot drift apart.
from server.db.tables import *  # noqa: F403
from server.db.tables import __all__ as __all__
