"""``voip-softphone``: argument checks, and real processes calling each other through the stack."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.stack import PASSWORD, Stack, running_stack, tone_of
from voip_app.audio.sources import EchoLoop, NullSink, TeeOutput, ToneSource, WavFileSink, read_wav
from voip_app.softphone import build_audio, parse_args

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


async def run_bot_and_caller(
    stack: Stack, bot_args: list[str], caller_args: list[str]
) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    bot = await asyncio.create_subprocess_exec(
        *softphone(stack, "bob@acme.test", "--auto-answer", "--max-calls", "1", *bot_args),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert bot.stdout is not None
        ready = json.loads(await asyncio.wait_for(bot.stdout.readline(), 30))
        while ready["event"] != "ready":
            ready = json.loads(await asyncio.wait_for(bot.stdout.readline(), 30))
        caller = await asyncio.create_subprocess_exec(
            *softphone(stack, "alice@acme.test", "call", "bob@acme.test", *caller_args),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            out, _ = await asyncio.wait_for(caller.communicate(), 60)
        except TimeoutError:
            caller.kill()  # never left behind; what it said so far tells where it stopped
            said, _ = await caller.communicate()
            raise AssertionError(f"the caller did not finish: {said.decode()}") from None
        bot_out, _ = await asyncio.wait_for(bot.communicate(), 30)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    assert caller.returncode is not None
    return (
        caller.returncode,
        [json.loads(line) for line in out.decode().splitlines()],
        [json.loads(line) for line in bot_out.decode().splitlines()],
    )


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
