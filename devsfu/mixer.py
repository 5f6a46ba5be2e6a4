"""The audio of a room composite egress: every published track decoded, mixed, encoded to Ogg/Opus.

Each input is one subscriber leg of a published track (:meth:`devsfu.forward.OpusFanout.subscribe`):
its Opus packets are decoded (PyAV) and placed on the recording's timeline by RTP timestamp,
anchored at the wall-clock moment the track's first packet arrived after the recording began.
So a pause (mute, DTX) stays a pause and a track that starts late starts late in the file.

The mix is written as it goes, :data:`LAG_S` behind real time (packets that arrive later than
that are dropped, as a receiver's jitter buffer would), in 20 ms Opus frames, into ``<path>.part``,
renamed to ``path`` (mode 0600) when the recording ends: a file under its final name is complete.
Memory stays at a few seconds of samples per track, whatever the length of the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from devsfu.forward import ForwardedTrack

log = logging.getLogger(__name__)

RATE = 48_000
FRAME = 960  # 20 ms: the Opus frame written
LAG_S = 0.5
_TIME_BASE = Fraction(1, RATE)


class MixError(Exception):
    """The recording could not be written (its output, or PyAV, failed)."""


class _Input:
    """One track's decoded samples not yet mixed, positioned on the recording's timeline."""

    def __init__(self, leg: ForwardedTrack, anchor: Callable[[], int]) -> None:
        self.leg = leg
        self._anchor = anchor  # the timeline position (in samples) of "now"
        self._decoder: Any = av.CodecContext.create("opus", "r")
        self._decoder.sample_rate = RATE
        self._decoder.layout = "mono"
        self._first: tuple[int, int] | None = None  # (rtp ts, timeline position)
        self.base = 0  # timeline position of pending[0]
        self.pending = np.zeros(0, dtype=np.float32)

    def add(self, packet: av.Packet[Any]) -> None:
        ts = int(packet.pts or 0)
        if self._first is None:
            self._first = (ts, self._anchor())
        first_ts, first_pos = self._first
        position = first_pos + ((ts - first_ts) & 0xFFFFFFFF)
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as exc:  # one corrupt packet: conceal it as silence
            log.debug("undecodable packet: %s", exc)
            return
        for frame in frames:
            samples = frame.to_ndarray().astype(np.float32)
            mono = samples.mean(axis=0) if samples.ndim == 2 else samples
            if frame.format.name.startswith("s16"):
                mono = mono / 32768.0
            self._place(position, mono)
            position += mono.size

    def _place(self, position: int, samples: np.ndarray) -> None:
        offset = position - self.base
        if offset < 0:  # too late: that part of the timeline is written already
            samples = samples[-offset:]
            offset = 0
        if samples.size == 0:
            return
        end = offset + samples.size
        if end > self.pending.size:
            self.pending = np.concatenate(
                [self.pending, np.zeros(end - self.pending.size, dtype=np.float32)]
            )
        self.pending[offset:end] += samples

    def take(self, upto: int) -> np.ndarray:
        """Samples ``[base, upto)`` (zeros where nothing arrived); the timeline moves on."""
        n = upto - self.base
        out = np.zeros(n, dtype=np.float32)
        have = min(n, self.pending.size)
        out[:have] = self.pending[:have]
        self.pending = self.pending[have:]
        self.base = upto
        return out


class RoomMix:
    """One recording file: add legs with :meth:`add`, then :meth:`finish` (or :meth:`abort`)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._part = path.with_name(path.name + ".part")
        self._clock = clock
        self.started_at = clock()
        self.written = 0  # samples encoded so far
        self._inputs: list[_Input] = []
        self._readers: set[asyncio.Task[None]] = set()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            self._container: Any = av.open(str(self._part), "w", format="ogg")
            self._stream: Any = self._container.add_stream("libopus", rate=RATE, layout="mono")
        except (OSError, av.FFmpegError) as exc:
            raise MixError(f"cannot write {path}: {exc}") from exc

    def _now(self) -> int:
        return int((self._clock() - self.started_at) * RATE)

    def add(self, leg: ForwardedTrack) -> None:
        """Mix this leg's packets from now on."""
        source = _Input(leg, self._now)
        source.base = self.written
        self._inputs.append(source)
        task = asyncio.get_running_loop().create_task(self._read(source))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, source: _Input) -> None:
        with contextlib.suppress(Exception):  # MediaStreamError: the publisher is gone
            while True:
                source.add(await source.leg.recv())

    def flush(self, final: bool = False) -> None:
        """Encode the timeline up to :data:`LAG_S` ago (everything, when ``final``)."""
        upto = self._now() - (0 if final else int(LAG_S * RATE))
        upto = self.written + (upto - self.written) // FRAME * FRAME
        if upto <= self.written:
            return
        mix = np.zeros(upto - self.written, dtype=np.float32)
        for source in self._inputs:
            mix += source.take(upto)
        pcm = (np.clip(mix, -1.0, 1.0) * 32767).astype(np.int16)
        try:
            for start in range(0, pcm.size, FRAME):
                frame = av.AudioFrame.from_ndarray(
                    pcm[None, start : start + FRAME], format="s16", layout="mono"
                )
                frame.sample_rate = RATE
                frame.pts = self.written + start
                frame.time_base = _TIME_BASE
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
        except (OSError, av.FFmpegError) as exc:
            raise MixError(f"cannot write {self.path}: {exc}") from exc
        self.written = upto

    async def _stop_readers(self) -> None:
        for source in self._inputs:
            source.leg.stop()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def finish(self) -> int:
        """Write what remains, close the file under its final name; its size in bytes."""
        await self._stop_readers()
        self.flush(final=True)
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            os.replace(self._part, self.path)
            os.chmod(self.path, 0o600)
            return self.path.stat().st_size
        except (OSError, av.FFmpegError) as exc:
            raise MixError(f"cannot finish {self.path}: {exc}") from exc

    async def abort(self) -> None:
        """Stop and remove the partial file."""
        await self._stop_readers()
        with contextlib.suppress(Exception):
            self._container.close()
        with contextlib.suppress(OSError):
            self._part.unlink()

    @property
    def duration_s(self) -> float:
        return self.written / RATE
