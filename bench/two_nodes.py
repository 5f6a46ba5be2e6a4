"""What a second node costs: one call server process against two over Redis, same load.

    .venv/bin/python -m bench.two_nodes [--users 1000] [--rates 25,100] [--duration 20]
        [--repeats 3] [--out DIR] [--no-doc]

Issue 16 asks that two nodes carry close to twice one node's sustained rate. On a machine with
two cores shared by both nodes, PostgreSQL, Redis and the generator that cannot be shown by
saturating them; what can be measured is the price of the second node below saturation: the
CPU of *all* server processes per call set-up, one node against two, at a rate neither is near
its limit (alternated, a fresh process, a fresh copy of the seeded PostgreSQL database and an
empty Redis per run). If two nodes spend k times one node's CPU per set-up, two nodes, each
with a core of its own, carry about 2/k times one node's rate. Also per set-up: the messages
published to Redis (``INFO commandstats``) and Redis's own CPU.

The table goes to ``docs/benchmarks.md`` between the ``bench:two-nodes`` markers.

``--per-node``: the comparison at equal load per node instead. For each rate r, one node
carries r set-ups/s with half the users connected, and two nodes carry 2r with all of them:
each of the two then has the one node's load, plus what being two costs (Redis: the publishes,
every node decoding every emit, the watch counts). If the two spend k times twice the one's
CPU, two nodes, each with a core of its own, saturate at about 2/k times the one node's rate
(the rate effect, a node's CPU per set-up falling as its rate rises, is the same on both sides
of that ratio). Between the ``bench:two-nodes-per-node`` markers. ``--before CHECKOUT`` adds
that checkout's two nodes (``two-before``), against the same one node.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from bench.docblock import replace_block
from bench.loadgen_results import spread
from bench.loadgen_servers import (
    Variant,
    backends,
    parse_variants,
    seed_postgres,
    server_command,
)
from bench.loadgen_side_by_side import prepare_loadgen, seed

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:two-nodes -->", "<!-- /bench:two-nodes -->"
PER_NODE = "<!-- bench:two-nodes-per-node -->", "<!-- /bench:two-nodes-per-node -->"
PORT = 8200
VARIANTS = ["one:DB=postgres", "two:DB=postgres,NODES=2"]


def listeners(port: int, want: int, timeout_s: float = 60.0) -> list[int]:
    """The pids of the ``want`` processes listening on ``port`` (SO_REUSEPORT: several)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True)
        pids = sorted({int(x.split(",")[0]) for x in out.stdout.split("pid=")[1:]})
        if len(pids) >= want:
            return pids
        time.sleep(0.2)
    raise RuntimeError(f"{want} servers did not listen on :{port} in {timeout_s} s")


class RedisMeter:
    """Messages published to redis-server and its CPU time, between two readings."""

    def __init__(self, url: str | None, pid: int | None) -> None:
        self._client = redis.Redis.from_url(url) if url else None
        self._pid = pid
        self._start = (0, 0.0)

    def _read(self) -> tuple[int, float]:
        if self._client is None or self._pid is None:
            return 0, 0.0
        stats = self._client.info("commandstats").get("cmdstat_publish", {})
        fields = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(stats.get("calls", 0)), (int(fields[11]) + int(fields[12])) * 10.0

    def start(self) -> None:
        self._start = self._read()

    def since_start(self) -> tuple[int, float]:
        published, cpu_ms = self._read()
        return published - self._start[0], cpu_ms - self._start[1]


def generate(
    gen: Path,
    out: Path,
    name: str,
    pids: list[int],
    meter: RedisMeter,
    rate: int,
    users: int,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], tuple[int, float]]:
    """Run the generator once; its calls phase, and Redis's figures over that phase (read when
    the generator's log says the phase starts and when it says how it went)."""
    command = [
        "node", str(gen / "loadgen.js"), "--url", f"http://127.0.0.1:{PORT}",
        "--server-pid", ",".join(map(str, pids)), "--users", str(users),
        "--rate", str(rate), "--duration", str(args.duration),
        "--tokens", str(out / "tokens-pg.json"), "--out", str(out / f"{name}.json"),
    ]  # fmt: skip
    with open(out / f"{name}.stdout", "wb") as stdout:
        proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        redis_phase = (0, 0.0)
        for line in proc.stderr:
            if "for " in line and "rate " in line:
                meter.start()
            elif " done, p99 " in line:
                redis_phase = meter.since_start()
        if proc.wait() != 0:
            raise RuntimeError(f"loadgen failed: {name}")
    step = json.loads((out / f"{name}.json").read_text())["steps"][0]
    return step, redis_phase


