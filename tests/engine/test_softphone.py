"""``voip-softphone``: argument checks, one in this process against a real call server, and real
processes calling each other through the stack."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.stack import PASSWORD, Stack, no_media, running_stack, tone_of
from tests.engine.waits import in_phase, until
from tests.support.servers import CallServer
from voip_app.audio.sources import EchoLoop, NullSink, TeeOutput, ToneSource, WavFileSink, read_wav
from voip_app.call import Phase
from voip_app.engine import CallEngine
from voip_app.softphone import Softphone, build_audio, parse_args

BASE = ["--server", "http://127.0.0.1:1", "--email", "a@b.c", "--password", "x"]


def test_call_and_auto_answer_parse() -> None:
    options = parse_args([*BASE, "call", "bob@acme.test", "--tone", "440", "--hangup-after", "3"])
    assert options.callee == "bob@acme.test"
    assert options.tone == 440
    assert options.hangup_after == 3
    bot = parse_args([*BASE, "--auto-answer", "--echo", "--record", "x.wav", "--max-calls", "2"])
    assert bot.auto_answer
    assert bot.echo
    assert bot.max_calls == 2


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["call"],
        ["dial", "bob@acme.test"],
        ["call", "bob@acme.test", "--auto-answer"],
        ["--auto-answer", "--tone", "0"],
        ["--auto-answer", "--tone", "440", "--echo"],
        ["--auto-answer", "--hangup-after", "-1"],
        ["--auto-answer", "--max-calls", "0"],
        ["--auto-answer", "--play", "/nonexistent.wav"],
    ],
)
def test_bad_command_lines_are_refused(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        parse_args([*BASE, *extra])
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_audio_endpoints_follow_the_options(tmp_path: Path) -> None:
    source, sink = build_audio(parse_args([*BASE, "--auto-answer", "--tone", "440"]))
    assert isinstance(source, ToneSource)
    assert isinstance(sink, NullSink)
    source, sink = build_audio(
        parse_args([*BASE, "--auto-answer", "--echo", "--record", str(tmp_path / "r.wav")])
    )
    assert isinstance(source, EchoLoop)
    assert isinstance(sink, TeeOutput)
    assert isinstance(sink.outputs[1], WavFileSink)


async def test_a_caller_finishes_even_when_the_history_refresh_after_its_call_fails(
    server: CallServer,
) -> None:
    """The server dies as the call ends, so the history refresh after the call fails: the
    softphone reports it and still exits (it used to wait for a signal that never came)."""
    out = io.StringIO()
    login = ["--server", server.url, "--email", "alice@acme.test", "--password", PASSWORD]
    phone = Softphone(parse_args([*login, "call", "bob@acme.test"]), out=out)
    ended = in_phase(Phase.ENDED)
    # called after the softphone's own listener: the refresh that one schedules at ENDED has
    # not been sent yet when this kills the server
    phone.engine.subscribe(lambda snapshot: server.kill() if ended(snapshot) else None)
    bob = CallEngine(media_factory=no_media, device_id="bob-engine")
    await bob.sign_in(server.url, "bob@acme.test", PASSWORD)
    running = asyncio.create_task(phone.run())
    try:
        await until(bob, in_phase(Phase.INCOMING))
        await bob.decline()
        finished, _ = await asyncio.wait({running}, timeout=20)
        assert finished, f"the softphone did not finish:\n{out.getvalue()}"
    finally:
        running.cancel()  # (a finished one stays as it is)
        await asyncio.gather(running, return_exceptions=True)
        await bob.close()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert running.result() == 2  # declined
    errors = [e["error"] for e in events if e["event"] == "error"]
    assert any("Cannot reach the call server" in error for error in errors), events
    assert events[-1]["event"] == "closed"


def softphone(stack: Stack, email: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voip_app.softphone",
        "--server",
        stack.url,
        "--email",
        email,
        "--password",
        PASSWORD,
        *args,
    ]


class Phone:
    """A ``voip-softphone`` process whose stdout and stderr are collected line by line as they
    come, so that a phone that never finishes can still tell how far it got."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.complaints: list[str] = []
        self._readers = [
            asyncio.create_task(self._read_events()),
            asyncio.create_task(self._read_complaints()),
        ]

    @classmethod
    async def start(cls, stack: Stack, email: str, *args: str) -> Phone:
        proc = await asyncio.create_subprocess_exec(
            *softphone(stack, email, *args),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read_events(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.events.append(json.loads(line))

    async def _read_complaints(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.complaints.append(line.decode(errors="replace").rstrip())

    def said(self) -> str:
        return "\n".join([*map(json.dumps, self.events), *self.complaints])

    async def ready(self, timeout_s: float) -> None:
        async def signed_in() -> None:
            while not any(e["event"] == "ready" for e in self.events):
                if self.proc.returncode is not None:
                    raise AssertionError(f"the phone exited before it was ready:\n{self.said()}")
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(signed_in(), timeout_s)
        except TimeoutError:
            raise AssertionError(
                f"the phone was not ready in {timeout_s}s:\n{self.said()}"
            ) from None

    async def finish(self, timeout_s: float, server: CallServer, peer: Phone | None = None) -> int:
        """Its exit code; a phone still running after ``timeout_s`` is killed, and the failure
        quotes what it and the server said."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"the phone did not finish in {timeout_s}s; it said:\n{self.said()}\n"
                f"its peer said:\n{peer.said() if peer else ''}\n"
                f"the server's log:\n{server.log()}"
            ) from None
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await asyncio.gather(*self._readers)


async def run_bot_and_caller(
    stack: Stack, bot_args: list[str], caller_args: list[str]
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    bot = await Phone.start(stack, "bob@acme.test", "--auto-answer", "--max-calls", "1", *bot_args)
    try:
        await bot.ready(30)
        caller = await Phone.start(stack, "alice@acme.test", "call", "bob@acme.test", *caller_args)
        try:
            code = await caller.finish(60, stack.server, bot)
        finally:
            await caller.kill()
        await bot.finish(30, stack.server)
    finally:
        await bot.kill()
    return code, caller.events, bot.events


@pytest.mark.media
async def test_two_softphones_talk_and_an_echo_bot_echoes(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        heard = tmp_path / "bob.wav"
        code, alice_log, bob_log = await run_bot_and_caller(
            stack, ["--record", str(heard)], ["--tone", "440", "--hangup-after", "3"]
        )
        assert code == 0
        ended = [e for e in alice_log if e["event"] == "ended"]
        assert ended[-1]["status"] == "COMPLETED"
        assert any(e["event"] == "media_connected" for e in bob_log)
        assert bob_log[-1]["event"] == "closed"
        pcm = read_wav(heard)
        hz, level = tone_of(pcm[len(pcm) // 4 : 3 * len(pcm) // 4])
        assert hz == pytest.approx(440, abs=5)
        assert level > -25

        echoed = tmp_path / "alice.wav"
        code, alice_log, _ = await run_bot_and_caller(
            stack,
            ["--echo"],
            ["--tone", "660", "--record", str(echoed), "--hangup-after", "3"],
        )
        assert code == 0
        pcm = read_wav(echoed)
        hz, level = tone_of(pcm[len(pcm) // 2 :])
        assert hz == pytest.approx(660, abs=5)
        assert level > -25
