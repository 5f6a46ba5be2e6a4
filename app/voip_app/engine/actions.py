"""The person's call actions that talk to the server: placing a call (and retrying a lost invite),
answering one, and ending or leaving one as its phase says.

An invite that the signaling link lost (dropped while it waited for its answer, or sent while the
link was down) is sent again once the link is back, with the same ``request_id``, so the server
answers with the call it may already have made instead of ringing twice: at most
:data:`INVITE_ATTEMPTS` sends, each retry waiting at most ``INVITE_RELINK_WAIT_S`` for the link.
Cancelled meanwhile, the invite is sent again only if the server's ``sync`` shows a call it may
belong to (then it is cancelled).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from voip_app.call.machine import ENDING, LEAVING, Outcome, Phase, Trigger, placing
from voip_app.call.model import ActiveCall
from voip_app.call.reconcile import report
from voip_app.engine.directory import Directory
from voip_app.engine.driver import CallDriver
from voip_app.engine.events import AcceptingEvent, DialingEvent, InviteRetryEvent
from voip_app.engine.media_link import MediaLink
from voip_app.engine.shared import Shared
from voip_app.errors import RequestRefused, ServerUnreachable, VoipError
from voip_app.signaling import Signaling
from voip_contract import Call, CallStatus, ErrorCode, Reason

INVITE_ATTEMPTS = 3
"""An invite lost with the signaling link is sent this many times in all (same ``request_id``)."""


class CallActions:
    """Dial, accept, end and leave, each through the driver's table."""

    def __init__(
        self, shared: Shared, directory: Directory, driver: CallDriver, media: MediaLink
    ) -> None:
        self._out, self._tasks, self._session = shared.out, shared.tasks, shared.session
        self._directory, self._driver, self._media = directory, driver, media
        self.synced: tuple[Call, ...] = ()
        """The last ``sync``'s calls: may the server have an invite that was lost?"""

    # --- placing a call ---------------------------------------------------------------------

    async def dial(self, user_id: str) -> None:
        """Call a contact of my tenant by user id; returns once the invite is answered."""
        signaling = self._session.require_signaling()
        request_id = uuid.uuid4().hex
        peer = self._directory.peer(user_id)
        dialing = ActiveCall(id=None, peer=peer, direction="outgoing", phase=Phase.DIALING)
        await self._driver.act(Trigger.USER_DIAL, call=dialing)
        self._driver.placed = request_id
        self._out.log(DialingEvent(callee_id=user_id))
        try:
            call = await self._invite(signaling, user_id, request_id)
        except VoipError as exc:
            if self._driver.placed == request_id:
                self._driver.feed(Trigger.SERVER_REFUSED, outcome=_refusal(exc), error=str(exc))
            return
        if call is not None:
            self._invited(call, request_id)

    async def _invite(self, signaling: Signaling, user_id: str, request_id: str) -> Call | None:
        """Send the invite, again after a lost link; ``None``: cancelled before the server had
        the call."""
        for attempt in range(1, INVITE_ATTEMPTS + 1):
            try:
                return await signaling.invite(user_id, request_id)
            except ServerUnreachable as exc:
                if attempt == INVITE_ATTEMPTS or not await self._session.relinked(signaling):
                    raise
                retry = InviteRetryEvent(callee_id=user_id, attempt=attempt + 1, error=str(exc))
                self._out.log(retry)
            if not self._still_placing(request_id) and not self._server_may_have(user_id):
                return None
        raise AssertionError("not reached")  # pragma: no cover

    def _still_placing(self, request_id: str) -> bool:
        return self._driver.placed == request_id and placing(self._driver.progress.phase)

    def _server_may_have(self, callee_id: str) -> bool:
        """Does the last ``sync`` list an active outgoing call of mine to ``callee_id``?"""
        return any(
            c.direction == "outgoing" and c.callee.id == callee_id and not c.status.is_final
            for c in self.synced
        )

    def _invited(self, call: Call, request_id: str) -> None:
        """The server's answer to the invite ``request_id``: what it says, the table decides."""
        current = self._out.snapshot.call
        if self._driver.placed != request_id or current is None:
            # This dial's screen is gone (cancelled, then dismissed): only the server needs telling.
            if call.id not in self._driver.finished:
                self._driver.finished.append(call.id)
            self._stop_on_server(call)
            return
        self._out.set_call(replace(current, id=call.id, peer=call.callee))
        said = report(call)
        self._driver.feed(said.trigger, outcome=said.outcome)
        self._driver.invite_answered(call.id)

    def _stop_on_server(self, call: Call) -> None:
        if not call.status.is_final:
            action = "hangup" if call.status is CallStatus.IN_PROGRESS else "cancel"
            self._tasks.session.spawn(self._session.send_quietly(action, call.id))

    # --- answering, ending, leaving ---------------------------------------------------------

    async def accept(self) -> None:
        """Answer the incoming call: get a room token, and join the media."""
        await self._driver.act(Trigger.USER_ACCEPT)
        call = self._out.snapshot.call
        assert call is not None
        assert call.id is not None  # an incoming call always has an id
        self._out.log(AcceptingEvent(call_id=call.id))
        try:
            token = await self._session.require_signaling().accept(call.id)
        except VoipError as exc:
            if self._driver.current(call.id):
                failed = Outcome(CallStatus.FAILED, None)
                self._driver.feed(Trigger.SERVER_REFUSED, outcome=failed, error=str(exc))
            return
        if self._driver.current(call.id):
            self._driver.feed(Trigger.SERVER_ANSWER_CONFIRMED, token=token)

    async def end(self) -> None:
        """Whatever ends the call in its phase (cancel, decline, hang up); nothing without one."""
        trigger = ENDING.get(self._driver.progress.phase)
        if trigger is not None:
            await self._driver.act(trigger)

    async def leave(self) -> None:
        """This device is going away (sign-out, a closed window): end the call it placed or is
        in, but never decline one that rings. The person's other devices still ring, and if none
        answers the server's ring timeout settles it; a device going away is no answer."""
        trigger = LEAVING.get(self._driver.progress.phase)
        if trigger is not None:
            await self._driver.act(trigger)
        await self._tasks.call.drain()
        await self._media.leave_now()


def _refusal(exc: VoipError) -> Outcome:
    if isinstance(exc, RequestRefused) and exc.code is ErrorCode.BUSY:
        return Outcome(CallStatus.BUSY, Reason.CALLEE_BUSY)
    return Outcome(CallStatus.FAILED, None)
