"""``bench.client``'s mouth-to-ear through real devices and the softphones' CPU: a private
PulseAudio daemon with null sinks, two ``voip-softphone`` processes, one measuring stream."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import m2e_parts
from bench.client_bursts import bursts, heard_bursts, playrec
from bench.client_report import pct
from bench.client_variants import MORE_VARIANTS, VARIANTS


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def mouth_to_ear(
    url: str, seconds: float, rounds: int = 1, variants: list[str] | None = None
) -> dict[str, Any]:
    """Per variant (``variants``: their keys, default all): every burst's delay over ``rounds``
    runs, the softphones' own breakdown (``audio_stats``) and each burst's path
    (:mod:`bench.m2e_parts`)."""
    from tests.engine import pulse

    why = pulse.available()
    if why:
        return {"skipped": why}
    sinks = ["alice_mic", "alice_spk", "bob_mic", "bob_spk"]
    every = {**VARIANTS, **MORE_VARIANTS}
    chosen = (
        VARIANTS
        if variants is None
        else {name: extra for name, extra in every.items() if name.split(":")[0] in variants}
    )
    results: dict[str, Any] = {
        name: {"delays": [], "p50s": [], "stats": [], "paths": [], "pulse": []} for name in chosen
    }
    with pulse.running_pulse(sinks) as pa:
        for _ in range(rounds):
            for name, extra in chosen.items():
                entry = results[name]
                run = await _one_run(url, seconds, pa, extra)
                if run.get("void"):  # once more: a void run says nothing about the variant
                    entry["void"] = entry.get("void", 0) + 1
                    run = await _one_run(url, seconds, pa, extra)
                if run.get("void"):
                    entry["void"] += 1
                    continue
                _add_run(entry, run)
    return results


def _add_run(entry: dict[str, Any], run: dict[str, Any]) -> None:
    """Add one run's figures to its variant's."""
    entry["delays"] += run["delays"]
    if run["delays"]:
        entry["p50s"].append(pct(run["delays"], 0.5))
    entry["stats"] += run["stats"]
    entry["paths"] += run["paths"]
    entry["pulse"].append(run["pulse"])
    entry["bursts"] = entry.get("bursts", 0) + run["bursts"]
    for key in ("stream_latency_ms", "cpu_alice", "cpu_bob"):
        entry[key] = run[key]


MAX_STREAM_GAP_S = 2.0
"""A measuring stream whose callbacks stop this long has stalled: its run is void (0.5 s
called runs void that were heard whole: a loaded machine delays callbacks that long)."""

RUN_MARKS = [
    ("alice", "mic_callback"),
    ("alice", "source_in"),
    ("bob", "received"),
    ("bob", "speaker_dac"),
]
"""Stages whose onsets each run counts on stderr: where a run's unheard bursts were lost."""


async def _one_run(url: str, seconds: float, pa: Any, extra: dict[str, str]) -> dict[str, Any]:
    """One call between two softphones with the variant's environment ``extra``, measured."""
    bob = await _phone(
        url, pa, extra, "bob@acme.test", "bob_mic.monitor", "bob_spk", "--auto-answer"
    )
    assert bob.stdout is not None
    while b'"ready"' not in await asyncio.wait_for(bob.stdout.readline(), 30):
        pass
    alice = await _phone(
        url, pa, extra, "alice@acme.test", "alice_mic.monitor", "alice_spk", "call", "bob@acme.test"
    )
    assert alice.stdout is not None
    try:
        measured = await _measure(alice, bob, pa, seconds)
    finally:
        outputs = {"alice": await _stop(alice), "bob": await _stop(bob)}
    stats, marks = _stats_and_marks(outputs)
    if measured["void"]:
        # the measuring stream's own ALSA thread stopped (PortAudio: "ContinuePoll ... failed"):
        # what it played and heard has holes, whatever the softphones did
        print(f"bench: run {extra}: void, the measuring stream stalled", file=sys.stderr)
        return {"void": True}
    onsets, clock = measured["onsets"], measured["clock"]
    heard = heard_bursts(measured["recorded"], onsets)
    _log_run(extra, outputs, stats, marks, f"{len(heard)}/{len(onsets)} heard")
    paths = m2e_parts.burst_paths(clock, heard, marks)
    parts = {k: round(v) for k, v in m2e_parts.part_medians(paths).items()}
    # each run's own parts: a run far from the others says where it went
    print(f"bench: run {extra}: parts {parts}", file=sys.stderr)
    return {
        "delays": [delay for _, delay in heard],
        "paths": paths,
        "pulse": measured["pulse"],
        "bursts": len(onsets),
        "stream_latency_ms": measured["latency"],
        "cpu_alice": measured["cpu"][alice.pid],
        "cpu_bob": measured["cpu"][bob.pid],
        "stats": stats,
    }


