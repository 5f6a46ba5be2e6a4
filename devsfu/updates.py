"""What the clients in a room are told about each other, each through its participant's link:
participant updates and connection quality. A client that cannot be told is logged and the
others are told all the same."""

from __future__ import annotations

import logging

from livekit.protocol import models, rtc

from devsfu.model import Participant, Room

# The lines keep the logger name they had before this module was split from the rooms.
log = logging.getLogger("devsfu.rooms")


async def participant_update(room: Room, about: Participant) -> None:
    """Tell everyone else in ``room`` what ``about`` is now (a hidden participant: nobody)."""
    if about.hidden:
        return
    info = about.info()
    for other in list(room.participants.values()):
        if other is about:
            continue
        try:
            await other.link.send_participant_updates([info])
        except Exception:
            log.exception("could not update %s", other.identity)


async def connection_quality(
    room: Room, participant: Participant, quality: models.ConnectionQuality
) -> None:
    """Tell everyone in ``room`` (``participant`` included) its connection quality."""
    info = rtc.ConnectionQualityInfo(participant_sid=participant.sid, quality=quality)
    for member in list(room.participants.values()):
        try:
            await member.link.send_connection_quality([info])
        except Exception:
            log.exception("could not send connection quality to %s", member.identity)