def one_run(
    gen: Path,
    out: Path,
    name: str,
    variant: Variant,
    command: str,
    meter: RedisMeter,
    rate: int,
    users: int,
    args: argparse.Namespace,
) -> dict[str, float]:
    """Start the server(s), run the generator once at ``rate``, stop them; this run's figures."""
    with open(out / f"{name}.server.log", "ab") as log:
        group = subprocess.Popen(["setsid", "bash", "-c", command], stdout=log, stderr=log)
    try:
        pids = listeners(PORT, variant.nodes)
        step, (published, redis_ms) = generate(gen, out, name, pids, meter, rate, users, args)
    finally:
        os.killpg(group.pid, signal.SIGTERM)
        group.wait(timeout=30)
        time.sleep(1)
    done = max(int(step["calls"]["completed"]), 1)
    seconds = step["cpu"]["wall_ms"] / 1000
    latency = step["latency_ms"]["invite_to_incoming"]
    return {
        "done": step["calls"]["completed"],
        "attempted": step["calls"]["attempted"],
        "p50": latency["p50"],
        "p99": latency["p99"],
        "cpu_total_ms": step["cpu"]["server_cpu_pct"] * 10 * seconds,
        "cpu_ms": step["cpu"]["server_cpu_pct"] * 10 * seconds / done,
        "cpu_pct": step["cpu"]["server_cpu_pct"],
        "published": published / done,
        "redis_ms": redis_ms / done,
    }


Runs = dict[tuple[str, int], list[dict[str, float]]]


def run_all(args: argparse.Namespace) -> Runs:
    """Seed once, then every variant at every rate, alternated, ``--repeats`` times."""
    gen = prepare_loadgen(args.loadgen, args.scratch)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = seed(out, gen, args.users)
    extra = [f"two-before:DB=postgres,NODES=2,FROM={args.before}"] if args.before else []
    variants = parse_variants(VARIANTS + extra)
    runs: Runs = {}
    with backends(variants) as found:
        assert found.postgres is not None
        assert found.redis is not None
        seed_postgres(found.postgres, env, args.users, out, f"http://127.0.0.1:{PORT}")
        redis_pid = found.redis.proc.pid if found.redis.proc else None
        for k in range(args.repeats):
            for base in args.rates:
                for v in variants:
                    rate, users = load_of(v, base, args)
                    meter = RedisMeter(found.redis.url if v.nodes > 1 else None, redis_pid)
                    command = server_command(out, env, v, found, PORT)
                    name = f"{v.label}-R{rate}-{k}"
                    result = one_run(gen, out, name, v, command, meter, rate, users, args)
                    runs.setdefault((v.label, rate), []).append(result)
                    print(name, result, flush=True)
    return runs


