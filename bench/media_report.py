"""``bench.media``'s table: one-way latency, the capacity steps, and the figures before devsfu
forwarded Opus; writing its section of ``docs/benchmarks.md``."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.docblock import replace_block

# The same command before devsfu forwarded Opus (aiortc's MediaRelay decoded each published
# track and re-encoded it per listener), 2026-11-25 on this 2-CPU machine, load 1.27 before.
BEFORE_P50_MS = 129.0
BEFORE_P99_MS = 139.0
BEFORE_CPU_PER_ROOM = 0.11
BEFORE_LOAD = "1.27 1.25 1.56"

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "media"


@dataclass
class LatencyResult:
    """One-way latency of the matched bursts, ms."""

    sent: int
    matched: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float


@dataclass
class CapacityStep:
    """One step of the capacity run: ``rooms`` two-party rooms up at once."""

    rooms: int
    devsfu_cpu: float  # fraction of one core
    machine_busy: float  # fraction of all cores
    heard: bool

    @property
    def cpu_per_room(self) -> float:
        return self.devsfu_cpu / self.rooms


def table(
    latency: LatencyResult,
    steps: list[CapacityStep],
    cpu_limit: float,
    machine_limit: float,
    load: str,
) -> str:
    """The section's text: both tables and what they add up to."""
    ok = [s for s in steps if s.heard]
    carried = ok[-1].rooms if ok else 0
    light = [s for s in steps if s.machine_busy < 0.8]
    basis = "median of the steps where the machine was below 80% busy"
    if not light:
        light, basis = steps, "median of all steps; the machine was busy throughout"
    per_room = statistics.median(s.cpu_per_room for s in light) if light else 0.0
    last = steps[-1] if steps else None
    why = _why_stopped(last, cpu_limit, machine_limit)
    lines = [
        f"Machine: {os.cpu_count()} CPU ({_cpu_model()}), Python {platform.python_version()}, "
        f"load average before the run {load}; devsfu and all SDK clients share it "
        "(and, here, other work on the machine).",
        "",
        "| one-way audio latency (alice AudioSource -> bob AudioStream) | value |",
        "|---|---|",
        f"| bursts matched | {latency.matched}/{latency.sent} |",
        f"| p50 | {latency.p50_ms:.0f} ms |",
        f"| p99 | {latency.p99_ms:.0f} ms |",
        f"| mean / max | {latency.mean_ms:.0f} ms / {latency.max_ms:.0f} ms |",
        "",
        "| concurrent two-party rooms | devsfu CPU (one core = 100%) | per room "
        "| machine busy (all cores) | tone heard |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {s.rooms} | {s.devsfu_cpu * 100:.0f}% | {s.cpu_per_room * 100:.1f}% "
        f"| {s.machine_busy * 100:.0f}% | {'yes' if s.heard else 'no'} |"
        for s in steps
    ]
    estimate = round(1.0 / per_room) if per_room else 0
    busy = [s for s in steps if s.machine_busy > 0.95]
    saturated_note = (
        " (the whole machine, clients and other work included, was over 95% busy at "
        + ", ".join(str(s.rooms) for s in busy)
        + " rooms)"
        if busy and not (last is not None and last.machine_busy > machine_limit)
        else ""
    )
    lines += [
        "",
        f"Carried with the tone intact: {carried} concurrent two-party room"
        f"{'s' if carried != 1 else ''}; stopped because "
        f"{why}{saturated_note}.",
        "",
        f"devsfu costs about {per_room * 100:.1f}% of a core per two-party room ({basis}); "
        f"it forwards media in one Python thread, so one devsfu process fills a whole core at "
        f"about {estimate} rooms.",
        "",
        _before_and_after(latency, per_room),
    ]
    return "\n".join(lines)


def _why_stopped(last: CapacityStep | None, cpu_limit: float, machine_limit: float) -> str:
    """Why the capacity steps ended at ``last``."""
    if last is None:
        return "no step ran"
    if not last.heard:
        return f"at {last.rooms} rooms the listener no longer heard the tone"
    if last.devsfu_cpu > cpu_limit:
        return f"at {last.rooms} rooms devsfu used more than {cpu_limit * 100:.0f}% of a core"
    if last.machine_busy > machine_limit:
        return (
            f"at {last.rooms} rooms the machine (SDK clients included) was more than "
            f"{machine_limit * 100:.0f}% busy"
        )
    return f"{last.rooms} rooms was the largest step tried"


def _before_and_after(latency: LatencyResult, per_room: float) -> str:
    before_rooms = round(1.0 / BEFORE_CPU_PER_ROOM)
    return (
        "Before devsfu forwarded Opus (it decoded each track and re-encoded it per listener; "
        f"same command, same machine, load average {BEFORE_LOAD} before the run): "
        f"latency p50 {BEFORE_P50_MS:.0f} ms -> {latency.p50_ms:.0f} ms "
        f"(x{latency.p50_ms / BEFORE_P50_MS:.2f}), p99 {BEFORE_P99_MS:.0f} ms -> "
        f"{latency.p99_ms:.0f} ms (x{latency.p99_ms / BEFORE_P99_MS:.2f}); CPU per room "
        f"{BEFORE_CPU_PER_ROOM * 100:.0f}% -> {per_room * 100:.1f}% of a core "
        f"(x{per_room / BEFORE_CPU_PER_ROOM:.2f}); rooms per core about {before_rooms} -> "
        f"{round(1.0 / per_room) if per_room else 0}."
    )


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write_section(body: str, command: str) -> None:
    """Replace (or add) this benchmark's marked section of ``docs/benchmarks.md``."""
    text = f"## Media through devsfu\n\nCommand: `{command}`\n\n{body}\n"
    replace_block(f"<!-- bench:{SECTION} -->", f"<!-- /bench:{SECTION} -->", text, DOC)
