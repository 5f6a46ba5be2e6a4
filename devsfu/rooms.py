"""Rooms and participants: the state devsfu keeps, and the rules LiveKit applies to it.

No network I/O here. The signal session attaches a :class:`devsfu.model.ParticipantLink` to each
participant (how to tell that client something), webhooks go to a :class:`devsfu.model.EventSink`;
timers use the running event loop. The state itself is :mod:`devsfu.model`; what the clients are
told about each other, :mod:`devsfu.updates`.

Rules (as LiveKit applies them):

- a room is created by ``CreateRoom`` or by the first join (auto-create, LiveKit's default;
  with ``auto_create=False`` a join into a room that does not exist is refused); it lives
  until it is deleted, until ``empty_timeout`` passes with nobody having joined, or until
  ``departure_timeout`` passes after the last participant left (LiveKit's defaults, 300 s and
  20 s, apply when a field is 0);
- ``max_participants`` (0 = unlimited) refuses the join that would exceed it;
- a second join with an identity already in the room replaces the first
  (``DUPLICATE_IDENTITY``);
- webhooks: ``room_started``, ``participant_joined``, ``track_published``, ``participant_left``,
  ``room_finished``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from livekit.protocol import models, rtc
from livekit.protocol import room as room_pb

from devsfu import updates
from devsfu.model import (
    EventSink,
    Participant,
    ParticipantLink,
    PublishedTrack,
    Room,
    RoomError,
    new_sid,
    now_ms,
    participant_not_found,
    room_full,
    room_not_found,
    webhook_event,
)

log = logging.getLogger(__name__)

DEFAULT_EMPTY_TIMEOUT_S = 300
DEFAULT_DEPARTURE_TIMEOUT_S = 20


class RoomRegistry:
    """Every room of one devsfu process."""

    def __init__(self, events: EventSink, *, auto_create: bool = True) -> None:
        self.auto_create = auto_create
        self._rooms: dict[str, Room] = {}
        self._events = events
        self._tasks: set[asyncio.Task[None]] = set()

    # -- rooms -----------------------------------------------------------------------------

    def get(self, name: str) -> Room:
        room = self._rooms.get(name)
        if room is None:
            raise room_not_found()
        return room

    def find(self, names: Iterable[str] = ()) -> list[Room]:
        wanted = set(names)
        return [r for r in self._rooms.values() if not wanted or r.name in wanted]

    def create(self, req: room_pb.CreateRoomRequest) -> Room:
        """Create a room, or return the existing one of that name unchanged."""
        if not req.name:
            raise RoomError("invalid_argument", "no room name", 400)
        existing = self._rooms.get(req.name)
        if existing is not None:
            return existing
        room = Room(
            sid=new_sid("RM_"),
            name=req.name,
            empty_timeout=req.empty_timeout or DEFAULT_EMPTY_TIMEOUT_S,
            departure_timeout=req.departure_timeout or DEFAULT_DEPARTURE_TIMEOUT_S,
            max_participants=req.max_participants,
            metadata=req.metadata,
            creation_time_ms=now_ms(),
        )
        self._rooms[room.name] = room
        self._arm(room, room.empty_timeout)
        log.info("room %s (%s) created", room.name, room.sid)
        self._emit("room_started", room)
        return room

    async def delete(self, name: str) -> None:
        """Disconnect everyone (``ROOM_DELETED``) and close the room."""
        room = self.get(name)
        await self._close(room, models.ROOM_DELETED)

    async def close_all(self) -> None:
        for room in list(self._rooms.values()):
            await self._close(room, models.SERVER_SHUTDOWN)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _close(self, room: Room, reason: models.DisconnectReason) -> None:
        if self._rooms.get(room.name) is not room:
            return
        room.cancel_timer()
        del self._rooms[room.name]
        for participant in list(room.participants.values()):
            await self._remove(room, participant, reason, notify_client=True)
        log.info("room %s (%s) finished", room.name, room.sid)
        self._emit("room_finished", room)

    def _arm(self, room: Room, after_s: int) -> None:
        room.cancel_timer()
        loop = asyncio.get_running_loop()
        room.timer = loop.call_later(after_s, self._expire, room)

    def _expire(self, room: Room) -> None:
        room.timer = None
        if room.participants:
            return
        log.info("room %s closes: empty", room.name)
        self._spawn(self._close(room, models.ROOM_CLOSED))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- participants ----------------------------------------------------------------------

    async def join(
        self,
        room_name: str,
        *,
        identity: str,
        name: str,
        metadata: str,
        attributes: dict[str, str],
        can_publish: bool,
        can_subscribe: bool,
        hidden: bool,
        link: ParticipantLink,
    ) -> tuple[Room, Participant]:
        """Add a participant, or raise :class:`RoomError` as :meth:`admit` does."""
        self.admit(room_name, identity)
        room = self._rooms.get(room_name) or self.create(room_pb.CreateRoomRequest(name=room_name))
        previous = room.participants.get(identity)
        if previous is not None:
            await self._remove(room, previous, models.DUPLICATE_IDENTITY, notify_client=True)
        participant = Participant(
            sid=new_sid("PA_"),
            identity=identity,
            name=name,
            metadata=metadata,
            joined_at_ms=now_ms(),
            link=link,
            can_publish=can_publish,
            can_subscribe=can_subscribe,
            hidden=hidden,
            attributes=dict(attributes),
            state=models.ParticipantInfo.ACTIVE,
        )
        room.participants[identity] = participant
        room.cancel_timer()
        log.info("%s (%s) joined room %s", identity, participant.sid, room.name)
        self._emit("participant_joined", room, participant)
        await updates.participant_update(room, participant)
        return room, participant

    def admit(self, room_name: str, identity: str) -> None:
        """Raise :class:`RoomError` if ``identity`` may not join ``room_name`` now: the room is
        full (a rejoin of an identity already inside replaces it, so it counts once), or it does
        not exist and rooms are not auto-created."""
        room = self._rooms.get(room_name)
        if room is None:
            if not self.auto_create:
                raise room_not_found()
            return
        others = [p for p in room.participants.values() if p.identity != identity]
        if room.max_participants and len(others) >= room.max_participants:
            raise room_full()

    def others(self, room: Room, participant: Participant) -> list[Participant]:
        return [p for p in room.participants.values() if p is not participant and not p.hidden]

    async def leave(
        self,
        room: Room,
        participant: Participant,
        reason: models.DisconnectReason = models.CLIENT_INITIATED,
    ) -> None:
        """The client left (or its connection dropped); idempotent."""
        await self._remove(room, participant, reason, notify_client=False)

    async def remove(self, room_name: str, identity: str) -> None:
        """``RemoveParticipant``: disconnect one participant (``PARTICIPANT_REMOVED``)."""
        room = self.get(room_name)
        participant = room.participants.get(identity)
        if participant is None:
            raise participant_not_found()
        await self._remove(room, participant, models.PARTICIPANT_REMOVED, notify_client=True)

    async def _remove(
        self,
        room: Room,
        participant: Participant,
        reason: models.DisconnectReason,
        *,
        notify_client: bool,
    ) -> None:
        if room.participants.get(participant.identity) is not participant:
            return
        del room.participants[participant.identity]
        participant.state = models.ParticipantInfo.DISCONNECTED
        participant.disconnect_reason = reason
        participant.bump()
        log.info("%s (%s) left room %s", participant.identity, participant.sid, room.name)
        self._emit("participant_left", room, participant)
        if notify_client:
            try:
                await participant.link.disconnect(reason)
            except Exception:
                log.exception("could not disconnect %s", participant.identity)
        await updates.participant_update(room, participant)
        if not room.participants and room.name in self._rooms:
            self._arm(room, room.departure_timeout)

    # -- tracks ----------------------------------------------------------------------------

    async def publish(
        self, room: Room, participant: Participant, req: rtc.AddTrackRequest
    ) -> PublishedTrack:
        """Register an announced track (its media may come later; :meth:`track_ready`)."""
        if not participant.can_publish:
            raise RoomError("permission_denied", "does not have permission to publish", 403)
        if req.type != models.AUDIO:
            raise RoomError("unimplemented", "devsfu forwards audio only", 501)
        for track in participant.tracks.values():
            if track.cid == req.cid:
                return track
        track = PublishedTrack(
            sid=new_sid("TR_"),
            cid=req.cid,
            name=req.name,
            type=req.type,
            source=req.source or models.TrackSource.MICROPHONE,
            muted=req.muted,
            mime_type="audio/opus",
        )
        participant.tracks[track.sid] = track
        participant.bump()
        self._emit("track_published", room, participant, track)
        await updates.participant_update(room, participant)
        return track

    async def track_ready(self, room: Room, participant: Participant, track_id: str) -> None:
        """``track_id`` (the cid) can be forwarded (it has its fanout): offer it to the others.

        The signal session calls it once the track is announced, before its media arrives
        (the others' subscriptions are then negotiated while the publisher's media is)."""
        track = next((t for t in participant.tracks.values() if t.cid == track_id), None)
        if track is None:
            log.warning("%s sent media for unannounced track %s", participant.identity, track_id)
            return
        for other in self.others(room, participant):
            if other.can_subscribe:
                await other.link.track_available(participant, track)

    async def set_muted(
        self, room: Room, participant: Participant, track_sid: str, muted: bool
    ) -> None:
        track = participant.tracks.get(track_sid)
        if track is None or track.muted == muted:
            return
        track.muted = muted
        participant.bump()
        await updates.participant_update(room, participant)

    async def quality_changed(
        self, room: Room, participant: Participant, quality: models.ConnectionQuality
    ) -> None:
        """Tell everyone in the room (``participant`` included) its new connection quality."""
        await updates.connection_quality(room, participant, quality)

    # -- webhooks --------------------------------------------------------------------------

    def _emit(
        self,
        event: str,
        room: Room,
        participant: Participant | None = None,
        track: PublishedTrack | None = None,
    ) -> None:
        self._events.emit(webhook_event(event, room, participant, track))
