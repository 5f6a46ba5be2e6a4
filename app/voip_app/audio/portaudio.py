"""PortAudio (sounddevice) for the device endpoints: open, close, list, and see devices change.

PortAudio reads the list of devices once, when it initializes; a device plugged in (or a sound
server started) later stays invisible until it initializes again, which would close every open
stream. So it is initialized again only while no stream of this process is open: before a
missing device is tried again, and before a call's devices are opened. Every PortAudio call goes
through one lock, so that never happens under a stream being opened in another thread.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE
from voip_app.media.base import AudioOutput as OutputDevice
from voip_app.media.base import MediaError

log = logging.getLogger(__name__)


_lock = threading.Lock()
_open_streams = 0


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing (Debian: libportaudio2)
        raise MediaError("No sound system found (PortAudio is not installed).") from exc
    return sounddevice


def _device(device_id: str | None) -> int | str | None:
    if device_id is None or device_id == "":
        return None
    return int(device_id) if device_id.isdigit() else device_id


def _refresh(sd: Any) -> None:
    """Read the devices again when nothing is open (caller holds the lock)."""
    if _open_streams == 0:
        try:
            sd._terminate()
            sd._initialize()
        except Exception as exc:  # sounddevice's PortAudioError or worse: keep the old list
            log.info("PortAudio could not re-read the devices: %s", exc)


def list_devices(kind: str) -> list[OutputDevice]:
    """Input (``kind="input"``) or output devices, read afresh when nothing is open; blocking:
    call it in a thread. Raises :class:`MediaError` without PortAudio."""
    sd = _sd()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    with _lock:
        _refresh(sd)
        found = sd.query_devices()
    return [
        OutputDevice(id=str(index), name=str(info["name"]), kind="system")
        for index, info in enumerate(found)
        if info.get(key, 0) > 0
    ]


def open_stream(
    kind: str,
    device_id: str | None,
    callback: Any,
    *,
    block_samples: int = 2 * FRAME_SAMPLES,
    latency: str | float = "high",
    pulse_latency_ms: int = 0,
) -> Any:
    """Open and start a mono 48 kHz int16 stream (``kind``: ``input`` or ``output``) on
    ``device_id``, or on the system default when that one cannot be opened; blocking.
    ``block_samples``: samples per PortAudio callback; ``latency``: PortAudio's suggested
    latency (``"low"``, ``"high"`` or seconds); ``pulse_latency_ms``: the buffer PulseAudio
    (or PipeWire's PulseAudio server) keeps for this process's streams (0: its own choice).

    Raises :class:`MediaError` (fit to show) when neither opens."""
    global _open_streams
    if pulse_latency_ms > 0:
        # libpulse reads it whenever the ALSA plugin (re)connects a stream, after an underrun
        # too, so it stays set for the process; a value the user set wins.
        os.environ.setdefault("PULSE_LATENCY_MSEC", str(pulse_latency_ms))
    sd = _sd()
    what = "microphone" if kind == "input" else "speaker"
    tries = [device_id, None] if device_id else [None]
    error: Exception | None = None
    with _lock:
        _refresh(sd)
        for device in tries:
            try:
                stream = _start_stream(sd, kind, device, callback, block_samples, latency)
            except (sd.PortAudioError, ValueError) as exc:
                error = exc
                continue
            _open_streams += 1
            if device != device_id:
                log.info("the chosen %s %s is gone; using the system default", what, device_id)
            return stream
    raise MediaError(f"Cannot open the {what}: {error}") from error


def _start_stream(
    sd: Any,
    kind: str,
    device: str | None,
    callback: Any,
    block_samples: int,
    latency: str | float,
) -> Any:
    """One stream on ``device`` (``None``: the default), started; PortAudio's error if not."""
    cls = sd.InputStream if kind == "input" else sd.OutputStream
    stream = cls(
        samplerate=SAMPLE_RATE,
        channels=1,
        dtype="int16",
        blocksize=block_samples,
        latency=latency,
        device=_device(device),
        callback=callback,
    )
    try:
        stream.start()
    except BaseException:
        stream.close()  # opened but not started: it would hold its device until exit
        raise
    return stream


def close_stream(stream: Any) -> None:
    """Abort and close a stream from :func:`open_stream`; blocking, but never on the device.

    Aborted, not stopped: PortAudio's stop drains the output first, a blocking
    ``snd_pcm_drain`` that on PulseAudio's ALSA plugin can wait without end when the sound
    server stalls; the call then never finished hanging up (seen in CI: the softphone still
    running a minute after its hang-up). What was left to play is a few ms of a call that ended.
    """
    global _open_streams
    try:
        try:
            stream.abort()
        finally:
            stream.close()
    except Exception as exc:  # a stream whose device vanished may refuse; it is closed anyway
        log.info("closing an audio stream: %s", exc)
    finally:
        with _lock:
            _open_streams -= 1
