"""``voip-softphone``'s command line (:func:`parse_args`) and the audio it asks for
(:func:`build_audio`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from voip_app.audio.base import AudioInput, AudioOutput
from voip_app.audio.sources import (
    EchoLoop,
    NullSink,
    SilenceSource,
    TeeOutput,
    ToneSource,
    WavFileSink,
    WavFileSource,
)


@dataclass(frozen=True, slots=True)
class Options:
    server: str
    email: str
    password: str
    callee: str | None
    auto_answer: bool
    tone: float | None
    play: Path | None
    record: Path | None
    echo: bool
    devices: bool
    input_device: str | None
    output_device: str | None
    hangup_after: float | None
    mute_after: float | None
    max_calls: int | None
    device_id: str | None
    platform_audio: bool = False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voip-softphone", description="Headless voice calling client (one JSON line per event)"
    )
    parser.add_argument(
        "--server", required=True, help="call server URL, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("command", nargs="*", metavar="call EMAIL", help="place one call")
    parser.add_argument("--auto-answer", action="store_true", help="answer every incoming call")
    audio = parser.add_mutually_exclusive_group()
    audio.add_argument("--tone", type=float, metavar="HZ", help="send a sine tone")
    audio.add_argument("--play", type=Path, metavar="FILE", help="send a 16-bit WAV file")
    audio.add_argument("--echo", action="store_true", help="send back what it hears")
    audio.add_argument("--devices", action="store_true", help="system microphone and speaker")
    audio.add_argument(
        "--platform-audio",
        action="store_true",
        help="system microphone and speaker through the livekit SDK's own device module",
    )
    parser.add_argument("--record", type=Path, metavar="FILE", help="write what it hears (WAV)")
    parser.add_argument("--input-device", help="with --devices: PortAudio input device index")
    parser.add_argument("--output-device", help="with --devices: PortAudio output device index")
    parser.add_argument("--hangup-after", type=float, metavar="S", help="hang up S s after connect")
    parser.add_argument("--mute-after", type=float, metavar="S", help="mute S s after connect")
    parser.add_argument("--max-calls", type=int, metavar="N", help="auto-answer: exit after N")
    parser.add_argument("--device-id", help="stable id of this installation (default: random)")
    return parser


def _callee(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The one command's callee, if a call was asked for; exits on anything else."""
    callee: str | None = None
    if args.command:
        if len(args.command) != 2 or args.command[0] != "call":
            parser.error("the only command is: call EMAIL")
        callee = args.command[1]
    if callee is None and not args.auto_answer:
        parser.error("give `call EMAIL` or --auto-answer")
    if callee is not None and args.auto_answer:
        parser.error("`call EMAIL` and --auto-answer exclude each other")
    return callee


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage message on values out of range."""
    if args.tone is not None and not 0 < args.tone < 24_000:
        parser.error("--tone must be between 0 and 24000 Hz")
    for name in ("hangup_after", "mute_after"):
        value = getattr(args, name)
        if value is not None and value < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.max_calls is not None and args.max_calls < 1:
        parser.error("--max-calls must be at least 1")
    if args.play is not None and not args.play.is_file():
        parser.error(f"--play: no such file: {args.play}")


def parse_args(argv: list[str] | None = None) -> Options:
    """Parse the command line; exits with a usage message on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    callee = _callee(parser, args)
    _check(parser, args)
    return Options(
        server=args.server,
        email=args.email,
        password=args.password,
        callee=callee,
        auto_answer=args.auto_answer,
        tone=args.tone,
        play=args.play,
        record=args.record,
        echo=args.echo,
        devices=args.devices,
        platform_audio=args.platform_audio,
        input_device=args.input_device,
        output_device=args.output_device,
        hangup_after=args.hangup_after,
        mute_after=args.mute_after,
        max_calls=args.max_calls,
        device_id=args.device_id,
    )


def build_audio(options: Options) -> tuple[AudioInput, AudioOutput]:
    """The input and output endpoints the options ask for."""
    if options.devices:
        from voip_app.audio.devices import DeviceAudio

        pair = DeviceAudio(input_device=options.input_device, output_device=options.output_device)
        source: AudioInput = pair.input
        sink: AudioOutput = pair.output
    elif options.echo:
        loop = EchoLoop()
        source, sink = loop, loop
    else:
        if options.tone is not None:
            source = ToneSource(options.tone)
        elif options.play is not None:
            source = WavFileSource(options.play)
        else:
            source = SilenceSource()
        sink = NullSink()
    if options.record is not None:
        recorder = WavFileSink(options.record)
        sink = recorder if isinstance(sink, NullSink) else TeeOutput(sink, recorder)
    return source, sink
