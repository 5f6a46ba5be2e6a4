"""What the call server says about calls, turned into triggers for the driver, and the follow-ups
the table asks for when the server's word is not enough.

- :meth:`ServerNews.incoming` / :meth:`ServerNews.about`: the server's events about a call;
- :meth:`ServerNews.synced`: after every (re)connect, ``sync`` reconciled
  (:func:`~voip_app.call.reconcile.reconcile`);
- follow-ups: read a call's outcome from the call log, ask for a room token to rejoin a call only
  the server remembered, and, ringing out across a reconnect, poll the call log for the answer
  (the server sends ``accepted`` only to the connection that invited, which a reconnect replaced).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

from voip_app.call.machine import Outcome, Phase, Trigger, allows, placing
from voip_app.call.model import ActiveCall
from voip_app.call.reconcile import reconcile, report
from voip_app.engine.driver import CallDriver, EarlyNews
from voip_app.engine.events import (
    AnswerFoundEvent,
    IncomingEvent,
    ResumeRefusedEvent,
    ResumingEvent,
)
from voip_app.engine.shared import Shared
from voip_app.engine.snapshot import log
from voip_app.errors import VoipError
from voip_contract import Call, CallStatus, RoomToken

ANSWER_POLL_S = 1.5
ANSWER_POLLS = 60
"""Ringing out across a signaling reconnect, the call log is read every :data:`ANSWER_POLL_S`,
at most this many times, for an answer whose ``accepted`` event went to the old connection."""


class ServerNews:
    """The server's events and ``sync`` for the call on this device (the driver's follow-ups)."""

    def __init__(self, shared: Shared, driver: CallDriver) -> None:
        self._out, self._tasks, self._clock = shared.out, shared.tasks, shared.clock
        self._session, self._device_id, self._driver = shared.session, shared.device_id, driver
        self._resuming: set[str] = set()
        self._poll: asyncio.Task[Any] | None = None

    def incoming(
        self, call: Call, ring_expires_at: datetime | None, recorded: bool = False
    ) -> None:
        """``incoming`` (or a ``sync`` listing a call that rings for me); ``recorded``: the
        server says it will be recorded once answered."""
        current = self._out.snapshot.call
        if current is not None and current.id == call.id:
            # The same call again (the server re-sends it after a reconnect): never a second ring.
            if self._driver.feed(Trigger.SERVER_INCOMING_AGAIN) and ring_expires_at is not None:
                self._out.set_call(replace(current, ring_expires_at=ring_expires_at))
            return
        if call.id in self._driver.finished:
            log.info("incoming call %s already ended here; not ringing again", call.id)
            return
        ringing = ActiveCall(
            id=call.id,
            peer=call.caller,
            direction="incoming",
            phase=Phase.INCOMING,
            ring_expires_at=ring_expires_at,
            context=call.context,
            recorded=recorded,
        )
        if not self._driver.feed(Trigger.SERVER_INCOMING, call=ringing):
            log.info("incoming call %s while busy here; the server decides", call.id)
            return
        self._out.log(IncomingEvent(call_id=call.id, caller=call.caller.display_name))

    def about(
        self,
        call_id: str,
        trigger: Trigger,
        *,
        outcome: Outcome | None = None,
        token: RoomToken | None = None,
    ) -> None:
        """A server event about the call ``call_id``; about another call it changes nothing,
        unless an invite still waits for its answer (then it may be about that invite's call)."""
        if self._driver.current(call_id):
            self._driver.feed(trigger, outcome=outcome, token=token)
        elif self._driver.keep_early(EarlyNews(call_id, trigger, outcome, token)):
            log.info("%s about call %s before the invite's answer: kept", trigger.name, call_id)

    def synced(self, calls: tuple[Call, ...], reconnected: bool) -> None:
        """After a (re)connect, make the call here agree with the server's ``sync``."""
        call = self._out.snapshot.call
        for event in reconcile(
            self._driver.progress,
            call.id if call is not None else None,
            calls,
            self._driver.finished,
            can_resume=self._device_id is not None,
            reconnected=reconnected,
        ):
            if event.trigger is Trigger.SERVER_INCOMING and event.call is not None:
                self.incoming(event.call, None)
            else:
                self._driver.feed(event.trigger, outcome=event.outcome, listed=event.call)

    # --- follow-ups (the driver's, as its table says) ---------------------------------------

    def settle_soon(self, call_id: str) -> None:
        self._tasks.session.spawn(self.settle_from_log(call_id))

    async def settle_from_log(self, call_id: str) -> None:
        """The call log's outcome of ``call_id`` ends it here (a failed read: it failed)."""
        try:
            call = await self._session.require_api().call(call_id)
        except VoipError as exc:
            log.warning("could not settle call %s after reconnect: %s", call_id, exc)
            outcome = Outcome(CallStatus.FAILED, None)
        else:
            if not call.status.is_final:
                return
            outcome = Outcome(call.status, call.reason)
        if self._driver.current(call_id):
            self._driver.feed(Trigger.SERVER_ENDED, outcome=outcome)

    def fetch_room_token(self, listed: Call) -> None:
        self._tasks.session.spawn(self._resume(listed))

    async def _resume(self, call: Call) -> None:
        """``sync`` listed a call in progress that this device shows nothing of (the app
        restarted mid-call). The server decides whose it is: it hands a room token only to the
        caller's device and the callee's answering device, so any refusal means "leave it
        alone". A join that fails ends the call here only (``MEDIA_RESUME_FAILED``)."""
        if call.id in self._resuming:
            return
        self._resuming.add(call.id)
        try:
            token = await self._session.require_api().room_token(call.id, device_id=self._device_id)
        except VoipError as exc:
            log.info("call %s in progress is not this device's to rejoin: %s", call.id, exc)
            self._out.log(ResumeRefusedEvent(call_id=call.id, error=str(exc)))
            return
        finally:
            self._resuming.discard(call.id)
        if call.id in self._driver.finished:
            return  # ended here meanwhile: never rejoined
        outgoing = call.direction == "outgoing"
        rejoined = ActiveCall(
            id=call.id,
            peer=call.callee if outgoing else call.caller,
            direction=call.direction,
            phase=Phase.CONNECTING,
            connected_at=call.answered_at,  # the timer goes on from the answer
        )
        if self._driver.feed(Trigger.SERVER_IN_PROGRESS, call=rejoined, token=token):
            self._out.log(ResumingEvent(call_id=call.id))

    def poll_for_answer(self) -> None:
        if self._poll is None or self._poll.done():
            self._poll = self._tasks.call.spawn(self._poll_for_answer())

    async def _poll_for_answer(self) -> None:
        """Read the call log until the call I place moves on (an ``accepted`` or ``ended`` that
        does arrive moves it first and ends this)."""
        for _ in range(ANSWER_POLLS):
            await self._clock.sleep(ANSWER_POLL_S)
            if not placing(self._driver.progress.phase):
                return
            current = self._out.snapshot.call
            if current is None or current.id is None:
                continue  # the invite is still being sent again
            try:
                call = await self._session.require_api().call(current.id)
            except VoipError as exc:
                log.info("call log not readable while ringing out: %s", exc)
                continue
            if not self._driver.current(call.id):
                return
            said = report(call)
            if said.trigger is Trigger.SERVER_REPORTS_ANSWERED and allows(
                self._driver.progress.phase, said.trigger
            ):
                self._out.log(AnswerFoundEvent(call_id=call.id))
            self._driver.feed(said.trigger, outcome=said.outcome)
            if said.trigger is not Trigger.SERVER_REPORTS_RINGING:
                return
