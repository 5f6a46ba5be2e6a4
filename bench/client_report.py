"""``bench.client``'s tables: answer -> first audio, mouth-to-ear per variant, where it goes, and
part by part (:mod:`bench.m2e_parts`)."""

from __future__ import annotations

import os
import platform
import statistics
from typing import Any

from bench import m2e_parts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(
    answers: dict[str, tuple[list[float], list[float]]],
    inproc_cpu: float,
    m2e: dict[str, Any],
    calls: int,
) -> str:
    """The tables ``bench.client`` prints and writes, as markdown."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, load average at "
        f"the end {load}; server, devsfu and both clients share it.",
        "",
        *_answer_lines(answers, inproc_cpu, calls),
    ]
    if "skipped" in m2e:
        lines.append(f"Mouth-to-ear with devices: skipped ({m2e['skipped']}).")
        return "\n".join(lines)
    lines += _delay_lines(m2e)
    lines += _where_lines(m2e)
    lines += [
        "",
        "Part by part (`VOIP_AUDIO_TRACE`: each stage's onset of each burst, one clock; "
        "`bench/m2e_parts.py`), medians over the bursts, ms:",
        "",
        *m2e_parts.parts_table(m2e),
    ]
    any_entry = next(iter(m2e.values()))
    lines += [
        "",
        f"The measuring stream's own buffers: {any_entry.get('stream_latency_ms', 0):.0f} ms "
        "(in every figure above). Softphone CPU in the last run: caller "
        f"{any_entry.get('cpu_alice', 0):.0%}, callee {any_entry.get('cpu_bob', 0):.0%} of a core.",
    ]
    return "\n".join(lines)


def _answer_lines(
    answers: dict[str, tuple[list[float], list[float]]], inproc_cpu: float, calls: int
) -> list[str]:
    """Answer -> first remote audio, each side, per way of hearing; the in-process CPU."""
    lines = []
    if answers:
        lines += [f"| answer -> first remote audio ({calls} calls) | p50 | max |", "|---|---|---|"]
    rows = [
        (f"{who}{how}", values)
        for how, (callee, caller) in answers.items()
        for who, values in (("callee hears caller", callee), ("caller hears callee", caller))
    ]
    for label, values in rows:
        if values:
            lines.append(f"| {label} | {pct(values, 0.5):.0f} ms | {max(values):.0f} ms |")
        else:
            lines.append(f"| {label} | not heard | |")
    if answers:
        lines += [
            "",
            f"In-process client CPU during a call (tone, no devices): {inproc_cpu:.0%} of a "
            "core per client.",
            "",
        ]
    return lines


def _delay_lines(m2e: dict[str, Any]) -> list[str]:
    """Mouth-to-ear per variant: every burst's delay over all runs, each run's p50, voids."""
    lines = [
        "Mouth-to-ear, PulseAudio devices at both ends (echo cancellation on), variants run in "
        "turns; delays of every burst over all runs, and each run's p50:",
        "",
        "| variant | bursts heard | p50 | p90 / max | p50 of each run |",
        "|---|---|---|---|---|",
    ]
    for name, entry in m2e.items():
        d = entry["delays"]
        runs = ", ".join(f"{x:.0f}" for x in entry["p50s"])
        if d:
            lines.append(
                f"| {name} | {len(d)}/{entry['bursts']} | {pct(d, 0.5):.0f} ms | "
                f"{pct(d, 0.9):.0f} / {max(d):.0f} ms | {runs} |"
            )
        else:
            lines.append(f"| {name} | 0/{entry.get('bursts', 0)} | | | |")
    voids = {name.split(":")[0]: e["void"] for name, e in m2e.items() if e.get("void")}
    if voids:
        lines += [
            "",
            "Runs void and run again (the measuring stream's own ALSA thread stalled, so it "
            f"played and heard nothing for a while): {voids}.",
        ]
    return lines


def _where_lines(m2e: dict[str, Any]) -> list[str]:
    """Where it goes, per variant: the softphones' own figures, mean of both ends."""
    lines = [
        "",
        "Where it goes, per variant (the softphones' own figures, mean of both ends: PortAudio's "
        "reported latency of the stream, the backlog in this process, the callback block):",
        "",
        "| variant | mic: PortAudio + queue + block | speaker: PortAudio + backlog + block "
        "| speaker underruns / frames dropped | capture frames dropped / left out (SDK queue) |",
        "|---|---|---|---|---|",
    ]
    for name, entry in m2e.items():
        ins = [s["input"] for s in entry["stats"]]
        outs = [s["output"] for s in entry["stats"]]
        if not ins:
            lines.append(f"| {name} | no figures | | | |")
            continue

        def mean(parts: list[dict[str, float]], key: str) -> float:
            return statistics.mean(p[key] for p in parts)

        lines.append(
            f"| {name} | {mean(ins, 'portaudio_ms'):.0f} + {mean(ins, 'backlog_ms'):.0f} + "
            f"{mean(ins, 'block_ms'):.0f} ms | {mean(outs, 'portaudio_ms'):.0f} + "
            f"{mean(outs, 'backlog_ms'):.0f} + {mean(outs, 'block_ms'):.0f} ms | "
            f"{sum(o.get('underruns', 0) for o in outs):.0f} / "
            f"{sum(o.get('dropped', 0) for o in outs):.0f} | "
            f"{sum(i.get('dropped', 0) for i in ins):.0f} / "
            f"{sum(i.get('trimmed', 0) for i in ins):.0f} |"
        )
    return lines
