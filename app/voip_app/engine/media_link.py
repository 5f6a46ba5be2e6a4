"""The call's media: one join for joining and rejoining a room, and the media session's news.

:meth:`MediaLink.join` joins with the room token it is given (``accepted``, ``accept``'s ack, a
resumed call), or, without one, fetches fresh tokens (``POST /api/calls/{id}/token``) up to
:data:`REJOIN_ATTEMPTS` times with a backoff on the engine's clock: after the room was lost, or for
an answer whose ``accepted`` went to a connection that is gone. Whatever happens is told to the
call's machine as a trigger; the table decides what it means now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from voip_app.call.machine import Trigger
from voip_app.engine.events import (
    MediaDisconnectedEvent,
    MediaFailedEvent,
    MediaReconnectingEvent,
    PeerJoinedEvent,
    PeerLeftEvent,
    RejoinedEvent,
    RejoiningEvent,
)
from voip_app.engine.media_factory import MediaFactory, MediaPrefs, PreparingFactory
from voip_app.engine.shared import Shared
from voip_app.engine.snapshot import log
from voip_app.errors import RequestRefused, VoipError
from voip_app.media.base import (
    AudioDevicesChanged,
    AudioOutput,
    AudioOutputChanged,
    Connected,
    ConnectionQualityChanged,
    Disconnected,
    LevelMeter,
    MediaError,
    MediaEvent,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)
from voip_contract import RoomToken

REJOIN_ATTEMPTS = 5
"""A lost room is joined again with this many fresh tokens before the call fails."""
REJOIN_FIRST_DELAY_S = 0.5
REJOIN_MAX_DELAY_S = 4.0


Feed = Callable[..., bool]
"""The call's machine as the media link tells it what happened (``CallDriver.feed``)."""
Settle = Callable[[str], Awaitable[None]]
"""Read a call's outcome from the call log (``Recovery.settle_from_log``)."""


