"""The floor of this design side by side with the Node peer and the call server (issue 16).

    .venv/bin/python -m bench.loadgen_floor [--users 1000] [--rates 200,400] [--duration 10]
        [--repeats 2] [--ramp-users 1000] [--ramp-rates 10,25,50,100,200,300,400,600]
        [--floor LABEL[:ARG,...]]... [--no-ours] [--ours-from LABEL:CHECKOUT]...

One run of ``shared/loadgen``'s ``bench.sh`` (scratch copy, seeded SQLite and tokens as
:mod:`bench.loadgen_side_by_side` makes them) over three kinds of server, a fresh process each,
interleaved: ``peer`` (``peer.js``, no database: what the floor does, on Node), ``floor``
(:mod:`bench.floor_server`: the call server's transport and settings doing only that) and
``py`` (the call server as configured by default). ``--floor LABEL:ARG,...`` adds a floor with
other arguments (``floor-wsproto:--ws=wsproto``, ``floor-sync:--sync-handlers``);
``--ours-from LABEL:CHECKOUT`` adds the call server of another checkout (its own ``.venv``, the
same seeded database and settings), to compare two versions in one run. Each repeat
runs the servers in the opposite order of the one before. For each server: the highest ramp
rate held (invite→incoming p99 ≤ 100 ms, every call done), and at each fixed rate its p99 and
the server's CPU per set-up (its CPU time over the phase, /proc, divided by the calls started).
The tables go to ``docs/benchmarks.md`` between the ``bench:floor`` markers, with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.docblock import replace_block
from bench.loadgen_results import spread
from bench.loadgen_servers import Backends, Variant, server_command
from bench.loadgen_side_by_side import prepare_loadgen, seed

ROOT = Path(__file__).resolve().parents[1]
BLOCK = "floor"
"""The markers ``<!-- bench:floor -->`` ... (``--block`` names another, for another run)."""
ANCHOR = "## Signaling side by side: what each change did (issue 16)"
PORT, PEER_PORT = 8100, 3102
PEER, FLOOR, OURS = "peer", "floor", "py"


def floor_specs(raw: list[str]) -> list[tuple[str, list[str]]]:
    """``LABEL[:ARG,...]`` -> (label, floor_server arguments); ``floor`` itself comes first."""
    out: list[tuple[str, list[str]]] = [(FLOOR, [])]
    for item in raw:
        label, _, args = item.partition(":")
        out.append((label, [a for a in args.split(",") if a]))
    return out


def specs(gen: Path, out: Path, env: dict[str, str], args: argparse.Namespace) -> list[str]:
    """``bench.sh``'s ``LABEL|PORT|COMMAND`` for every server of the run."""
    q = shlex.quote
    found = [f"{PEER}|{PEER_PORT}|exec node {q(str(gen / 'peer.js'))} --port {PEER_PORT}"]
    secret = q(env["VOIP_JWT_SECRET"])
    for label, extra in floor_specs(args.floor):
        argv = " ".join(q(a) for a in extra)
        cmd = f"cd {q(str(ROOT))} && VOIP_JWT_SECRET={secret} exec .venv/bin/python"
        found.append(f"{label}|{PORT}|{cmd} -m bench.floor_server --port {PORT} {argv}")
    if not args.no_ours:
        ours = server_command(out, env, Variant(OURS, {}), Backends(), PORT)
        found.append(f"{OURS}|{PORT}|{ours}")
    for label, checkout in other_ours(args.ours_from):
        theirs = server_command(out, env, Variant(label, {}), Backends(), PORT)
        here, there = f"cd {q(str(ROOT))} ", f"cd {q(str(checkout))} "
        assert here in theirs
        found.append(f"{label}|{PORT}|{theirs.replace(here, there)}")
    return found


def other_ours(raw: list[str]) -> list[tuple[str, Path]]:
    """``LABEL:CHECKOUT`` -> (label, the checkout's root)."""
    out = []
    for item in raw:
        label, _, path = item.partition(":")
        root = Path(path).resolve()
        if not (root / ".venv" / "bin" / "voip-server").exists():
            raise SystemExit(f"--ours-from {item}: no .venv/bin/voip-server in {root}")
        out.append((label, root))
    return out


def run_repeat(gen: Path, rep: Path, servers: list[str], args: argparse.Namespace) -> None:
    """One pass of ``bench.sh`` over ``servers`` (all on the same seeded users)."""
    rep.mkdir(parents=True, exist_ok=True)
    for spec in servers:
        label = spec.split("|", 1)[0]
        if label != PEER:  # the floor and ours read the same tokens, minted for PORT
            shutil.copy(rep.parent / "tokens-py.json", rep / f"tokens-{label}.json")
    env = {
        **os.environ,
        "USERS": " ".join(map(str, args.users)),
        "RATES": " ".join(map(str, args.rates)),
        "DURATION": str(args.duration),
        "RAMP_USERS": str(args.ramp_users or ""),
        "LOADGEN_ARGS": f"--ramp-rates {args.ramp_rates}",
    }
    subprocess.run([str(gen / "bench.sh"), str(rep), *servers], env=env, check=False)


