"""Recording calls through LiveKit Egress: the tenant's policy, starting and stopping, and what
egress reports (webhooks, or ``ListEgress`` after a crash).

A recording row is written and committed (``starting``) *before* the egress is asked for, so a
server killed at any point leaves a row that :func:`reconcile` settles with ``ListEgress`` at the
next start: never a row stuck ``active``. Egress failing (at start, or later: ``egress_ended``
``EGRESS_FAILED``) makes the recording ``failed`` and never touches the call. Every status change
reaches both parties as ``recording`` ``{call_id, recording_id, status}``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Identity
from server.calls.deps import CallDeps
from server.calls.steps import SYSTEM_ACTOR, load_party_call
from server.db import calls as call_data
from server.db import recordings as rec_data
from server.db.models import CallRow, RecordingRow, new_id
from server.errors import ServiceError
from server.media import EgressResult, MediaUnavailable
from server.webhooks import events as webhook_events
from voip_contract import CallStatus, ErrorCode, RecordingChanged, ServerEvent

log = logging.getLogger(__name__)

POLICIES = ("off", "all", "on_demand")


async def policy(deps: CallDeps, session: AsyncSession, tenant_id: str) -> str:
    """The tenant's recording policy (its own, else ``VOIP_RECORDING_DEFAULT``)."""
    own = await rec_data.tenant_policy(session, tenant_id=tenant_id)
    return effective_policy(deps, own)


def effective_policy(deps: CallDeps, own: str | None) -> str:
    """The policy a tenant whose own policy is ``own`` (``None``: none of its own) follows."""
    return own if own in POLICIES else deps.settings.recording_default


async def consent(deps: CallDeps, tenant_id: str) -> bool:
    """Whether a call of this tenant will be recorded once answered (policy ``all``)."""
    async with deps.sessions() as session:
        return await policy(deps, session, tenant_id) == "all"


async def _tell(deps: CallDeps, call: CallRow, recording_id: str, status: str) -> None:
    data = RecordingChanged(call_id=call.id, recording_id=recording_id, status=status)
    payload = data.model_dump(mode="json")
    for user_id in (call.caller_id, call.callee_id):
        await deps.notifier.to_user(user_id, ServerEvent.RECORDING, payload)


async def start_at_answer(deps: CallDeps, call_id: str) -> None:
    """Under policy ``all``: record the call just answered (a failure is logged, never raised)."""
    try:
        async with deps.sessions() as session:
            call = await call_data.load_call(session, call_id=call_id)
            if call is None or await policy(deps, session, call.tenant_id) != "all":
                return
        await _start(deps, call_id, actor=SYSTEM_ACTOR)
    except ServiceError as exc:
        log.info("recording not started", extra={"call": call_id, "why": exc.message})
    except Exception:
        log.exception("recording not started", extra={"call": call_id})


async def _start(deps: CallDeps, call_id: str, *, actor: str) -> RecordingRow:
    """Write the ``starting`` row, commit, then ask LiveKit; ``failed`` if LiveKit refuses."""
    call, row = await _write_starting_row(deps, call_id, actor=actor)
    await _tell(deps, call, row.id, "starting")
    try:
        egress_id = await deps.media.start_recording(row.room_name, row.filename)
    except MediaUnavailable as exc:
        log.warning("egress did not start", extra={"call": call_id, "error": str(exc)})
        await _finish(deps, row, "failed", error=str(exc)[:500])
        return row
    await _keep_egress(deps, row, egress_id)
    return row


async def _write_starting_row(
    deps: CallDeps, call_id: str, *, actor: str
) -> tuple[CallRow, RecordingRow]:
    """The call in progress and its new ``starting`` recording, committed (refused with
    ``invalid_state`` if the call is not in progress or is being recorded already)."""
    async with deps.sessions() as session:
        call = await call_data.load_call(session, call_id=call_id)
        if call is None or call.status != CallStatus.IN_PROGRESS.value or not call.room_name:
            raise ServiceError(ErrorCode.INVALID_STATE, "the call is not in progress")
        if await rec_data.running_for_call(session, call_id=call_id):
            raise ServiceError(ErrorCode.INVALID_STATE, "the call is being recorded already")
        rec_id = new_id()
        values: dict[str, Any] = {
            "id": rec_id,
            "call_id": call.id,
            "tenant_id": call.tenant_id,
            "room_name": call.room_name,
            "status": "starting",
            "filename": f"{rec_id}.ogg",
            "started_by": actor,
            "created_at": deps.clock.now(),
        }
        if not await rec_data.insert_recording(session, values=values):
            raise ServiceError(ErrorCode.INVALID_STATE, "the call is being recorded already")
        await session.commit()
    return call, RecordingRow(**values)


async def _keep_egress(deps: CallDeps, row: RecordingRow, egress_id: str) -> None:
    """Note on ``row`` the egress LiveKit started for it (and stop that egress if nobody wants
    it any more)."""
    async with deps.sessions() as session:
        kept = await rec_data.change(
            session,
            recording_id=row.id,
            from_statuses=("starting", "active"),
            values={"egress_id": egress_id},
        )
        await session.commit()
        call_now = await call_data.load_call(session, call_id=row.call_id)
    row.egress_id = egress_id
    # the call ended, or the recording was stopped, while LiveKit was starting it
    if not kept or call_now is None or CallStatus(call_now.status).is_final:
        await _stop_egress(deps, egress_id)