def load_of(variant: Variant, rate: int, args: argparse.Namespace) -> tuple[int, int]:
    """The set-ups/s and users ``variant`` runs with for the row of ``rate``: as given, or with
    ``--per-node``, the one node at half the users, the two at twice the rate."""
    if not args.per_node:
        return rate, args.users
    return (rate * 2, args.users) if variant.nodes > 1 else (rate, args.users // 2)


def med(values: list[float]) -> str:
    """Median (min–max), one decimal."""
    return spread(list(values), "{:.1f}")


def marginal(lo: list[dict[str, float]], hi: list[dict[str, float]]) -> list[float]:
    """CPU ms of one more set-up, per repeat: the rise of the phase's CPU from the low rate to
    the high one over the rise of the set-ups done (what the nodes spend whatever the load,
    heartbeats and periodic tasks, drops out)."""
    return [
        (b["cpu_total_ms"] - a["cpu_total_ms"]) / max(b["done"] - a["done"], 1)
        for a, b in zip(lo, hi, strict=True)
    ]


def table(runs: Runs, rates: list[int]) -> str:
    """One row per variant and rate (medians over the repeats); then the marginal CPU per set-up
    of each variant and their ratio."""
    head = (
        "| server, set-ups/s | done/attempted | invite→incoming p50 / p99 ms | server CPU ms "
        "per set-up (all nodes) | Redis messages per set-up | Redis CPU ms per set-up |\n"
        "|---|---|---|---|---|---|\n"
    )
    rows = []
    for (label, rate), rs in runs.items():
        done = f"{sum(int(r['done']) for r in rs)}/{sum(int(r['attempted']) for r in rs)}"
        latency = f"{med([r['p50'] for r in rs])} / {med([r['p99'] for r in rs])}"
        cells = [med([r[k] for r in rs]) for k in ("cpu_ms", "published", "redis_ms")]
        rows.append(f"| {label}, {rate}/s | {done} | {latency} | {' | '.join(cells)} |")
    lo, hi = min(rates), max(rates)
    one = marginal(runs["one", lo], runs["one", hi])
    two = marginal(runs["two", lo], runs["two", hi])
    ratio = statistics.median(two) / statistics.median(one)
    return (
        head
        + "\n".join(rows)
        + f"\n\nMarginal server CPU per set-up ({lo}/s → {hi}/s): one node {med(one)} ms, "
        f"two nodes {med(two)} ms, x{ratio:.2f}; so two nodes with a core each would carry "
        f"about {2 / ratio:.2f} times one node's rate.\n"
    )


def per_node_table(runs: Runs, rates: list[int], users: int) -> str:
    """One row per variant and rate; then, per rate r, the two nodes' CPU at 2r over twice
    the one node's at r (each phase's whole CPU, median over the repeats)."""
    head = (
        "| server, set-ups/s, connected | done/attempted | invite→incoming p50 / p99 ms | "
        "server CPU % of a core (all nodes) | CPU ms per set-up | Redis messages per set-up |\n"
        "|---|---|---|---|---|---|\n"
    )
    rows, ratios = [], []
    pairs = [label for label in ("two", "two-before") if (label, 2 * rates[0]) in runs]
    for rate in rates:
        for label, r, n in [("one", rate, users // 2)] + [(p, 2 * rate, users) for p in pairs]:
            rs = runs[label, r]
            done = f"{sum(int(x['done']) for x in rs)}/{sum(int(x['attempted']) for x in rs)}"
            latency = f"{med([x['p50'] for x in rs])} / {med([x['p99'] for x in rs])}"
            cpu = med([x["cpu_pct"] for x in rs])
            cells = " | ".join(med([x[k] for x in rs]) for k in ("cpu_ms", "published"))
            rows.append(f"| {label}, {r}/s, {n} | {done} | {latency} | {cpu} | {cells} |")
        for pair in pairs:
            k = [
                b["cpu_total_ms"] / (2 * a["cpu_total_ms"])
                for a, b in zip(runs["one", rate], runs[pair, 2 * rate], strict=True)
            ]
            ratios.append(
                f"- {rate}/s per node, {pair}: two nodes spend x{med(k)} twice one node's CPU, "
                f"so with a core each they carry about {2 / statistics.median(k):.2f} times "
                "its rate."
            )
    return head + "\n".join(rows) + "\n\n" + "\n".join(ratios) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--rates", type=lambda x: [int(r) for r in x.split(",")], default=[25, 100])
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--loadgen", type=Path, default=ROOT.parent / "shared" / "loadgen")
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-side"))
    p.add_argument("--out", type=Path, default=Path(f"/tmp/two-nodes-{int(time.time())}"))
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--per-node", action="store_true", help="compare at equal load per node")
    p.add_argument("--before", default="", help="CHECKOUT: also its two nodes (two-before)")
    args = p.parse_args()
    load0 = os.getloadavg()
    runs = run_all(args)
    if args.per_node:
        body = per_node_table(runs, args.rates, args.users)
    else:
        body = table(runs, args.rates)
    cmd = "python -m bench.two_nodes " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load1 = os.getloadavg()
    title = "at equal load per node" if args.per_node else "(PostgreSQL, Redis)"
    text = (
        f"### What a second node costs {title}\n\n"
        f"Command: `{cmd.strip()}`\n\n"
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.2f}' for x in load0)} before, {' '.join(f'{x:.2f}' for x in load1)} "
        f"after; {args.users} connected, {args.duration} s per run, {args.repeats} alternated "
        "repeats: median (min–max).\n\n" + body
    )
    print(text)
    if not args.no_doc:
        replace_block(*(PER_NODE if args.per_node else (BEGIN, END)), text)


if __name__ == "__main__":
    main()