def _phone(
    url: str, pa: Any, extra: dict[str, str], email: str, mic: str, spk: str, *args: str
) -> Any:
    """Start a softphone (not awaited) on the virtual devices ``mic`` and ``spk``."""
    flag = extra.get("AUDIO_FLAG", "--devices")
    cmd = [
        *(sys.executable, "-m", "voip_app.softphone", "--server", url),
        *("--email", email, "--password", "demo-password", flag, *args),
    ]
    env = {
        # the variant's own PulseAudio latency only (the app sets it in its process)
        **{k: v for k, v in pa.env(source=mic, sink=spk).items() if k != "PULSE_LATENCY_MSEC"},
        **extra,
        "VOIP_AUDIO_STATS_S": "1",
        "VOIP_AUDIO_TRACE": "1",
    }
    return asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.PIPE)


async def _measure(alice: Any, bob: Any, pa: Any, seconds: float) -> dict[str, Any]:
    """Once the call's media is up: play and record the bursts, read PulseAudio's latencies
    midway, and note each softphone's CPU share meanwhile."""
    while b'"media_connected"' not in await asyncio.wait_for(alice.stdout.readline(), 30):
        pass
    await asyncio.sleep(1.0)  # both jitter buffers settle
    cpu0 = {p.pid: cpu_seconds(p.pid) for p in (alice, bob)}
    wall0 = time.monotonic()
    # the measuring stream: plays into Alice's mic, records Bob's speaker, one clock
    os.environ.update(pa.env(source="bob_spk.monitor", sink="alice_mic"))
    import sounddevice as sd

    signal, onsets = bursts(seconds)
    clock = m2e_parts.StreamClock()
    playing = asyncio.ensure_future(asyncio.to_thread(playrec, sd, signal, clock))
    await asyncio.sleep(seconds / 2)
    pids = {alice.pid: "alice", bob.pid: "bob"}
    pulse_figures = await asyncio.to_thread(m2e_parts.pulse_latencies, pa.pactl, pids)
    recorded, latency = await playing
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(clock.blocks)]
    wall = time.monotonic() - wall0
    return {
        "void": latency < 0 or max(gaps, default=1.0) > MAX_STREAM_GAP_S,
        "cpu": {p.pid: (cpu_seconds(p.pid) - cpu0[p.pid]) / wall for p in (alice, bob)},
        "onsets": onsets,
        "clock": clock,
        "recorded": recorded,
        "latency": latency,
        "pulse": pulse_figures,
    }


async def _stop(proc: Any) -> list[str]:
    """End a softphone; its stdout's lines."""
    if proc.returncode is None:
        proc.terminate()
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    return str(out.decode(errors="replace")).splitlines()


def _stats_and_marks(
    outputs: dict[str, list[str]],
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, float]]]]:
    """Each softphone's last ``audio_stats`` and all its ``audio_trace`` marks."""
    stats = []
    marks: dict[str, list[tuple[str, float]]] = {}
    for who, lines in outputs.items():
        last = [json.loads(x) for x in lines if '"audio_stats"' in x]
        if last:
            stats.append({"who": who, "input": last[-1]["input"], "output": last[-1]["output"]})
        traced = [json.loads(x)["marks"] for x in lines if '"audio_trace"' in x]
        marks[who] = [(stage, float(t)) for batch in traced for stage, t in batch]
    return stats, marks


def _log_run(
    extra: dict[str, str],
    outputs: dict[str, list[str]],
    stats: list[dict[str, Any]],
    marks: dict[str, list[tuple[str, float]]],
    heard: str,
) -> None:
    """A run's speakers, drops and underruns, and where its bursts were seen, on stderr."""
    speakers = {
        s["who"]: {k: s["output"].get(k) for k in ("pushed", "played", "taken", "dropped")}
        for s in stats
    }
    # the drops second by second: a speaker's stream that waits at its start (a private
    # PulseAudio's idle null sink) drops then, not all call
    dropped = {
        who: [json.loads(x)["output"].get("dropped") for x in lines if '"audio_stats"' in x]
        for who, lines in outputs.items()
    }
    underran = {
        who: [json.loads(x)["output"].get("underruns") for x in lines if '"audio_stats"' in x]
        for who, lines in outputs.items()
    }
    print(
        f"bench: run {extra}: speakers {speakers}; dropped by second {dropped}; "
        f"underruns by second {underran}",
        file=sys.stderr,
    )
    seen = {
        f"{who}.{stage}": sum(1 for m in marks[who] if m[0] == stage) for who, stage in RUN_MARKS
    }
    print(f"bench: run {extra}: {heard}; onsets seen {seen}", file=sys.stderr)
