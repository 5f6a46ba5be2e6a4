"""The :class:`~voip_app.media.base.MediaSession` on the livekit Python SDK (desktop and tests).

One session is one join: ``connect`` joins the room, publishes the microphone (frames from an
:class:`~voip_app.audio.base.AudioInput`) and plays every remote audio track into an
:class:`~voip_app.audio.base.AudioOutput`. The SDK repairs short network losses on its own
(``Reconnecting`` / ``Reconnected``); a full disconnect is reported as ``Disconnected`` and the
engine rejoins with a fresh token in a new session. Echo cancellation lives with the devices
(:class:`voip_app.audio.devices.DeviceAudio`), where both directions meet. What the room says
is told as media events by :class:`~voip_app.media.room_events.RoomEvents`.

Mute both mutes the published track (the far end sees ``TrackMuted``) and sends digital
silence, so a muted microphone is silent whatever the SFU does with the mute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc

from voip_app.audio.base import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioInput,
    AudioOutput,
    DeviceEndpoint,
    level_of,
)
from voip_app.audio.source_trim import SourceTrim
from voip_app.audio.trace import TRACE
from voip_app.listeners import notify
from voip_app.media.base import (
    AudioDevicesChanged,
    AudioOutputChanged,
    Connected,
    MediaError,
    MediaEvent,
    MediaListener,
)
from voip_app.media.base import (
    AudioOutput as OutputRoute,
)
from voip_app.media.room_events import RoomEvents

log = logging.getLogger(__name__)

SOURCE_QUEUE_MS = 60
"""Capture backlog the SDK may hold: paces unpaced sources (tone, file) in real time."""
CONNECT_TIMEOUT_S = 10.0
RECONNECT_GIVE_UP_S = 10.0
"""How long the SDK may try to repair the link before this session reports ``Disconnected`` (the
engine then rejoins with a fresh token, which also works when the SFU forgot the session)."""

OutputsProvider = Callable[[], list[OutputRoute]]


class LiveKitMediaSession:
    """A :class:`~voip_app.media.base.MediaSession` over ``livekit.rtc.Room``."""

    def __init__(
        self,
        *,
        audio_input: AudioInput,
        audio_output: AudioOutput,
        outputs: OutputsProvider | None = None,
        reconnect_give_up_s: float = RECONNECT_GIVE_UP_S,
    ) -> None:
        self._input = audio_input
        self._output = audio_output
        self._outputs = outputs
        self._events = RoomEvents(self._emit, self._play, give_up_s=reconnect_give_up_s)
        self._listener: MediaListener | None = None
        self._room: rtc.Room | None = None
        self._source: Any = None
        self._track: rtc.LocalAudioTrack | None = None
        self._devices: asyncio.Task[None] | None = None
        self._mic_enabled = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._streams: dict[str, rtc.AudioStream] = {}
        self._levels = [0.0, 0.0]
        self._source_queue_ms = SOURCE_QUEUE_MS
        self.remote_frames = 0
        """Remote audio frames played so far (for tests and benchmarks)."""

    # --- MediaSession ---------------------------------------------------------------------

    def set_listener(self, listener: MediaListener | None) -> None:
        self._listener = listener

    async def connect(self, url: str, token: str) -> None:
        if self._room is not None:
            raise MediaError("This media session is already in use.")
        loop = asyncio.get_running_loop()
        room = rtc.Room(loop=loop)
        self._room = room
        self._events.wire(room)
        options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=CONNECT_TIMEOUT_S)
        # The devices open while the room is joined, not before: PortAudio and PulseAudio take
        # 40-190 ms to open a speaker, the join 150-250 ms (docs/benchmarks.md, *Client*).
        devices = self._devices = loop.create_task(self._start_devices())
        try:
            await room.connect(url, token, options)
            await asyncio.shield(devices)  # the microphone runs before it is published
            source = self._new_source(loop)
            track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
            publish = rtc.TrackPublishOptions(
                source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=False, red=False
            )
            await room.local_participant.publish_track(track, publish)
        except Exception as exc:  # the SDK raises several types; the contract is MediaError
            await self.disconnect()
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise MediaError(f"Could not join the call's audio: {message}") from exc
        self._source, self._track = source, track
        if not self._mic_enabled:
            track.mute()
        if isinstance(source, rtc.AudioSource):
            self._spawn(self._capture(source))
        for participant in room.remote_participants.values():
            for publication in participant.track_publications.values():
                if isinstance(publication.track, rtc.RemoteAudioTrack):
                    self._play(publication.track, participant.identity)
        self._emit(Connected())
        self._emit(self.devices_state())

    async def disconnect(self) -> None:
        self._events.close()
        room, self._room = self._room, None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for stream in list(self._streams.values()):
            with contextlib.suppress(Exception):
                await stream.aclose()
        self._streams.clear()
        if room is not None:
            with contextlib.suppress(Exception):
                await room.disconnect()
        source, self._source = self._source, None
        if source is not None:
            with contextlib.suppress(Exception):
                await self._close_source(source)
        self._track = None
        self._levels = [0.0, 0.0]
        await self._devices_started()
        await self._input.stop()
        await self._output.stop()

    async def set_microphone_enabled(self, enabled: bool) -> None:
        self._mic_enabled = enabled
        track = self._track
        if track is not None:
            if enabled:
                track.unmute()
            else:
                track.mute()

    async def list_audio_outputs(self) -> list[OutputRoute]:
        if self._outputs is None:
            return [OutputRoute(id="default", name="System output", kind="system")]
        try:
            return await asyncio.to_thread(self._outputs)
        except MediaError:
            raise
        except Exception as exc:
            raise MediaError(f"Cannot list the audio outputs: {exc}") from exc

    async def select_audio_output(self, output_id: str) -> None:
        routes = {route.id: route for route in await self.list_audio_outputs()}
        route = routes.get(output_id)
        if route is None:
            raise MediaError("That audio output is not available.")
        if hasattr(self._output, "device_id"):
            await self._output.stop()
            self._output.device_id = output_id
            await self._output.start()
        self._emit(AudioOutputChanged(route))

    def audio_levels(self) -> tuple[float, float]:
        """(sent, heard) RMS levels of the last 10 ms, 0..1 (:class:`LevelMeter`)."""
        return self._levels[0], self._levels[1]

    def devices_state(self) -> AudioDevicesChanged:
        """Whether the microphone and the speaker work now (endpoints without a device always
        do: a tone, a file, a null sink)."""
        return AudioDevicesChanged(
            microphone=getattr(self._input, "available", True),
            speaker=getattr(self._output, "available", True),
        )

    # --- internals ------------------------------------------------------------------------

    def _new_source(self, loop: asyncio.AbstractEventLoop) -> Any:
        """The published track's source: frames pushed from the audio input (a subclass may
        hand the capture to the SDK's own device module)."""
        # A real-time input (a microphone) says how much queue it wants; the SDK's queue holds
        # what a burst of frames puts there for the rest of the call (docs/benchmarks.md).
        self._source_queue_ms = getattr(self._input, "source_queue_ms", SOURCE_QUEUE_MS)
        return rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=self._source_queue_ms, loop=loop)

    async def _close_source(self, source: Any) -> None:
        await source.aclose()

    async def _start_devices(self) -> None:
        """Start the microphone and speaker; one that fails leaves the call without it (the
        session says so), never without the call."""
        for endpoint in (self._output, self._input):
            try:
                await endpoint.start()
            except Exception as exc:  # whatever an endpoint raises, the call goes on
                log.warning("audio device: %s", exc)
        # Listen once both have started: the state at connect is reported whole by connect().
        for endpoint in (self._output, self._input):
            if isinstance(endpoint, DeviceEndpoint):
                endpoint.set_state_listener(self._on_device_state)

    async def _devices_started(self) -> None:
        """Wait for the devices to finish opening, never cancelling them: a stream opened in
        PortAudio's thread after its task was cancelled would never be closed."""
        devices, self._devices = self._devices, None
        if devices is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(devices)

    def _on_device_state(self, available: bool) -> None:
        if self._room is not None and not self._events.closing:
            self._emit(self.devices_state())

    @property
    def microphone_enabled(self) -> bool:
        return self._mic_enabled

    def _play(self, track: rtc.RemoteAudioTrack, identity: str) -> None:
        if track.sid in self._streams or self._events.closing:
            return
        try:
            stream = rtc.AudioStream(
                track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=FRAME_MS
            )
        except AssertionError:
            # The SDK released the track as it was handed over (the room is going away under
            # us: a hang-up or a deleted room racing the subscription). Nothing to play.
            log.info("remote track %s of %s went away before playback", track.sid, identity)
            return
        self._streams[track.sid] = stream
        self._spawn(self._playback(stream))

    async def _playback(self, stream: rtc.AudioStream) -> None:
        async for event in stream:
            pcm = np.frombuffer(event.frame.data, dtype=np.int16)
            for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
                frame = pcm[start : start + FRAME_SAMPLES].copy()
                if TRACE is not None:
                    TRACE.mark("received", frame)
                self._output.write(frame)
                self._levels[1] = level_of(frame)
                self.remote_frames += 1

    async def _capture(self, source: rtc.AudioSource) -> None:
        silent = bytes(FRAME_SAMPLES * 2)
        # a microphone's: the SDK queue's standing frame goes (voip_app.audio.source_trim)
        trim: SourceTrim | None = getattr(self._input, "source_trim", None)
        while True:
            pcm = await self._input.read()
            data = pcm.tobytes() if self._mic_enabled else silent
            self._levels[0] = level_of(pcm) if self._mic_enabled else 0.0
            if trim is not None and trim.skip():
                continue
            started = time.monotonic()
            await source.capture_frame(rtc.AudioFrame(data, SAMPLE_RATE, 1, FRAME_SAMPLES))
            if trim is not None:
                trim.note(time.monotonic() - started)
            if TRACE is not None:
                # in the SDK's queue, which holds it for its queued duration before it is sent
                TRACE.mark("source_in", pcm)
                queued = source.queued_duration if self._source_queue_ms else 0.0
                TRACE.mark("source_out", pcm, time.monotonic() + queued)

    def _emit(self, event: MediaEvent) -> None:
        notify([self._listener], event, log=log, what="media")

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("media task failed", exc_info=t.exception())

        task.add_done_callback(done)
