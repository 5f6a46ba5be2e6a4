"""Socket.IO namespace ``/call``: the edge between the wire contract and :mod:`server.calls`."""
