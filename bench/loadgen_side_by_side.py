"""The call server side by side with the reference peer of ``shared/loadgen``, in one run.

    .venv/bin/python -m bench.loadgen_side_by_side [--users 1000,5000] [--rates 50,200]
        [--duration 10] [--repeats 2] [--ramp-users 1000] [--variant LABEL[:VAR=VALUE,...]]...

Copies ``../shared/loadgen`` to a scratch folder under /tmp (``npm ci`` there once; the shared
folder is never written), seeds one SQLite database with the largest N users and mints their
tokens with ``py_tokens.py``, then runs the generator's ``bench.sh``: for each N and rate, the
peer (``peer-db``) and each variant of this server (default: ``py``, the server as configured by
default), one fresh process each, interleaved; every run of ours starts from a fresh copy of the
seeded database. ``--repeats`` runs the whole matrix again (the machine is shared: the table
gives the median and the range over repeats, and each figure of ours as a ratio to the peer's of
the same repeat). A variant's ``VAR=VALUE`` pairs go to its server's environment, so a change
behind a setting is measured against the default in the same run; ``DB=postgres`` and
``NODES=N`` say how it is deployed (:mod:`bench.loadgen_servers`).

The worst event-loop lag and collector pause of each run of ours come from the server's
``loop stats`` log records (:mod:`server.loopwatch`). The table goes to ``docs/benchmarks.md``
between the ``bench:loadgen`` markers, with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.docblock import replace_block
from bench.loadgen_servers import backends, parse_variants, seed_postgres, server_command

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:loadgen -->", "<!-- /bench:loadgen -->"
PEER = "peer-db"
PORT = 8100


def prepare_loadgen(src: Path, scratch: Path) -> Path:
    """A scratch copy of the generator with its pinned node modules."""
    if not (scratch / "node_modules").is_dir():
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(src, scratch, ignore=shutil.ignore_patterns("node_modules"))
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=scratch, check=True)
    return scratch


def seed(out: Path, gen: Path, users: int) -> dict[str, str]:
    """Migrate and seed ``seed.db``, mint tokens; the environment every server of ours gets."""
    db = out / "seed.db"
    env = {
        "VOIP_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "VOIP_JWT_SECRET": f"bench-secret-for-load-runs-only-{int(time.time())}",
    }
    full = {**os.environ, **env}
    cli = str(ROOT / ".venv" / "bin" / "voip-server")
    subprocess.run([cli, "migrate"], env=full, check=True, capture_output=True)
    subprocess.run([cli, "seed-load", str(users)], env=full, check=True, capture_output=True)
    tokens = out / "tokens-py.json"
    url = f"http://127.0.0.1:{PORT}"
    args = [sys.executable, str(gen / "py_tokens.py"), url, str(users), str(tokens)]
    subprocess.run(args, env=full, check=True, capture_output=True)
    return env


def run_matrix(gen: Path, rep: Path, specs: list[str], args: argparse.Namespace) -> None:
    env = {
        **os.environ,
        "USERS": " ".join(map(str, args.users)),
        "RATES": " ".join(map(str, args.rates)),
        "DURATION": str(args.duration),
        "RAMP_USERS": str(args.ramp_users or ""),
    }
    subprocess.run([str(gen / "bench.sh"), str(rep), *specs], env=env, check=False)


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
    what the goal is about)."""
    start, end = calls
    during = [s for s in stats if start < s[0] <= end]
    before = [s for s in stats if s[0] <= start]
    return {
        "lag": max((s[1] for s in during), default=0.0),
        "gc": max((s[2] for s in during), default=0.0),
        "lag_connect": max((s[1] for s in before), default=0.0),
        "gc_connect": max((s[2] for s in before), default=0.0),
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
        return f"| {n:,}, {r}/s | {label} | {done} | {p99} | | {cpu} | | |"
    lag, gcp = spread([f.get("lag") for f in figs]), spread([f.get("gc") for f in figs])
    lag0 = spread([f.get("lag_connect") for f in figs])
    gc0 = spread([f.get("gc_connect") for f in figs])
    rel = ratios(figs, peer, "p99")
    return (
        f"| {n:,}, {r}/s | {label} | {done} | {p99} | {rel} | {cpu} | {lag} / {gcp} "
        f"| {lag0} / {gc0} |"
    )


def table(found: dict[Any, Any], labels: list[str], args: argparse.Namespace) -> str:
    head = (
        "| N, set-ups/s | server | done/attempted | invite→incoming p99 ms | p99 / peer "
        "| server CPU % | worst loop lag / GC pause ms, calls | the same, connect |\n"
        "|---|---|---|---|---|---|---|---|\n"
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


def write_doc(text: str) -> None:
    replace_block(BEGIN, END, text)


def main() -> None:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=ints, default=[1000, 5000])
    p.add_argument("--rates", type=ints, default=[50, 200])
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--ramp-users", type=int, default=0)
    p.add_argument("--variant", action="append", default=[])
    p.add_argument("--loadgen", type=Path, default=ROOT.parent / "shared" / "loadgen")
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-side"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--from", dest="again", type=Path, help="tabulate this earlier --out again")
    args = p.parse_args()
    variants = parse_variants(args.variant)
    labels = [v.label for v in variants]
    if args.again:
        finish(sorted(args.again.glob("rep*")), labels, args, os.getloadavg())
        return
    gen = prepare_loadgen(args.loadgen, args.scratch)
    out = (args.out or Path(f"/tmp/side-{int(time.time())}")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    users = max([*args.users, args.ramp_users])
    env = seed(out, gen, users)
    with backends(variants) as found:
        if found.postgres is not None:
            seed_postgres(found.postgres, env, users, out, f"http://127.0.0.1:{PORT}")
        specs = [f"{PEER}|3102|exec node {gen}/peer.js --port 3102 --db {out}/peer.sqlite"]
        specs += [f"{v.label}|{PORT}|{server_command(out, env, v, found, PORT)}" for v in variants]
        load0 = os.getloadavg()
        reps: list[Path] = []
        for k in range(args.repeats):
            rep = out / f"rep{k}"
            rep.mkdir(exist_ok=True)
            for v in variants:
                shutil.copy(out / v.tokens, rep / f"tokens-{v.label}.json")
            if k and (reps[0] / f"tokens-{PEER}.json").exists():
                shutil.copy(reps[0] / f"tokens-{PEER}.json", rep / f"tokens-{PEER}.json")
            run_matrix(gen, rep, specs, args)
            reps.append(rep)
    finish(reps, labels, args, load0)


def finish(
    reps: list[Path], labels: list[str], args: argparse.Namespace, load0: tuple[float, ...]
) -> None:
    """Print the table of these repeats and write it to docs/benchmarks.md."""
    text = report(table(collect(reps, labels, args), labels, args), args, load0)
    print(text)
    if not args.no_doc:
        write_doc(text)


def report(body: str, args: argparse.Namespace, load0: tuple[float, ...]) -> str:
    cmd = "python -m bench.loadgen_side_by_side " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load1 = os.getloadavg()
    return (
        "## Signaling side by side with the reference peer (shared/loadgen)\n\n"
        f"Command: `{cmd.strip()}`\n\n"
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in load0)} before, {' '.join(f'{x:.2f}' for x in load1)} "
        f"after (shared with other work); {args.duration} s per run, {args.repeats} repeat(s): "
        "median (min–max); ratios are ours / the peer's of the same repeat.\n\n" + body
    )


if __name__ == "__main__":
    main()
