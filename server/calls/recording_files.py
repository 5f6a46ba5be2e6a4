"""Recording files: who may fetch one, signed URLs for players, deletion and retention.

A recording is served only to its call's two parties; anyone else gets ``not_found``, exactly as
for no recording at all. A signed URL names one recording and one user and expires after
``VOIP_RECORDING_URL_TTL_S``: ``sig`` is an HMAC-SHA256 (key derived from the server's JWT secret)
of ``recording id, user id, expiry``, so an altered or expired URL is refused.

Deleting (a party's ``DELETE``, or the retention sweep on any node) removes the row with one
``DELETE``; only the session whose DELETE removed it unlinks the file, so two nodes sweeping at
once never both delete one recording.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from server.auth import Identity
from server.calls.deps import CallDeps
from server.db import calls as call_data
from server.db import recordings as rec_data
from server.db.models import RecordingRow
from server.errors import ServiceError
from server.s3presign import presign
from voip_contract import ErrorCode

log = logging.getLogger(__name__)


def _not_found() -> ServiceError:
    return ServiceError(ErrorCode.NOT_FOUND, "no such recording")


async def party_recording(deps: CallDeps, user_id: str, recording_id: str) -> RecordingRow:
    """The recording, if ``user_id`` is a party of its call; ``not_found`` otherwise."""
    async with deps.sessions() as session:
        row = await rec_data.by_id(session, recording_id=recording_id)
        call = None if row is None else await call_data.load_call(session, call_id=row.call_id)
    if row is None or call is None or user_id not in (call.caller_id, call.callee_id):
        raise _not_found()
    return row


def file_of(deps: CallDeps, row: RecordingRow) -> Path | str:
    """The recording's file under the recordings directory, or (egress uploads to S3) a
    pre-signed URL of its object; ``not_found`` if it is not there."""
    if row.status != "complete":
        raise _not_found()
    bucket = deps.settings.recording_s3
    if bucket is not None:
        ttl = deps.settings.recording_url_ttl_s
        return presign(bucket, row.filename, at=deps.clock.now(), expires_s=ttl)
    base = deps.settings.recordings_path.resolve()
    path = (base / row.filename).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise _not_found()
    return path


def _key(deps: CallDeps) -> bytes:
    return hashlib.sha256(b"recording-url:" + deps.settings.jwt_key().encode()).digest()


def _signature(deps: CallDeps, recording_id: str, user_id: str, expires: int) -> str:
    message = f"{recording_id}:{user_id}:{expires}".encode()
    return hmac.new(_key(deps), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedUrl:
    path: str
    expires_at: datetime


async def sign(deps: CallDeps, ident: Identity, recording_id: str) -> SignedUrl:
    """A URL path playing this recording for ``ident`` until the TTL passes."""
    row = await party_recording(deps, ident.user_id, recording_id)
    file_of(deps, row)
    expires_at = deps.clock.now() + timedelta(seconds=deps.settings.recording_url_ttl_s)
    expires = int(expires_at.timestamp())
    sig = _signature(deps, row.id, ident.user_id, expires)
    path = f"/api/recordings/{row.id}/play?user={ident.user_id}&expires={expires}&sig={sig}"
    return SignedUrl(path=path, expires_at=expires_at)


async def verify(
    deps: CallDeps, recording_id: str, user: str, expires: int, sig: str
) -> Path | str:
    """The file a signed URL plays; ``forbidden`` if altered or expired, ``not_found`` if the
    user is no longer a party or the file is gone."""
    good = _signature(deps, recording_id, user, expires)
    if not hmac.compare_digest(good, sig):
        raise ServiceError(ErrorCode.FORBIDDEN, "this link is not valid")
    if deps.clock.now().timestamp() >= expires:
        raise ServiceError(ErrorCode.FORBIDDEN, "this link has expired")
    return file_of(deps, await party_recording(deps, user, recording_id))


async def _delete(deps: CallDeps, row: RecordingRow) -> bool:
    async with deps.sessions() as session:
        won = await rec_data.delete_recording(session, recording_id=row.id)
        await session.commit()
    if won:
        await _delete_file(deps, row)
    return won


async def _delete_file(deps: CallDeps, row: RecordingRow) -> None:
    bucket = deps.settings.recording_s3
    if bucket is None:
        base = deps.settings.recordings_path.resolve()
        path = (base / row.filename).resolve()
        if path.is_relative_to(base):
            path.unlink(missing_ok=True)
        return
    url = presign(bucket, row.filename, method="DELETE", at=deps.clock.now(), expires_s=60)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            answer = await http.delete(url)
        if answer.status_code >= 300:
            log.warning(
                "recording object kept", extra={"key": row.filename, "status": answer.status_code}
            )
    except (
        httpx.HTTPError
    ) as exc:  # the row is gone: the object is an orphan for the bucket's own rules
        log.warning("recording object kept", extra={"key": row.filename, "error": str(exc)})


async def delete_by_party(deps: CallDeps, ident: Identity, recording_id: str) -> None:
    """A party deletes a recording of their call at once (file and row); one still running
    is refused (stop it first)."""
    row = await party_recording(deps, ident.user_id, recording_id)
    if row.status in rec_data.RUNNING:
        raise ServiceError(ErrorCode.INVALID_STATE, "the recording is still running")
    if not await _delete(deps, row):
        raise _not_found()
    log.info("recording deleted", extra={"recording": row.id, "by": ident.user_id})


async def sweep_retention(deps: CallDeps, *, now: datetime, limit: int = 500) -> int:
    """Delete recordings older than ``VOIP_RECORDING_RETENTION_DAYS``; how many this node did."""
    days = deps.settings.recording_retention_days
    if days <= 0:
        return 0
    async with deps.sessions() as session:
        rows = await rec_data.older_than(session, before=now - timedelta(days=days), limit=limit)
    deleted = 0
    for row in rows:
        deleted += await _delete(deps, row)
    return deleted
