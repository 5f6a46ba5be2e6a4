"""``/api/recordings``: a call's recording for its two parties (HTTP Range for seeking), a
short-lived signed URL for players that take only a URL, and deletion by a party."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from server.api.deps import CallsDep, IdentityDep
from server.calls import recording_files
from voip_contract import RecordingUrl
from voip_contract.base import ID_MAX

router = APIRouter(prefix="/recordings")

AUDIO = "audio/ogg"


def _file_response(source: Path | str) -> Response:
    """The file (FileResponse answers Range requests: 206, Content-Range; 416 when
    unsatisfiable), or a redirect to its pre-signed S3 URL (S3 answers Range itself)."""
    headers = {"Cache-Control": "private, no-store"}
    if isinstance(source, str):
        return RedirectResponse(source, status_code=307, headers=headers)
    return FileResponse(source, media_type=AUDIO, headers=headers)


@router.get("/{recording_id}")
async def fetch(recording_id: str, ident: IdentityDep, deps: CallsDep) -> Response:
    """The audio (Ogg/Opus), to the call's two parties only (``not_found`` for anyone else)."""
    row = await recording_files.party_recording(deps, ident.user_id, recording_id[:ID_MAX])
    return _file_response(recording_files.file_of(deps, row))


@router.post("/{recording_id}/url", response_model=RecordingUrl)
async def signed_url(
    recording_id: str, ident: IdentityDep, deps: CallsDep, request: Request
) -> RecordingUrl:
    """A URL playing this recording for me, without a bearer header, for a short while."""
    signed = await recording_files.sign(deps, ident, recording_id[:ID_MAX])
    base = str(request.base_url).rstrip("/")
    return RecordingUrl(url=base + signed.path, expires_at=signed.expires_at)


@router.get("/{recording_id}/play")
async def play(
    recording_id: str,
    deps: CallsDep,
    user: Annotated[str, Query(max_length=ID_MAX)],
    expires: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(max_length=128)],
) -> Response:
    """What a signed URL plays (refused once expired or if any part was altered)."""
    path = await recording_files.verify(deps, recording_id[:ID_MAX], user, expires, sig)
    return _file_response(path)


@router.delete("/{recording_id}", status_code=204)
async def delete(recording_id: str, ident: IdentityDep, deps: CallsDep) -> Response:
    """A party deletes the recording of their call (file and row), at once."""
    await recording_files.delete_by_party(deps, ident, recording_id[:ID_MAX])
    return Response(status_code=204)
