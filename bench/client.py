"""Client benchmarks: answer -> first audio, mouth-to-ear latency with real devices, client CPU.

    .venv/bin/python -m bench.client            # prints the tables and writes docs/benchmarks.md
    .venv/bin/python -m bench.client --calls 3 --no-write
    .venv/bin/python -m bench.client --calls 10 --rounds 0 --no-write   # the answer only

Everything runs on this machine inside a private network namespace: a real call server
(uvicorn, SQLite), a real devsfu on :data:`tests.support.netns.HOST_A`, real livekit SDK clients.

1. **Answer -> first remote audio**: two in-process :class:`~voip_app.engine.CallEngine` s, each
   sending a tone; from the moment the callee calls ``accept()`` until each side hears the other
   (the first 10 ms frame above -40 dBFS in its output). Repeated ``--calls`` times; then again
   with each side's output also a real speaker (a private PulseAudio's null sink through
   PortAudio, the system default), which the join opens as the app's does.
2. **Mouth-to-ear through real devices**: a private PulseAudio daemon with null sinks; two
   ``voip-softphone --devices`` processes (PortAudio -> ALSA -> PulseAudio, APM echo cancellation
   on). This process plays 1 kHz bursts into Alice's virtual microphone and records Bob's
   virtual speaker with one duplex stream (one clock), so the delay between a burst played and
   heard is the whole one-way path, including this measuring stream's own output and input
   buffers (reported separately).
3. **Client CPU**: user+system CPU of each softphone process while the call of (2) is active,
   as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench.client_answer import answer_to_audio, answer_with_speakers
from bench.client_history import HISTORY
from bench.client_m2e import mouth_to_ear
from bench.client_report import report
from bench.docblock import replace_block
from tests.support import netns

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:client -->", "<!-- /bench:client -->"


def write_section(body: str, command: str) -> None:
    """Replace (or add) the client section of ``docs/benchmarks.md``, with its history."""
    title = "## Client (engine, livekit SDK, devices)"
    replace_block(BEGIN, END, f"{title}\n\nCommand: `{command}`\n\n{body}\n\n{HISTORY}\n", DOC)


async def run(calls: int, seconds: float, rounds: int, variants: list[str] | None = None) -> str:
    """Start the stack, measure what the options ask for, and return the tables."""
    from tests.engine.stack import running_stack

    answers: dict[str, tuple[list[float], list[float]]] = {}
    cpu = 0.0
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        if calls:
            callee, caller, cpu = await answer_to_audio(stack.url, calls)
            answers = {"": (callee, caller), **await answer_with_speakers(stack.url, calls)}
        m2e = (
            await mouth_to_ear(stack.url, seconds, rounds, variants)
            if rounds
            else {"skipped": "0 rounds"}
        )
    return report(answers, cpu, m2e, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="mouth-to-ear bursts")
    parser.add_argument("--rounds", type=int, default=3, help="mouth-to-ear runs per variant")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--variants",
        help="mouth-to-ear variants by key (e.g. A4,N,N60; MORE_VARIANTS too); default VARIANTS",
    )
    args = parser.parse_args()
    variants = args.variants.split(",") if args.variants else None
    if (variants or args.calls == 0) and not args.no_write:
        sys.exit("--variants and --calls 0 measure a part only: use them with --no-write")
    why = netns.enter_private_netns()
    if why is not None:
        sys.exit(f"bench.client needs a private network namespace: {why}")
    body = asyncio.run(run(args.calls, args.seconds, args.rounds, variants))
    print(body)
    if not args.no_write:
        command = "python -m bench.client" + (f" --calls {args.calls}" if args.calls != 5 else "")
        command += f" --rounds {args.rounds}" if args.rounds != 3 else ""
        command += f" --seconds {args.seconds:g}" if args.seconds != 10.0 else ""
        write_section(body, command)
        print(f"bench: wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
