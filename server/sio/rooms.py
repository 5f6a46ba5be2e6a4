"""python-socketio's room bookkeeping without its walks: each socket's rooms indexed by socket,
and the sockets in the middle of connecting or disconnecting kept in sets.

python-socketio keeps ``rooms[namespace][room]`` (a bidict, sid to Engine.IO sid) and nothing by
socket. So a disconnect copies the namespace's whole ``rooms`` dict and looks for the socket
in every room (``basic_disconnect``), and ``get_rooms`` (a presence watch's change) walks them
the same way. Every socket has a room of its own and one of its user, so with 5,000 sockets that
is over 10,000 rooms per disconnect, about 1 ms. When 5,000 sockets went at once (a load
balancer restarted, a network gone, the benchmark's end) the loop was held for 3-5 s, 89 % of
py-spy's samples in that walk (issue 16). And the sockets whose connect or disconnect handler
is still running are lists, where every ``in`` and ``remove`` is a scan; in a storm they are
thousands long, and :meth:`is_connected` scans them for every event.

:class:`IndexedRooms` keeps, beside the library's rooms, the rooms of each socket (updated
where the library enters and leaves a room, so every path, Redis's included, goes through
it), and leaves only those on a disconnect. The pending sockets are :class:`SidSet` s: the
library's own code appends, removes and looks up in them as in lists. What the manager holds and
answers is the library's; ``tests/unit/test_room_index.py`` checks it against the library's own
manager, operation by operation.
"""

from __future__ import annotations

from typing import Any

import socketio


class SidSet(dict[str, None]):
    """The sockets pending in one namespace, with a list's ``append`` and ``remove`` (which
    python-socketio calls) at the cost of a dict's."""

    def append(self, sid: str) -> None:
        self[sid] = None

    def remove(self, sid: str) -> None:
        del self[sid]


class PendingSids(dict[str, SidSet]):
    """Pending sockets by namespace: the empty list python-socketio stores for a namespace
    becomes a :class:`SidSet`."""

    def __setitem__(self, namespace: str, sids: Any) -> None:
        if not isinstance(sids, SidSet):
            sids = SidSet((sid, None) for sid in sids)
        super().__setitem__(namespace, sids)


class IndexedRooms(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's asyncio manager whose disconnect leaves only the socket's own rooms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_connect = PendingSids()
        self.pending_disconnect = PendingSids()
        self._rooms_of: dict[tuple[str, str], dict[Any, None]] = {}
        """The rooms of each socket (``None``: the namespace's), by (namespace, sid), in the
        order it entered them."""

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # (may raise: not in)
        self._rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        held = self._rooms_of.get((namespace, sid))
        if held is not None:
            held.pop(room, None)
            if not held:
                del self._rooms_of[(namespace, sid)]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms ``sid`` is in (the namespace's own aside)."""
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """The library's disconnect, leaving the socket's rooms from the index."""
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]
