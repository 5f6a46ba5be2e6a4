"""The table of :mod:`bench.floor_profile` run on the floor and on our server side by side:
each group's ms of CPU per set-up (py-spy samples × 5 ms / the calls started) for each."""

from __future__ import annotations

from collections import Counter
from typing import Any

BEGIN, END = "<!-- bench:floor-profile-ours -->", "<!-- /bench:floor-profile-ours -->"
TITLE = "### Where our server's CPU above the floor goes (py-spy, the floor and ours in one run)"


def _calls(result: dict[str, Any]) -> int:
    return max(1, int(result["steps"][0]["calls"]["attempted"]))


def section(
    head: str, counts: dict[str, Counter[str]], results: dict[str, dict[str, Any]], hz: int
) -> str:
    """The block: the command, a row per group (ms per set-up per server, and ours − the
    floor's when both ran), the collector's time, the generator's figures."""
    labels = sorted(counts, key=lambda label: label != "floor")  # the floor's column first
    ms = {
        label: {g: n * 1000 / hz / _calls(results[label]) for g, n in c.items()}
        for label, c in counts.items()
    }
    groups = sorted(
        {g for c in counts.values() for g in c}, key=lambda g: -ms[labels[-1]].get(g, 0)
    )
    both = len(labels) == 2
    cols = [f"{label} ms per set-up" for label in labels] + (["difference"] if both else [])
    lines = [f"| group | {' | '.join(cols)} |", "|---" * (len(cols) + 1) + "|"]
    for g in groups:
        row = [ms[label].get(g, 0.0) for label in labels]
        cells = [f"{x:.3f}" for x in row] + ([f"{row[1] - row[0]:+.3f}"] if both else [])
        lines.append(f"| {g} | {' | '.join(cells)} |")
    total = [sum(ms[label].values()) for label in labels]
    cells = [f"**{x:.2f}**" for x in total] + ([f"**{total[1] - total[0]:+.2f}**"] if both else [])
    lines.append(f"| **all samples** | {' | '.join(cells)} |")
    gc_ms = [
        1000 * results[lb].get("gc", {}).get("seconds", 0.0) / _calls(results[lb]) for lb in labels
    ]
    cells = [f"{x:.3f}" for x in gc_ms] + ([f"{gc_ms[1] - gc_ms[0]:+.3f}"] if both else [])
    lines.append(
        f"| of which the collector (gc.callbacks; spread over the rows) | {' | '.join(cells)} |"
    )
    runs = []
    for label in labels:
        step = results[label]["steps"][0]
        lat = step["latency_ms"]["invite_to_incoming"]
        gc = results[label].get("gc", {})
        runs.append(
            f"{label}: {step['calls']['completed']}/{_calls(results[label])} done, "
            f"invite→incoming p50 {lat['p50']} ms, p99 {lat['p99']} ms, server CPU "
            f"{step['cpu']['server_cpu_pct']} % (profiled), {gc.get('collections', 0)} collections"
        )
    return (
        f"{TITLE}\n\n{head}Grouping: `bench/profile_groups.py`.\n\n"
        + "\n".join(lines)
        + "\n\nThe generator: "
        + "; ".join(runs)
        + ".\n"
    )
