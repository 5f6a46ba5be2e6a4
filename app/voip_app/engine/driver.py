"""The call's driver: feeds triggers to the machine and runs the effects its table names.

:class:`CallDriver` holds this device's :class:`~voip_app.call.machine.CallProgress` and nothing
else that decides about phases. Everything that happens to the call (a user action, a server event,
a ``sync``, a media event) becomes a :class:`~voip_app.call.machine.Trigger`;
:func:`~voip_app.call.machine.next_step` answers with the next progress and the effects, which the
driver runs in order. :meth:`CallDriver.act` is for the person's actions (an illegal one raises
:class:`~voip_app.call.machine.IllegalTrigger`; telling the server is awaited);
:meth:`CallDriver.feed` is for news (an illegal one is ignored: it is late or duplicated, and
telling the server runs in the background).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Protocol

from voip_app.call.machine import CallProgress, Effect, IllegalTrigger, Outcome, Trigger, next_step
from voip_app.call.model import ActiveCall
from voip_app.engine.events import EndedEvent, MediaConnectedEvent, PhaseEvent
from voip_app.engine.media_link import MediaLink
from voip_app.engine.shared import Shared
from voip_app.engine.snapshot import log
from voip_contract import Call, RoomToken

FINISHED_CALLS_KEPT = 64
"""How many ids of calls that ended on this device are remembered, so that a late or re-sent
``incoming`` for one of them cannot ring again and a ``sync`` never rejoins one."""

EARLY_NEWS_KEPT = 8
"""At most this many server events are kept while an invite waits for its answer (see
:meth:`CallDriver.keep_early`)."""

Send = Coroutine[Any, Any, None]


@dataclass(frozen=True, slots=True)
class EarlyNews:
    """A server event about a call this device has not been told the id of yet."""

    call_id: str
    trigger: Trigger
    outcome: Outcome | None
    token: RoomToken | None


class Followups(Protocol):
    """What the driver starts and others carry out (:class:`~voip_app.engine.recovery.Recovery`)."""

    def poll_for_answer(self) -> None: ...

    def settle_soon(self, call_id: str) -> None: ...

    def fetch_room_token(self, listed: Call) -> None: ...


@dataclass(frozen=True, slots=True)
class Given:
    """What a trigger brings along for its effects."""

    call: ActiveCall | None = None
    """For ``START_CALL``: the new call on screen."""
    token: RoomToken | None = None
    """For ``JOIN_MEDIA``/``RESUME_MEDIA``: the room token (``None``: fetch fresh ones)."""
    listed: Call | None = None
    """For ``FETCH_ROOM_TOKEN``: the call ``sync`` listed."""
    error: str | None = None
    """Why the call ended, fit to show a person."""


class CallDriver:
    """This device's call: its progress through the table, and the effects of every step."""

    def __init__(self, shared: Shared, media: MediaLink) -> None:
        self._out, self._tasks, self._clock = shared.out, shared.tasks, shared.clock
        self._session, self._media = shared.session, media
        self.progress = CallProgress()
        self.finished: deque[str] = deque(maxlen=FINISHED_CALLS_KEPT)
        self.placed: str | None = None
        """The ``request_id`` of the invite whose call is on screen (``None``: not a dial's)."""
        self._early: list[EarlyNews] = []
        self._followups: Followups | None = None
        self._runners: dict[Effect, Callable[[ActiveCall | None, Given], Send | None]] = {
            Effect.START_CALL: self._prepare,  # the call's update itself is _moved()'s
            Effect.CLEAR_CALL: self._nothing,
            Effect.ANNOUNCE_PHASE: self._announce,
            Effect.JOIN_MEDIA: self._join(Trigger.MEDIA_FAILED),
            Effect.RESUME_MEDIA: self._join(Trigger.MEDIA_RESUME_FAILED),
            Effect.MARK_CONNECTED: self._mark_connected,
            Effect.POLL_FOR_ANSWER: self._poll,
            Effect.SETTLE_FROM_LOG: self._settle,
            Effect.FETCH_ROOM_TOKEN: self._fetch_room_token,
            Effect.REMEMBER_ENDED: self._remember,
            Effect.END_CALL: self._end,
            Effect.SEND_CANCEL: self._send("cancel"),
            Effect.SEND_DECLINE: self._send("decline"),
            Effect.SEND_HANGUP: self._send("hangup"),
        }

    def attach(self, followups: Followups) -> None:
        self._followups = followups

    def reset(self) -> None:
        """Signed out: no call, nothing remembered."""
        self.progress = CallProgress()
        self.finished.clear()
        self.placed = None
        self._early.clear()

    def current(self, call_id: str | None) -> bool:
        """Is ``call_id`` the call on screen?"""
        call = self._out.snapshot.call
        return call is not None and call_id is not None and call.id == call_id

    def keep_early(self, news: EarlyNews) -> bool:
        """Keep ``news`` about a call not on screen while this device's invite waits for its
        answer: the server may tell of the call (the callee answered at once, or it ended) before
        that answer, which names it, arrives. ``False``: no invite waits; the news is not ours."""
        call = self._out.snapshot.call
        if self.placed is None or call is None or call.id is not None:
            return False
        if len(self._early) < EARLY_NEWS_KEPT:
            self._early.append(news)
        return True

    def invite_answered(self, call_id: str) -> None:
        """The invite's answer named ``call_id``: the news kept for it is fed now, in order."""
        early, self._early = self._early, []
        for news in early:
            if news.call_id == call_id and self.current(call_id):
                self.feed(news.trigger, outcome=news.outcome, token=news.token)

    # --- stepping ---------------------------------------------------------------------------

    def step(self, trigger: Trigger, *, call: ActiveCall | None = None) -> list[Send]:
        """The person did something: step (raises :class:`IllegalTrigger` when it makes no
        sense now); returns what to tell the server."""
        return self._step(trigger, None, Given(call=call))

    async def act(self, trigger: Trigger, *, call: ActiveCall | None = None) -> None:
        """:meth:`step`, then tell the server and wait for it."""
        for send in self.step(trigger, call=call):
            await send

    def feed(
        self,
        trigger: Trigger,
        *,
        outcome: Outcome | None = None,
        error: str | None = None,
        call: ActiveCall | None = None,
        token: RoomToken | None = None,
        listed: Call | None = None,
    ) -> bool:
        """News about the call: step, and tell the server in the background. ``False`` when the
        table has no row for it now (late, duplicated, or about a call that moved on)."""
        given = Given(call=call, token=token, listed=listed, error=error)
        try:
            sends = self._step(trigger, outcome, given)
        except IllegalTrigger as exc:
            log.debug("ignoring %s", exc)
            return False
        for send in sends:
            self._tasks.session.spawn(send)
        return True

    def _step(self, trigger: Trigger, outcome: Outcome | None, given: Given) -> list[Send]:
        progress, effects = next_step(self.progress, trigger, outcome)
        self.progress = progress
        call = self._moved(effects, given)
        sends = [self._runners[effect](call, given) for effect in effects]
        return [send for send in sends if send is not None]

    def _moved(self, effects: tuple[Effect, ...], given: Given) -> ActiveCall | None:
        """The call on screen after the step (told to subscribers)."""
        if Effect.CLEAR_CALL in effects:
            self._out.set_call(None)
            self.placed = None
            self._early.clear()
            return None
        call = self._out.snapshot.call
        if Effect.START_CALL in effects:
            call, self.placed = given.call, None
            self._early.clear()
        if call is not None:
            call = replace(call.at(self.progress), error=given.error or call.error)
            self._out.set_call(call)
        return call

    # --- the effects ------------------------------------------------------------------------

    def _nothing(self, call: ActiveCall | None, given: Given) -> None:
        return None

    def _prepare(self, call: ActiveCall | None, given: Given) -> None:
        self._media.prepare()

    def _announce(self, call: ActiveCall | None, given: Given) -> None:
        if call is not None:
            self._out.log(PhaseEvent(call_id=call.id, phase=call.phase.value))

    def _join(self, on_failure: Trigger) -> Callable[[ActiveCall | None, Given], None]:
        def join(call: ActiveCall | None, given: Given) -> None:
            if call is not None and call.id is not None:
                self._media.join(call.id, given.token, on_failure)

        return join

    def _mark_connected(self, call: ActiveCall | None, given: Given) -> None:
        if call is not None and call.connected_at is None:
            self._out.set_call(replace(call, connected_at=self._clock.now()))
        self._out.log(MediaConnectedEvent(call_id=call.id if call else None))

    def _poll(self, call: ActiveCall | None, given: Given) -> None:
        assert self._followups is not None, "attach() the follow-ups first"
        self._followups.poll_for_answer()

    def _settle(self, call: ActiveCall | None, given: Given) -> None:
        assert self._followups is not None, "attach() the follow-ups first"
        if call is not None and call.id is not None:
            self._followups.settle_soon(call.id)

    def _fetch_room_token(self, call: ActiveCall | None, given: Given) -> None:
        assert self._followups is not None, "attach() the follow-ups first"
        if given.listed is not None:
            self._followups.fetch_room_token(given.listed)

    def _remember(self, call: ActiveCall | None, given: Given) -> None:
        if call is not None and call.id is not None and call.id not in self.finished:
            self.finished.append(call.id)

    def _end(self, call: ActiveCall | None, given: Given) -> None:
        """Stop the media and every task of the call, and tell how it ended."""
        if call is not None:
            status, reason = call.status, call.reason
            self._out.log(
                EndedEvent(
                    call_id=call.id,
                    status=status.value if status else None,
                    reason=reason.value if reason else None,
                    error=given.error,
                )
            )
        if given.error:
            self._out.update(error=given.error)
        self._tasks.call.cancel()
        self._media.leave()
        self._out.update(outputs=())

    def _send(self, action: str) -> Callable[[ActiveCall | None, Given], Send | None]:
        def send(call: ActiveCall | None, given: Given) -> Send | None:
            if call is None or call.id is None:
                return None
            return self._session.send_quietly(action, call.id)

        return send