async def _finish(
    deps: CallDeps,
    row: RecordingRow,
    status: str,
    *,
    result: EgressResult | None = None,
    error: str | None = None,
) -> bool:
    """``complete`` or ``failed`` (once, whichever node or path gets there first)."""
    values: dict[str, Any] = {"status": status, "ended_at": deps.clock.now()}
    if result is not None:
        values |= {
            "location": result.location,
            "duration_s": result.duration_s,
            "size_bytes": result.size_bytes,
            "error": (result.error or "")[:500] or None,
            "egress_id": result.egress_id,
        }
    if error is not None:
        values["error"] = error
    async with deps.sessions() as session:
        won = await rec_data.change(
            session, recording_id=row.id, from_statuses=rec_data.RUNNING, values=values
        )
        call = await call_data.load_call(session, call_id=row.call_id)
        if won and call is not None and status == "complete":  # the CRM's recording.ready
            await _recording_ready(session, call, row.id, values)
        await session.commit()
    if won and call is not None:
        deps.webhooks.kick()
        await _tell(deps, call, row.id, status)
    return won


async def _recording_ready(
    session: AsyncSession, call: CallRow, recording_id: str, values: dict[str, Any]
) -> None:
    """``recording.ready`` into the webhook outbox, in the transaction that completes it."""
    recording = {
        "id": recording_id,
        "status": "complete",
        "duration_s": values.get("duration_s"),
        "size_bytes": values.get("size_bytes"),
    }
    now = values["ended_at"]
    await webhook_events.enqueue(
        session, call, webhook_events.RECORDING_READY, at=now, more={"recording": recording}
    )


async def _stop_egress(deps: CallDeps, egress_id: str) -> None:
    try:
        await deps.media.stop_recording(egress_id)
    except MediaUnavailable as exc:
        # egress stops by itself when the room goes; its egress_ended settles the row
        log.warning("egress not stopped", extra={"egress": egress_id, "error": str(exc)})


async def stop_for_call(deps: CallDeps, call_id: str) -> None:
    """The call ended: stop its running recordings (their ``egress_ended`` completes them)."""
    async with deps.sessions() as session:
        running = await rec_data.running_for_call(session, call_id=call_id)
    for row in running:
        if row.egress_id:
            await _stop_egress(deps, row.egress_id)


async def request(deps: CallDeps, ident: Identity, call_id: str, *, start: bool) -> None:
    """A party's ``recording_start`` / ``recording_stop``: only under ``on_demand`` (``off``
    refuses both; under ``all`` the server records every call and parties cannot stop it)."""
    async with deps.sessions() as session:
        call, _, _ = await load_party_call(session, ident, call_id)
        rule = await policy(deps, session, call.tenant_id)
        running = await rec_data.running_for_call(session, call_id=call_id)
    if rule != "on_demand":
        why = "off in your organisation" if rule == "off" else "always on in your organisation"
        raise ServiceError(ErrorCode.FORBIDDEN, f"Recording is {why}.")
    if start:
        await _start(deps, call_id, actor=ident.user_id)
        return
    if not running:
        raise ServiceError(ErrorCode.INVALID_STATE, "the call is not being recorded")
    for row in running:
        if row.egress_id:
            await _stop_egress(deps, row.egress_id)
        else:  # never reached LiveKit (it refused, or is about to answer): nothing runs
            await _finish(deps, row, "failed", error="stopped before egress started")


async def on_egress(deps: CallDeps, event: str, result: EgressResult) -> None:
    """``egress_started`` / ``egress_updated`` / ``egress_ended`` of one of our recordings."""
    async with deps.sessions() as session:
        row = await rec_data.match_egress(
            session, egress_id=result.egress_id, filename=result.filepath
        )
    if row is None:
        return
    await apply(deps, row, result, ended=event == "egress_ended")


async def apply(deps: CallDeps, row: RecordingRow, result: EgressResult, *, ended: bool) -> None:
    """Move ``row`` to what egress says of it."""
    if result.status in ("complete", "failed"):
        await _finish(deps, row, result.status, result=result)
    elif ended:
        await _finish(deps, row, "failed", result=result, error="egress ended without a file")
    else:
        async with deps.sessions() as session:
            won = await rec_data.change(
                session,
                recording_id=row.id,
                from_statuses=("starting",),
                values={"status": "active", "egress_id": result.egress_id},
            )
            await session.commit()
            call = await call_data.load_call(session, call_id=row.call_id)
        if won and call is not None:
            await _tell(deps, call, row.id, "active")


async def reconcile(deps: CallDeps) -> int:
    """At start: settle every ``starting``/``active`` recording with ``ListEgress`` (a crash
    between egress start and end): complete, failed, or still running (stopped if its call is
    over; its ``egress_ended`` then settles it); unknown to LiveKit: failed. How many settled."""
    async with deps.sessions() as session:
        rows = await rec_data.unsettled(session)
    settled = 0
    by_room: dict[str, list[EgressResult]] = {}
    for row in rows:
        if row.room_name not in by_room:
            try:
                by_room[row.room_name] = await deps.media.list_recordings(row.room_name)
            except MediaUnavailable as exc:
                log.warning("recordings not reconciled", extra={"error": str(exc)})
                return settled
        found = next(
            (
                e
                for e in by_room[row.room_name]
                if e.egress_id == row.egress_id or e.filepath == row.filename
            ),
            None,
        )
        if found is None:
            settled += await _finish(deps, row, "failed", error="egress lost")
        elif found.status != "active":
            settled += await _finish(deps, row, found.status, result=found)
        else:
            await apply(deps, row, found, ended=False)
            async with deps.sessions() as session:
                call = await call_data.load_call(session, call_id=row.call_id)
            if call is None or CallStatus(call.status).is_final:
                await _stop_egress(deps, found.egress_id)
    return settled
