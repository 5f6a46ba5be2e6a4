"""``bench.loadgen_side_by_side``'s results: the generator's JSON and the servers' ``loop stats``
records of each run read into figures, and the tables over the repeats."""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

PEER = "peer-db"

Stats = list[tuple[float, float, float]]


def stalls(log_file: Path) -> list[Stats]:
    """Per server run (split at ``call server ready``): its ``loop stats`` records as
    ``(unix time, worst loop lag ms, worst GC pause ms)``."""
    runs: list[Stats] = []
    if not log_file.exists():
        return runs
    for line in log_file.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("msg") == "call server ready":
            runs.append([])
        elif rec.get("msg") == "loop stats" and runs:
            at = datetime.fromisoformat(rec["ts"]).timestamp()
            runs[-1].append((at, rec["loop_lag_max_ms"], rec["gc_pause_max_ms"]))
    return runs


def worst(stats: Stats, calls: tuple[float, float]) -> dict[str, float]:
    """The worst lag and GC pause while the calls ran, and while the sockets connected before
    them. A record covers the ``VOIP_LOOP_WATCH_REPORT_S`` (1 s here) before it: the records
    that end while the calls run count for the calls (the first may hold part of the connect's
    last second; the calls' last part-second is left out, as the generator closes its sockets
    the moment its result is written, and that storm of disconnects, like the shutdown, is not
    what the goal is about; it is reported on its own: ``lag_closing``, the records after the
    calls, up to the server's shutdown)."""
    start, end = calls
    during = [s for s in stats if start < s[0] <= end]
    before = [s for s in stats if s[0] <= start]
    after = [s for s in stats if s[0] > end]
    return {
        "lag": max((s[1] for s in during), default=0.0),
        "gc": max((s[2] for s in during), default=0.0),
        "lag_connect": max((s[1] for s in before), default=0.0),
        "gc_connect": max((s[2] for s in before), default=0.0),
        "lag_closing": max((s[1] for s in after), default=0.0),
    }


def calls_window(res: dict[str, Any]) -> tuple[float, float]:
    """When the generator's calls ran (unix time): its steps' wall time up to its result."""
    end = datetime.fromisoformat(res["date"].replace("Z", "+00:00")).timestamp()
    return end - sum(s["cpu"]["wall_ms"] for s in res["steps"]) / 1000, end


def collect(reps: list[Path], labels: list[str], args: argparse.Namespace) -> dict[Any, Any]:
    """{(label, N, R): [figures per repeat]}; R ``ramp`` for the ramp run."""
    found: dict[Any, Any] = {}
    order = [(n, str(r)) for n in args.users for r in args.rates]
    if args.ramp_users:
        order.append((args.ramp_users, "ramp"))
    for rep in reps:
        for label in [PEER, *labels]:
            logs = stalls(rep / f"{label}.server.log")
            for i, (n, r) in enumerate(order):
                path = rep / f"{label}-N{n}-{'ramp' if r == 'ramp' else 'R' + r}.json"
                if not path.exists():
                    continue
                res = json.loads(path.read_text())
                fig = figures(res, r)
                if label != PEER and i < len(logs):
                    fig.update(worst(logs[i], calls_window(res)))
                found.setdefault((label, n, r), []).append(fig)
    return found


def figures(res: dict[str, Any], rate: str) -> dict[str, Any]:
    setup, steps = res["setup"], res["steps"]
    n = max(1, setup.get("connected") or 1)
    rss0, rss1 = setup.get("server_rss_mb_before"), setup.get("server_rss_mb_after_connect")
    fig: dict[str, Any] = {
        "connect_ms": setup["connect_ms"],
        "rss": rss1,
        "kib_per_socket": (rss1 - rss0) * 1024 / n if rss0 and rss1 else None,
    }
    if rate == "ramp":
        ok = [
            s["rate"]
            for s in steps
            if s["calls"]["completed"] == s["calls"]["attempted"]
            and (s["latency_ms"]["invite_to_incoming"]["p99"] or 1e9) <= 100
        ]
        fig["sustained"] = max(ok, default=0)
        return fig
    s = steps[0]
    fig.update(
        done=s["calls"]["completed"],
        attempted=s["calls"]["attempted"],
        p99=s["latency_ms"]["invite_to_incoming"]["p99"],
        cpu=s["cpu"]["server_cpu_pct"],
        gen_lag=s["loadgen_event_loop_lag_ms"]["p99"],
    )
    return fig


