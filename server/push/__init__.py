"""Push: waking a phone whose app holds no live socket (in the background, or killed) with a
Firebase Cloud Messaging data message, so that a call rings in a pocket.

- :mod:`~server.push.capability`: the short-lived capability an ``incoming`` push carries, which
  can decline that one call for that callee and do nothing else;
- :mod:`~server.push.messages`: the FCM v1 messages (``incoming``, ``cancel``), no I/O;
- :mod:`~server.push.oauth`: the service account's OAuth token (``google-auth``);
- :mod:`~server.push.fcm`: one ``messages:send`` request and what its answer means;
- :mod:`~server.push.sender`: the outbox sender each node runs (claim, send, retry, prune).

The rows live in :mod:`server.db.push`; the call operations write them in their own
transactions (:mod:`server.calls.invite`, :mod:`server.calls.steps`) and kick the sender after
the commit. With ``VOIP_FCM_*`` unset none of this runs and nothing changes.
"""