def ms_per_setup(step: dict[str, Any]) -> float:
    """The server's CPU time over one step (its calls' drain included) / the calls started."""
    cpu = step["cpu"]
    cpu_ms = (cpu["server_cpu_pct"] or 0.0) / 100 * cpu["wall_ms"]
    return float(cpu_ms / max(1, step["calls"]["attempted"]))


def fixed_figures(res: dict[str, Any]) -> dict[str, Any]:
    """One fixed-rate run: calls, p99, the server's CPU % and CPU ms per set-up."""
    s = res["steps"][0]
    calls, cpu = s["calls"], s["cpu"]
    return {
        "done": calls["completed"],
        "attempted": calls["attempted"],
        "errors": sum(calls["errors"].values()),
        "p50": s["latency_ms"]["invite_to_incoming"]["p50"],
        "p99": s["latency_ms"]["invite_to_incoming"]["p99"],
        "cpu": cpu["server_cpu_pct"],
        "ms_per_setup": ms_per_setup(s),
        "gen_lag": s["loadgen_event_loop_lag_ms"]["p99"],
    }


def ramp_figures(res: dict[str, Any]) -> dict[str, Any]:
    """One ramp: the highest rate held (and the CPU per set-up there), and the p99 and calls
    not done of the step that failed."""
    held, held_ms, failed = 0, None, None
    for s in res["steps"]:
        ok = s["calls"]["completed"] == s["calls"]["attempted"] and not s["calls"]["disconnects"]
        p99 = s["latency_ms"]["invite_to_incoming"]["p99"]
        if ok and p99 is not None and p99 <= 100:
            held, held_ms = max(held, s["rate"]), ms_per_setup(s)
        else:
            failed = (s["rate"], p99, s["calls"]["attempted"] - s["calls"]["completed"])
    return {"held": held, "held_ms": held_ms, "failed": failed}


def collect(reps: list[Path], labels: list[str], args: argparse.Namespace) -> dict[Any, Any]:
    """{(label, N, rate or "ramp"): [figures per repeat]}."""
    found: dict[Any, list[dict[str, Any]]] = {}
    for rep in reps:
        for label in labels:
            for n in args.users:
                for r in args.rates:
                    path = rep / f"{label}-N{n}-R{r}.json"
                    if path.exists():
                        res = json.loads(path.read_text())
                        found.setdefault((label, n, r), []).append(fixed_figures(res))
            path = rep / f"{label}-N{args.ramp_users}-ramp.json"
            if args.ramp_users and path.exists():
                res = json.loads(path.read_text())
                found.setdefault((label, args.ramp_users, "ramp"), []).append(ramp_figures(res))
    return found


def ramp_table(found: dict[Any, Any], labels: list[str], args: argparse.Namespace) -> str:
    lines = [
        f"| ramp, {args.ramp_users:,} connected, {args.ramp_rates}/s | held, each repeat "
        "(p99 ≤ 100 ms, every call done) | CPU ms per set-up there "
        "| first step not held: rate, p99 ms, calls not done |",
        "|---|---|---|---|",
    ]
    for label in labels:
        figs = found.get((label, args.ramp_users, "ramp"), [])
        if figs:
            held = ", ".join(f"{f['held']}/s" for f in figs)
            fails = "; ".join(
                f"{f['failed'][0]}/s, {f['failed'][1]}, {f['failed'][2]}" if f["failed"] else "none"
                for f in figs
            )
            cpu = spread([f["held_ms"] for f in figs], "{:.2f}")
            lines.append(f"| {label} | {held} | {cpu} | {fails} |")
    return "\n".join(lines) + "\n"


