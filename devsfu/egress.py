"""LiveKit's Egress service, the part a call server uses: ``POST /twirp/livekit.Egress/<Method>``.

- ``StartRoomCompositeEgress``: ``audio_only`` with one file output (``file`` or
  ``file_outputs[0]``, ``file_type`` ``OGG`` or default): the mix of every audio track of the
  room (:mod:`devsfu.mixer`) written as Ogg/Opus under the egress directory. ``filepath`` is
  relative to that directory (``{room_name}``, ``{room_id}`` and ``{time}`` are replaced, as
  LiveKit does; empty means ``{room_name}-{time}.ogg``); a path leaving the directory, video,
  stream/segment/image outputs and S3/GCP/Azure uploads are refused (``invalid_argument``).
- ``StopEgress``: end it (``EGRESS_COMPLETE``); ``ListEgress``: by ``room_name``,
  ``egress_id``, ``active``. Egresses are kept in memory, ended ones too, for the process's life.

Each needs the ``roomRecord`` grant. Webhooks as LiveKit sends them: ``egress_started`` (status
``EGRESS_ACTIVE``) once the file is open, ``egress_ended`` (``EGRESS_COMPLETE`` with the file's
``FileInfo``, or ``EGRESS_FAILED`` with ``error``). An egress ends by itself when its room
closes; one whose output cannot be written fails. Times are nanoseconds, as in LiveKit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import Message
from livekit.protocol import egress as eg
from livekit.protocol import webhook

from devsfu.auth import Claims, TokenAuthority
from devsfu.forward import OpusFanout
from devsfu.mixer import MixError, RoomMix
from devsfu.model import EventSink, Room, new_sid
from devsfu.rooms import RoomRegistry
from devsfu.twirp import Method, TwirpError, TwirpService, unauthenticated

log = logging.getLogger(__name__)

PREFIX = "/twirp/livekit.Egress/"
POLL_S = 0.1  # how often a recording looks for new tracks, its room's end, and writes
_ACTIVE = (eg.EGRESS_STARTING, eg.EGRESS_ACTIVE, eg.EGRESS_ENDING)


def _ns() -> int:
    return time.time_ns()


def _invalid(msg: str) -> TwirpError:
    return TwirpError("invalid_argument", msg, 400)


@dataclass
class _Egress:
    info: eg.EgressInfo
    room: Room
    mix: RoomMix
    fanouts: set[int] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class EgressService(TwirpService):
    """The Egress methods devsfu implements; files go under ``directory``."""

    prefix = PREFIX

    def __init__(
        self,
        registry: RoomRegistry,
        authority: TokenAuthority,
        events: EventSink,
        directory: Path,
    ) -> None:
        super().__init__(authority)
        self._rooms = registry
        self._events = events
        self._directory = directory.resolve()
        self._egresses: dict[str, _Egress] = {}
        self._methods = {
            "StartRoomCompositeEgress": Method(eg.RoomCompositeEgressRequest, self._start),
            "StopEgress": Method(eg.StopEgressRequest, self._stop),
            "ListEgress": Method(eg.ListEgressRequest, self._list),
        }

    # -- methods ---------------------------------------------------------------------------

    def _output_path(self, req: eg.RoomCompositeEgressRequest, room: Room) -> Path:
        outputs = list(req.file_outputs) or ([req.file] if req.HasField("file") else [])
        if len(outputs) != 1:
            raise _invalid("devsfu records to exactly one file output")
        if req.stream_outputs or req.segment_outputs or req.image_outputs:
            raise _invalid("devsfu records to files only")
        if not req.audio_only:
            raise _invalid("devsfu records audio only (audio_only: true)")
        output = outputs[0]
        if output.file_type not in (eg.DEFAULT_FILETYPE, eg.OGG):
            raise _invalid("devsfu writes Ogg/Opus files only")
        if output.WhichOneof("output"):
            raise _invalid("devsfu writes local files; upload settings are LiveKit Egress's")
        stamp = time.strftime("%Y-%m-%dT%H%M%S", time.gmtime())
        name = (output.filepath or "{room_name}-{time}.ogg").format_map(
            {"room_name": room.name, "room_id": room.sid, "time": stamp}
        )
        path = (self._directory / name).resolve()
        if not path.is_relative_to(self._directory) or path == self._directory:
            raise _invalid("filepath must stay inside the egress directory")
        return path

    async def _start(self, req: eg.RoomCompositeEgressRequest, claims: Claims) -> Message:
        if not claims.video.room_record:
            raise unauthenticated("permissions denied")
        if not req.room_name:
            raise _invalid("no room name")
        room = self._rooms.get(req.room_name)
        path = self._output_path(req, room)
        try:
            mix = RoomMix(path)
        except MixError as exc:
            raise TwirpError("internal", str(exc), 500) from exc
        info = eg.EgressInfo(
            egress_id=new_sid("EG_"),
            room_id=room.sid,
            room_name=room.name,
            source_type=eg.EGRESS_SOURCE_TYPE_WEB,
            status=eg.EGRESS_STARTING,
            started_at=_ns(),
            updated_at=_ns(),
        )
        info.room_composite.CopyFrom(req)
        egress = _Egress(info=info, room=room, mix=mix)
        self._egresses[info.egress_id] = egress
        answer = eg.EgressInfo()
        answer.CopyFrom(info)
        egress.task = asyncio.get_running_loop().create_task(self._run(egress))
        log.info("egress %s of room %s started: %s", info.egress_id, room.name, path)
        return answer

    async def _stop(self, req: eg.StopEgressRequest, claims: Claims) -> Message:
        if not claims.video.room_record:
            raise unauthenticated("permissions denied")
        egress = self._egresses.get(req.egress_id)
        if egress is None:
            raise TwirpError("not_found", "egress not found", 404)
        if egress.info.status not in _ACTIVE:
            raise TwirpError("failed_precondition", "egress already ended", 412)
        egress.stop.set()
        if egress.task is not None:
            await asyncio.shield(egress.task)
        return egress.info

    async def _list(self, req: eg.ListEgressRequest, claims: Claims) -> Message:
        if not claims.video.room_record:
            raise unauthenticated("permissions denied")
        items = [
            e.info
            for e in self._egresses.values()
            if (not req.room_name or e.info.room_name == req.room_name)
            and (not req.egress_id or e.info.egress_id == req.egress_id)
            and (not req.active or e.info.status in _ACTIVE)
        ]
        return eg.ListEgressResponse(items=items)

    # -- the recording ---------------------------------------------------------------------

    def _emit(self, name: str, info: eg.EgressInfo) -> None:
        event = webhook.WebhookEvent(
            event=name, id=new_sid("EV_"), created_at=int(time.time()), egress_info=info
        )
        self._events.emit(event)

    def _room_open(self, egress: _Egress) -> bool:
        return any(r is egress.room for r in self._rooms.find([egress.room.name]))

    def _attach_tracks(self, egress: _Egress) -> None:
        for participant in list(egress.room.participants.values()):
            for track in participant.tracks.values():
                fanout = track.media
                if isinstance(fanout, OpusFanout) and id(fanout) not in egress.fanouts:
                    egress.fanouts.add(id(fanout))
                    egress.mix.add(fanout.subscribe())

    async def _run(self, egress: _Egress) -> None:
        info = egress.info
        info.status = eg.EGRESS_ACTIVE
        info.updated_at = _ns()
        self._emit("egress_started", info)
        try:
            while not egress.stop.is_set() and self._room_open(egress):
                self._attach_tracks(egress)
                egress.mix.flush()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(egress.stop.wait(), POLL_S)
            info.status = eg.EGRESS_ENDING
            size = await egress.mix.finish()
        except MixError as exc:
            log.warning("egress %s failed: %s", info.egress_id, exc)
            await egress.mix.abort()
            info.status = eg.EGRESS_FAILED
            info.error = str(exc)
            info.ended_at = info.updated_at = _ns()
            self._emit("egress_ended", info)
            return
        ended = _ns()
        file_info = eg.FileInfo(
            filename=str(egress.mix.path),
            started_at=info.started_at,
            ended_at=ended,
            duration=int(egress.mix.duration_s * 1e9),
            size=size,
            location=str(egress.mix.path),
        )
        info.file.CopyFrom(file_info)
        info.file_results.append(file_info)
        info.status = eg.EGRESS_COMPLETE
        info.ended_at = info.updated_at = ended
        log.info(
            "egress %s complete: %.2f s, %d bytes", info.egress_id, file_info.duration / 1e9, size
        )
        self._emit("egress_ended", info)

    async def close(self) -> None:
        """End every running egress (their files are completed, as on a room's end)."""
        running = [e for e in self._egresses.values() if e.task is not None and not e.task.done()]
        for egress in running:
            egress.stop.set()
        await asyncio.gather(*(e.task for e in running if e.task), return_exceptions=True)
