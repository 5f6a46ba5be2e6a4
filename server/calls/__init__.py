"""The call server's decisions about calls, made against the database only.

Every operation is a function that takes the process's :class:`~server.calls.deps.CallDeps`
first; nothing about a call lives in process memory. The status table they all go by is
:mod:`server.callstate`.

- :mod:`~server.calls.invite`: ``invite`` (a call rings, or ends at once);
- :mod:`~server.calls.answer`: ``accept`` (the first answer wins; room and tokens) and the
  rejoin token;
- :mod:`~server.calls.settle`: the one way a call ends (a party, a sweep, a webhook, media);
- :mod:`~server.calls.sweeps`: ring timeout, rejoin grace, vanished rooms, judged at ``now``;
- :mod:`~server.calls.webhooks`: LiveKit's ``room_finished`` and a party's media leaving or
  coming back;
- :mod:`~server.calls.connections`: sockets connecting and leaving, the node's heartbeat;
- :mod:`~server.calls.presence`: who hears a presence change, what a watch may see;
- :mod:`~server.calls.announce`: the :class:`~server.calls.announce.Notifier` (users,
  tenants, watchers, sockets) and the events of a call's life;
- :mod:`~server.calls.views`: a call as one party sees it;
- :mod:`~server.calls.steps`: a step of the table written as one conditional UPDATE;
- :mod:`~server.calls.deps`: what they all work with.
"""
