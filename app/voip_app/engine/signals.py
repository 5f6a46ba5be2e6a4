"""Where each event of the signaling link goes (:class:`SignalRouter`): the call's news to
:class:`~voip_app.engine.news.ServerNews`, presence to the directory, the link's state to the
session."""

from __future__ import annotations

from dataclasses import replace

from voip_app.call.machine import Outcome, Trigger
from voip_app.engine.actions import CallActions
from voip_app.engine.directory import Directory
from voip_app.engine.news import ServerNews
from voip_app.engine.shared import Shared
from voip_app.signaling import AuthRefused, LinkDown, LinkUp, SignalEvent
from voip_contract import (
    Accepted,
    AnsweredElsewhere,
    Ended,
    Incoming,
    PresenceChanged,
    RecordingChanged,
    Ringing,
)


class SignalRouter:
    """The signaling link's listener: hands every event to the part that deals with it."""

    def __init__(
        self, shared: Shared, directory: Directory, news: ServerNews, actions: CallActions
    ) -> None:
        self._out, self._tasks, self._session = shared.out, shared.tasks, shared.session
        self._directory, self._news, self._actions = directory, news, actions

    def __call__(self, event: SignalEvent) -> None:
        news = self._news
        match event:
            case Incoming():
                news.incoming(event.call, event.ring_expires_at, event.recording)
            case RecordingChanged():
                current = self._out.snapshot.call
                if current is not None and current.id == event.call_id:
                    self._out.set_call(replace(current, recording=event.status))
            case Ringing(call_id=call_id):
                news.about(call_id, Trigger.SERVER_RINGING)
            case Accepted():
                news.about(event.call_id, Trigger.SERVER_ACCEPTED, token=event)
            case AnsweredElsewhere(call_id=call_id):
                news.about(call_id, Trigger.SERVER_ANSWERED_ELSEWHERE)
            case Ended():
                ended = Outcome(event.status, event.reason)
                news.about(event.call_id, Trigger.SERVER_ENDED, outcome=ended)
                self._tasks.session.spawn(self._directory.refresh_quietly())
            case PresenceChanged():
                self._directory.heard(event)
            case LinkUp():
                self._link_up(event)
            case LinkDown(reason=reason):
                self._session.link_down(reason)
            case AuthRefused(message=message):
                self._session.auth_refused(message)

    def _link_up(self, event: LinkUp) -> None:
        if event.reconnected and self._out.snapshot.contacts:
            self._directory.presence.relinked()  # a new connection watches nobody
        self._actions.synced = event.calls
        self._session.link_up(event.reconnected)
        self._news.synced(event.calls, event.reconnected)
        self._session.wake_link_waiters()
