"""``voip-softphone``: the engine without a UI, for bots, demos and tests.

::

    voip-softphone --server URL --email E --password P call bob@acme.test --tone 440 \
        --hangup-after 5
    voip-softphone --server URL --email E --password P --auto-answer --record heard.wav
    voip-softphone --server URL --email E --password P --auto-answer --echo   # echo-test bot

Audio: ``--tone HZ`` or ``--play FILE`` or ``--echo`` (sends back what it hears) or ``--devices``
(the system microphone and speaker, echo-cancelled); otherwise it sends silence. ``--record FILE``
writes what it hears to a WAV file. Every event is one JSON line on stdout
(``{"t": ..., "event": ..., ...}``). A caller exits when its call ends (0 when it was COMPLETED);
an auto-answering bot runs until SIGINT/SIGTERM or ``--max-calls`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from voip_app.audio.sources import (
    EchoLoop,
)
from voip_app.audio.trace import TRACE
from voip_app.call import Phase
from voip_app.engine import CallEngine, EngineEvent, EngineSnapshot, MediaPrefs
from voip_app.errors import VoipError
from voip_app.media.base import MediaSession
from voip_app.softphone_options import Options, build_audio, parse_args
from voip_contract import CallStatus

log = logging.getLogger("voip_app.softphone")


class Softphone:
    """Drives one :class:`CallEngine` as the options say and prints its events."""

    def __init__(self, options: Options, *, out: Any = None) -> None:
        self.options = options
        self._out = out or sys.stdout
        self.source, self.sink = build_audio(options)
        self.engine = CallEngine(media_factory=self._media, device_id=options.device_id)
        self.engine.add_event_listener(self._print)
        self.engine.subscribe(self._on_snapshot)
        self._done = asyncio.Event()
        self._answered = 0
        self._timers: set[asyncio.Task[None]] = set()
        self._last_phase: Phase | None = None
        self.final_status: CallStatus | None = None

    def _media(self, prefs: MediaPrefs) -> MediaSession:
        from voip_app.media.livekit_session import LiveKitMediaSession

        if self.options.platform_audio:
            from voip_app.media.platform_session import PlatformAudioMediaSession

            return PlatformAudioMediaSession(
                input_device=self.options.input_device, output_device=self.options.output_device
            )
        return LiveKitMediaSession(audio_input=self.source, audio_output=self.sink)

    def emit(self, name: str, **data: Any) -> None:
        line = {"t": datetime.now(UTC).isoformat(), "event": name, **data}
        self._out.write(json.dumps(line, default=str) + "\n")
        self._out.flush()

    def _print(self, event: EngineEvent) -> None:
        self.emit(event.name, **event.data)

    def _on_snapshot(self, snapshot: EngineSnapshot) -> None:
        call = snapshot.call
        phase = call.phase if call else None
        if phase is self._last_phase:
            return
        self._last_phase = phase
        if call is None or phase is None:
            return
        if phase is Phase.INCOMING and self.options.auto_answer:
            self._later(0, self.engine.accept())
        elif phase is Phase.ACTIVE:
            stats_every = float(os.environ.get("VOIP_AUDIO_STATS_S") or 0)
            if stats_every > 0:
                self._later(0, self._audio_stats(stats_every))
            if self.options.mute_after is not None:
                self._later(self.options.mute_after, self.engine.set_muted(True))
            if self.options.hangup_after is not None:
                self._later(self.options.hangup_after, self.engine.hang_up())
        elif phase is Phase.ENDED:
            self.final_status = call.status
            self._cancel_timers()
            self._answered += 1 if call.direction == "incoming" else 0
            self._later(0, self._after_call())

    async def _audio_stats(self, every_s: float) -> None:
        """``audio_stats`` lines while the call lasts (``VOIP_AUDIO_STATS_S``: benchmarks)."""
        while True:
            await asyncio.sleep(every_s)
            parts = {"input": self.source, "output": self.sink}
            stats = {name: part.stats() for name, part in parts.items() if hasattr(part, "stats")}
            if stats:
                self.emit("audio_stats", **stats)
            if TRACE is not None:
                self.emit("audio_trace", marks=TRACE.drain())

    async def _after_call(self) -> None:
        """Refresh the history, then dismiss the ended call and finish after the last call,
        whether or not the refresh worked (:meth:`_later` reports its failure)."""
        try:
            await self.engine.refresh_history()
        finally:
            call = self.engine.snapshot.call
            if call is not None and call.phase is Phase.ENDED:
                self.engine.dismiss()
            max_calls = self.options.max_calls
            if self.options.callee is not None or (
                max_calls is not None and self._answered >= max_calls
            ):
                self._done.set()

    def _later(self, delay: float, coro: Any) -> None:
        async def run() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await coro
            except VoipError as exc:
                self.emit("error", error=str(exc))
            except Exception as exc:  # an illegal transition: the call moved on meanwhile
                self.emit("ignored", error=str(exc))

        task = asyncio.get_running_loop().create_task(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    def _cancel_timers(self) -> None:
        current = asyncio.current_task()
        for task in list(self._timers):
            if task is not current:
                task.cancel()

    async def run(self) -> int:
        """Sign in, call or wait, and return the exit code."""
        try:
            user = await self.engine.sign_in(
                self.options.server, self.options.email, self.options.password
            )
        except VoipError as exc:
            self.emit("error", error=str(exc))
            await self.close()
            return 1
        self.emit("ready", user_id=user.id, email=user.email)
        try:
            if self.options.callee is not None:
                callee_id = await self._find(self.options.callee)
                if callee_id is None:
                    self.emit("error", error=f"No contact {self.options.callee} in your tenant.")
                    return 1
                await self.engine.call(callee_id)
            await self._done.wait()
        finally:
            await self.close()
        if self.options.callee is None:
            return 0
        return 0 if self.final_status is CallStatus.COMPLETED else 2

    async def _find(self, email: str) -> str | None:
        contacts = await self.engine.refresh_contacts(email)
        for contact in contacts:
            if contact.email.lower() == email.lower():
                return contact.id
        return None

    def stop(self) -> None:
        self._done.set()

    async def close(self) -> None:
        self._cancel_timers()
        if self._timers:
            await asyncio.gather(*self._timers, return_exceptions=True)
        await self.engine.close()
        await self.source.aclose()
        if not isinstance(self.sink, EchoLoop):  # an echo loop is the source too
            await self.sink.aclose()
        self.emit("closed")


async def _main(options: Options) -> int:
    phone = Softphone(options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, phone.stop)
    return await phone.run()


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``voip-softphone``."""
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(_main(options)))


if __name__ == "__main__":
    main()


__all__ = ["Options", "Softphone", "build_audio", "main", "parse_args"]