def fixed_table(found: dict[Any, Any], labels: list[str], args: argparse.Namespace) -> str:
    lines = [
        "| N, set-ups/s | server | done/attempted | invite→incoming p50 / p99 ms "
        "| server CPU % | CPU ms per set-up | / floor's | gen lag p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in args.users:
        for r in args.rates:
            base = found.get((FLOOR, n, r), [])
            for label in labels:
                figs = found.get((label, n, r), [])
                if not figs:
                    continue
                done = ", ".join(f"{f['done']}/{f['attempted']}" for f in figs)
                rel = [
                    f["ms_per_setup"] / b["ms_per_setup"] for f, b in zip(figs, base, strict=False)
                ]
                lines.append(
                    f"| {n:,}, {r}/s | {label} | {done} "
                    f"| {spread([f['p50'] for f in figs], '{:.1f}')} / "
                    f"{spread([f['p99'] for f in figs], '{:.1f}')} "
                    f"| {spread([f['cpu'] for f in figs])} "
                    f"| {spread([f['ms_per_setup'] for f in figs], '{:.2f}')} "
                    f"| {spread(list(rel), 'x{:.2f}')} "
                    f"| {spread([f['gen_lag'] for f in figs], '{:.1f}')} |"
                )
    return "\n".join(lines) + "\n"


def command() -> str:
    """This script's command line."""
    return "python -m bench.loadgen_floor " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def report(body: str, args: argparse.Namespace, load: str, cmd: str) -> str:
    """The section (a sub-section for ``--block`` other than ``floor``): heading, command
    (``cmd``, markdown), machine and load, the tables."""
    head = (
        "## The floor of this design: a bare Socket.IO relay on our stack (issue 16)"
        if args.block == BLOCK
        else f"### {args.title or args.block}"
    )
    return (
        f"{head}\n\n"
        f"Command: {cmd}\n\n"
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, {load} "
        f"(generator and server share the cores); {args.duration} s per step, "
        f"{args.repeats} repeat(s), servers in alternate order: median (min–max). CPU per "
        "set-up: the server's CPU time over the phase (drain included) / the calls started.\n\n"
        + body
    )


def load_text(load0: tuple[float, ...], load1: tuple[float, ...]) -> str:
    """``load average a b c before, d e f after``."""
    return (
        f"load average {' '.join(f'{x:.2f}' for x in load0)} before, "
        f"{' '.join(f'{x:.2f}' for x in load1)} after"
    )


def write_doc(text: str, begin: str, end: str) -> None:
    """Between the markers; a new block goes just before the side-by-side changes section
    (so the profile's block follows the table's)."""
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text()
    if begin not in current and ANCHOR in current:
        head, tail = current.split(ANCHOR, 1)
        doc.write_text(f"{head}{begin}\n{end}\n\n{ANCHOR}{tail}")
    replace_block(begin, end, text, doc)


def arguments() -> argparse.Namespace:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=ints, default=[1000])
    p.add_argument("--rates", type=ints, default=[200, 400])
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--ramp-users", type=int, default=1000)
    p.add_argument("--ramp-rates", default="10,25,50,100,200,300,400,600")
    p.add_argument("--floor", action="append", default=[])
    p.add_argument("--no-ours", action="store_true")
    p.add_argument("--ours-from", action="append", default=[], help="LABEL:CHECKOUT")
    p.add_argument("--loadgen", type=Path, default=ROOT.parent / "shared" / "loadgen")
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-floor"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--from", dest="again", type=Path, help="tabulate this earlier --out again")
    p.add_argument("--block", default=BLOCK, help="docs/benchmarks.md markers bench:BLOCK")
    p.add_argument("--title", default="", help="its heading (a sub-section) if not floor")
    return p.parse_args()


def main() -> None:
    args = arguments()
    labels = [PEER, *(label for label, _ in floor_specs(args.floor))]
    labels += [] if args.no_ours else [OURS]
    labels += [label for label, _ in other_ours(args.ours_from)]
    if args.again:
        reps = sorted(args.again.glob("rep*"))
        saved = args.again / "load.txt"
        load = saved.read_text() if saved.exists() else "load average not recorded by the run"
        ran = args.again / "command.txt"
        again = f"`{command()}`"
        cmd = f"`{ran.read_text().strip()}` (tabulated by {again})" if ran.exists() else again
    else:
        load0 = os.getloadavg()
        gen = prepare_loadgen(args.loadgen, args.scratch)
        out = (args.out or Path(f"/tmp/floor-{int(time.time())}")).resolve()
        out.mkdir(parents=True, exist_ok=True)
        (out / "command.txt").write_text(command())
        cmd = f"`{command()}`"
        env = seed(out, gen, max([*args.users, args.ramp_users]))
        servers = specs(gen, out, env, args)
        reps = [out / f"rep{k}" for k in range(args.repeats)]
        for k, rep in enumerate(reps):
            run_repeat(gen, rep, servers if k % 2 == 0 else servers[::-1], args)
        load = load_text(load0, os.getloadavg())
        (out / "load.txt").write_text(load)
    found = collect(reps, labels, args)
    body = ramp_table(found, labels, args) + "\n" + fixed_table(found, labels, args)
    text = report(body, args, load, cmd)
    print(text)
    if not args.no_doc:
        write_doc(text, f"<!-- bench:{args.block} -->", f"<!-- /bench:{args.block} -->")


if __name__ == "__main__":
    main()