def spread(values: list[float | None], fmt: str = "{:.0f}") -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    mid = fmt.format(statistics.median(vals))
    return mid if len(vals) == 1 else f"{mid} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def ratios(ours: list[dict[str, Any]], peer: list[dict[str, Any]], key: str) -> str:
    """Ours / the peer's of the same repeat (the peer's p99 floored at 5 ms, as judge.py)."""
    floor = 5.0 if key == "p99" else 1.0
    pairs = [(o.get(key), p.get(key)) for o, p in zip(ours, peer, strict=False)]
    vals: list[float | None] = [o / max(floor, p) for o, p in pairs if o is not None and p]
    return spread(vals, "x{:.1f}")


def row(label: str, n: int, r: str, figs: list[dict[str, Any]], peer: list[Any]) -> str:
    """One table row: a server at N connected and rate r, over the repeats."""
    done = ", ".join(f"{f['done']}/{f['attempted']}" for f in figs)
    p99 = spread([f["p99"] for f in figs], "{:.1f}")
    cpu = spread([f["cpu"] for f in figs])
    if label == PEER:
        return f"| {n:,}, {r}/s | {label} | {done} | {p99} | | {cpu} | | | |"
    lag, gcp = spread([f.get("lag") for f in figs]), spread([f.get("gc") for f in figs])
    lag0 = spread([f.get("lag_connect") for f in figs])
    gc0 = spread([f.get("gc_connect") for f in figs])
    closing = spread([f.get("lag_closing") for f in figs])
    rel = ratios(figs, peer, "p99")
    return (
        f"| {n:,}, {r}/s | {label} | {done} | {p99} | {rel} | {cpu} | {lag} / {gcp} "
        f"| {lag0} / {gc0} | {closing} |"
    )


def table(found: dict[Any, Any], labels: list[str], args: argparse.Namespace) -> str:
    head = (
        "| N, set-ups/s | server | done/attempted | invite→incoming p99 ms | p99 / peer "
        "| server CPU % | worst loop lag / GC pause ms, calls | the same, connect "
        "| worst loop lag ms, the N sockets closing |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for n in args.users:
        for r in map(str, args.rates):
            peer = found.get((PEER, n, r), [])
            for label in [PEER, *labels]:
                if figs := found.get((label, n, r), []):
                    rows.append(row(label, n, r, figs, peer))
    return head + "\n".join(rows) + "\n\n" + connect_table(found, labels, args)


def connect_table(found: dict[Any, Any], labels: list[str], args: argparse.Namespace) -> str:
    n = max(args.users)
    r = str(args.rates[0])
    peer = found.get((PEER, n, r), [])
    lines = [
        f"| connect {n:,} sockets | connect ms | / peer | RSS after connect MB | KiB per socket |",
        "|---|---|---|---|---|",
    ]
    for label in [PEER, *labels]:
        figs = found.get((label, n, r), [])
        if figs:
            rel = "" if label == PEER else ratios(figs, peer, "connect_ms")
            lines.append(
                f"| {label} | {spread([f['connect_ms'] for f in figs])} | {rel} "
                f"| {spread([f['rss'] for f in figs])} "
                f"| {spread([f['kib_per_socket'] for f in figs])} |"
            )
    if args.ramp_users:
        lines += [
            "",
            f"| ramp, {args.ramp_users:,} connected | set-ups/s held (p99 ≤ 100 ms, no errors) |",
            "|---|---|",
        ]
        for label in [PEER, *labels]:
            figs = found.get((label, args.ramp_users, "ramp"), [])
            if figs:
                lines.append(f"| {label} | {spread([f['sustained'] for f in figs])} |")
    return "\n".join(lines) + "\n"