class MediaLink:
    """The media session of the call on this device (at most one)."""

    def __init__(self, shared: Shared, factory: MediaFactory) -> None:
        self._out, self._tasks, self._clock = shared.out, shared.tasks, shared.clock
        self._session, self._device_id, self._factory = shared.session, shared.device_id, factory
        self.prefs = MediaPrefs()
        self.media: MediaSession | None = None
        self._feed_machine: Feed | None = None
        self._settle: Settle | None = None

    def attach(self, feed: Feed, settle: Settle) -> None:
        """Whom this link tells (the machine asks this link to join, so it comes second)."""
        self._feed_machine, self._settle = feed, settle

    def _feed(self, trigger: Trigger, error: str | None = None) -> bool:
        assert self._feed_machine is not None, "attach() the call's machine first"
        return self._feed_machine(trigger, error=error)

    # --- joining ----------------------------------------------------------------------------

    def join(self, call_id: str, token: RoomToken | None, on_failure: Trigger) -> None:
        """Leave any session, then join the call's room (a task of the call); ``on_failure`` is
        what the machine hears when joining gives up."""
        self.leave()
        self._tasks.call.spawn(self._join(call_id, token, on_failure))

    async def _join(self, call_id: str, token: RoomToken | None, on_failure: Trigger) -> None:
        if token is not None:
            error = await self._connect(token)
            if error is not None:
                self._out.log(MediaFailedEvent(error=error))
        else:
            error = await self._rejoin(call_id)
        if error is not None:
            self._feed(on_failure, error)

    async def _rejoin(self, call_id: str) -> str | None:
        """Join with fresh tokens, a bounded number of times; the last error, or ``None``."""
        assert self._settle is not None, "attach() the call's machine first"
        delay, error = REJOIN_FIRST_DELAY_S, "media lost"
        for attempt in range(1, REJOIN_ATTEMPTS + 1):
            self._out.log(RejoiningEvent(call_id=call_id, attempt=attempt))
            try:
                token = await self._session.require_api().room_token(
                    call_id, device_id=self._device_id
                )
            except RequestRefused as exc:
                # The call is over (or not mine any more): let the server's word end it.
                await self._settle(call_id)
                return str(exc)
            except VoipError as exc:
                error = str(exc)
            else:
                failed = await self._connect(token)
                if failed is None:
                    self._out.log(RejoinedEvent(call_id=call_id, attempt=attempt))
                    return None
                error = failed
            await self._clock.sleep(delay)
            delay = min(delay * 2, REJOIN_MAX_DELAY_S)
        return error

    async def _connect(self, token: RoomToken) -> str | None:
        """One session joins the room: ``None`` when it did, else why not."""
        media = self._new_session()
        try:
            await media.connect(token.livekit_url, token.token)
        except MediaError as exc:
            if self.media is media:
                self.media = None
            await media.disconnect()
            return str(exc)
        call = self._out.snapshot.call
        if call is not None and call.muted:
            await media.set_microphone_enabled(False)
        if self.media is media:
            self._feed(Trigger.MEDIA_CONNECTED)
        self._tasks.call.spawn(self._load_outputs(media))
        return None

    def _new_session(self) -> MediaSession:
        media = self._factory(self.prefs)
        self.media = media
        media.set_listener(lambda event: self._on_media(media, event))
        return media

    def prepare(self) -> None:
        """A call starts ringing here or there: let the factory get ready for its join."""
        if isinstance(self._factory, PreparingFactory):
            self._factory.prepare()

    def leave(self) -> None:
        """Leave the room in the background (a clean-up: never cancelled)."""
        media, self.media = self.media, None
        if media is not None:
            self._tasks.cleanups.spawn(media.disconnect())

    async def leave_now(self) -> None:
        """Leave the room and wait until left (signing out)."""
        media, self.media = self.media, None
        if media is not None:
            await media.disconnect()

    # --- the session's news -----------------------------------------------------------------

    def _on_media(self, media: MediaSession, event: MediaEvent) -> None:
        call = self._out.snapshot.call
        if media is not self.media or call is None:
            return  # a session already left, or no call any more
        match event:
            case Connected() | Reconnected():
                self._feed(Trigger.MEDIA_RECOVERED)
            case Reconnecting():
                if self._feed(Trigger.MEDIA_RECONNECTING):
                    self._out.log(MediaReconnectingEvent(call_id=call.id))
            case Disconnected(reason=reason):
                self._out.log(MediaDisconnectedEvent(call_id=call.id, reason=reason))
                self._feed(Trigger.MEDIA_LOST)
            case TrackMuted(muted=muted):
                self._out.set_call(replace(call, remote_muted=muted))
            case ConnectionQualityChanged(quality=quality):
                self._out.set_call(replace(call, quality=quality))
            case AudioOutputChanged(output=output):
                self._out.set_call(replace(call, output=output))
            case AudioDevicesChanged(microphone=microphone, speaker=speaker):
                log.info(
                    "call %s: microphone %s, speaker %s",
                    call.id,
                    "ready" if microphone else "missing",
                    "ready" if speaker else "missing",
                )
                self._out.set_call(replace(call, has_microphone=microphone, has_speaker=speaker))
                self._tasks.call.spawn(self._load_outputs(media))
            case ParticipantConnected(identity=identity):
                self._out.log(PeerJoinedEvent(identity=identity))
            case ParticipantDisconnected(identity=identity):
                self._out.log(PeerLeftEvent(identity=identity))

    # --- devices ----------------------------------------------------------------------------

    def levels(self) -> tuple[float, float]:
        """The call's (sent, heard) levels, 0..1; zeros without a call or a meter."""
        media = self.media
        return media.audio_levels() if isinstance(media, LevelMeter) else (0.0, 0.0)

    async def set_muted(self, muted: bool) -> None:
        if self.media is not None:
            await self.media.set_microphone_enabled(not muted)

    async def list_outputs(self) -> tuple[AudioOutput, ...]:
        """The outputs the call's audio can go to (empty outside a call)."""
        if self.media is None:
            return ()
        outputs = tuple(await self.media.list_audio_outputs())
        self._out.update(outputs=outputs)
        return outputs

    async def select_output(self, output_id: str) -> None:
        """Route the call's audio; also the default for the next calls."""
        self.prefs = replace(self.prefs, output_id=output_id)
        if self.media is not None:
            try:
                await self.media.select_audio_output(output_id)
            except MediaError as exc:
                self._out.update(error=str(exc))

    def set_input(self, input_id: str | None) -> None:
        self.prefs = replace(self.prefs, input_id=input_id)

    async def _load_outputs(self, media: MediaSession) -> None:
        try:
            outputs = tuple(await media.list_audio_outputs())
        except MediaError as exc:
            log.info("no audio outputs: %s", exc)
            return
        self._out.update(outputs=outputs)
