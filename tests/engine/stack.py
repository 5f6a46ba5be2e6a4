"""A real call stack for integration tests: ``voip-server`` (uvicorn, SQLite) + ``voip-devsfu``.

The server listens on 127.0.0.1; devsfu on :data:`tests.support.netns.HOST_A` (WebRTC ignores
loopback), posting its webhooks back to the server. Both run inside the test process's private
network namespace and are stopped at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.servers import CallServer, free_port
from voip_app.audio.base import SAMPLE_RATE, Frame
from voip_app.engine import MediaPrefs
from voip_app.media.base import MediaSession

PASSWORD = "demo-password"
"""Every seeded demo user's (``voip-server seed-demo``)."""


def no_media(prefs: MediaPrefs) -> MediaSession:
    """The media factory of engines whose calls must never get to media."""
    raise AssertionError("no call in these tests gets to media")


@dataclass
class Stack:
    server: CallServer
    sfu: DevSfu

    @property
    def url(self) -> str:
        return self.server.url

    async def events(self, call_id: str) -> list[tuple[str, str]]:
        """``(event, to_status)`` of every ``call_events`` row of a call, in order."""
        from sqlalchemy import select

        from server.db.engine import make_engine, make_sessionmaker
        from server.db.models import CallEvent

        engine = make_engine(self.server.env["VOIP_DATABASE_URL"])
        try:
            async with make_sessionmaker(engine)() as session:
                rows = await session.execute(
                    select(CallEvent.event, CallEvent.to_status)
                    .where(CallEvent.call_id == call_id)
                    .order_by(CallEvent.id)
                )
                return [(event, status) for event, status in rows]
        finally:
            await engine.dispose()


@contextlib.contextmanager
def running_stack(
    workdir: Path, *, ring_timeout_s: float = 30.0, webhooks: bool = True
) -> Iterator[Stack]:
    """``webhooks=False``: devsfu does not tell the server when a participant joins or drops.
    With webhooks on (the default), a dropped participant starts the server's rejoin grace
    (``VOIP_REJOIN_GRACE_S``) and its rejoin ends it, as with LiveKit."""
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/api/livekit/webhook" if webhooks else ""
    with running_devsfu(webhook_url=webhook) as sfu:
        env = {
            "VOIP_LIVEKIT_URL": sfu.url,
            "VOIP_LIVEKIT_API_URL": sfu.http_url,
            "VOIP_LIVEKIT_API_KEY": sfu.api_key,
            "VOIP_LIVEKIT_API_SECRET": sfu.api_secret,
            "VOIP_RING_TIMEOUT_S": str(ring_timeout_s),
        }
        with CallServer.start(workdir, env=env, port=port, seed_demo=True) as server:
            yield Stack(server, sfu)


class CaptureSink:
    """An :class:`~voip_app.audio.base.AudioOutput` keeping every frame in memory, with the
    number of frames heard at each mark (to cut the recording into before/after segments)."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._waiters: list[tuple[int, asyncio.Event]] = []

    async def start(self) -> None:
        return None

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)
        for count, event in self._waiters:
            if len(self.frames) >= count:
                event.set()

    async def reach(self, count: int) -> None:
        """Return once ``count`` frames were heard in all."""
        if len(self.frames) >= count:
            return
        entry = (count, asyncio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        finally:
            self._waiters.remove(entry)

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def mark(self) -> int:
        return len(self.frames)

    def pcm(self, start: int = 0, end: int | None = None) -> Frame:
        chunk = self.frames[start:end]
        return np.concatenate(chunk) if chunk else np.zeros(0, np.int16)


def tone_of(pcm: Frame) -> tuple[float, float]:
    """(dominant frequency in Hz, RMS level in dBFS) of a mono int16 signal."""
    if len(pcm) < SAMPLE_RATE // 10:
        return 0.0, -120.0
    x = pcm.astype(np.float64) / 32768.0
    rms = float(np.sqrt(np.mean(x**2)))
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window))
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    spectrum[freqs < 50] = 0
    peak = float(freqs[int(np.argmax(spectrum))])
    return peak, 20 * np.log10(max(rms, 1e-6))


class CuttableLink:
    """A TCP forwarder in front of devsfu for one client's signal connection; :meth:`cut` drops
    every connection through it and refuses new ones, as a lost network would."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        self.port = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._serve, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        if self._cut:
            self._abort()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def cut(self) -> None:
        self._cut = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._abort()

    def _abort(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # RST, no goodbye
        self._writers.clear()


class RelayLink:
    """A TCP relay in front of the call server for one client (HTTP and signaling alike).

    :meth:`swallow_replies` keeps passing what the client sends but drops everything the server
    sends back (a request arrives, its answer never does); :meth:`reset` drops every connection
    with an RST, as a lost network would, and relays new connections normally again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.host = ""
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._swallow = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1") -> None:
        self._server = await asyncio.start_server(self._serve, host, 0)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]

    def swallow_replies(self) -> None:
        self._swallow = True

    def reset(self) -> None:
        self._swallow = False
        for writer in list(self._writers):
            writer.transport.abort()  # RST, no goodbye
        self._writers.clear()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.reset()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, down: bool) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    if down and self._swallow:
                        continue
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))
        self._writers.discard(writer)
        self._writers.discard(up_writer)
