"""What the collector's freezing policy holds back: memory after many sockets came and went.

    .venv/bin/python -m bench.gc_frozen_garbage [--users 5000] [--rounds 4] [--wait 150]
        [--variant LABEL[:VAR=VALUE,...]]...

For each variant, one server process (``bench.loadgen_servers``, SQLite seeded with ``--users``
users) and ``--rounds`` rounds of ``shared/loadgen``'s generator, each connecting every user's
socket, making one call and disconnecting them all: ``users x rounds`` connect/disconnect
cycles. After each round, the server's RSS. Then, for a server with the policy on, the run
waits up to ``--wait`` seconds from the server's start for a ``gc refresh`` record of
:mod:`server.gcpolicy` (with ``VOIP_GC_REFRESH_MIN_S`` past the rounds' end, one refresh after
them all: the objects it freed are the cyclic garbage that was frozen, what it left frozen the
live ones). The table gives every refresh of the run, the RSS at the end (pymalloc keeps some
arenas, so RSS falls by less than the objects freed) and the worst ``loop stats`` of the run
(the connect and disconnect storms). The caller copies it into ``docs/benchmarks.md`` with the
command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.loadgen_servers import Backends, Variant, parse_variants, server_command
from bench.loadgen_side_by_side import ROOT, prepare_loadgen, seed

PORT = 8100


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def listening_pid() -> int:
    """The process that listens on ``PORT`` (the server, once it is up)."""
    for _ in range(600):
        out = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{PORT}"], capture_output=True, text=True
        ).stdout
        if "pid=" in out:
            return int(out.split("pid=")[1].split(",")[0])
        time.sleep(0.1)
    raise RuntimeError("the server did not listen")


def records(log: Path, msg: str) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if f'"{msg}"' in line:
            out.append(json.loads(line))
    return out


def run_variant(
    variant: Variant, out: Path, env: dict[str, str], gen: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """One server, the rounds, the refresh (if any): the figures of this variant."""
    cmd = server_command(out, env, variant, Backends(), PORT)
    log = out / f"{variant.label}.server.log"
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            ["bash", "-c", cmd], stdout=sink, stderr=sink, start_new_session=True
        )
    started = time.monotonic()
    try:
        pid = listening_pid()
        time.sleep(2)
        figs: dict[str, Any] = {"rss": [rss_mb(pid)]}
        for k in range(args.rounds):
            subprocess.run(
                ["node", "loadgen.js", "--url", f"http://127.0.0.1:{PORT}", "--users",
                 str(args.users), "--rate", "1", "--duration", "1", "--tokens",
                 str(out / "tokens-py.json"), "--out", str(out / f"{variant.label}-{k}.json")],
                cwd=gen, check=True, capture_output=True,
            )  # fmt: skip
            time.sleep(2)
            figs["rss"].append(rss_mb(pid))
        refreezes = variant.env.get("VOIP_GC_REFREEZE", "true") == "true"
        while (
            refreezes and not records(log, "gc refresh") and time.monotonic() - started < args.wait
        ):
            time.sleep(1)
        time.sleep(1)
        figs["refreshes"] = records(log, "gc refresh")
        figs["stats"] = records(log, "loop stats")
        figs["rss_end"] = rss_mb(pid)
        return figs
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()


def row(label: str, figs: dict[str, Any]) -> str:
    rss = " → ".join(f"{x:.0f}" for x in figs["rss"])
    recs = figs["refreshes"]
    refresh = (
        f"{len(recs)}: {sum(r['gc_freed'] for r in recs):,} freed, "
        f"{recs[-1]['gc_frozen']:,} left frozen, longest {max(r['gc_ms'] for r in recs)} ms"
        if recs
        else "none"
    )
    lag = max((r["loop_lag_max_ms"] for r in figs["stats"]), default=0)
    pause = max((r["gc_pause_max_ms"] for r in figs["stats"]), default=0)
    return f"| {label} | {rss} | {refresh} | {figs['rss_end']:.0f} | {lag:.0f} / {pause:.0f} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--wait", type=float, default=150.0)
    p.add_argument("--variant", action="append", default=[])
    p.add_argument("--loadgen", type=Path, default=ROOT.parent / "shared" / "loadgen")
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-side"))
    p.add_argument("--out", type=Path, default=Path(f"/tmp/gc-garbage-{int(time.time())}"))
    args = p.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 5,000 sockets on both sides
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gen = prepare_loadgen(args.loadgen, args.scratch)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = seed(out, gen, args.users)
    load0 = os.getloadavg()
    rows = [row(v.label, run_variant(v, out, env, gen, args)) for v in parse_variants(args.variant)]
    print(
        f"| server | RSS MB: start → after each round of {args.users:,} connects and disconnects "
        "| the policy's refreshes | RSS MB at the end | worst loop lag / GC pause ms |\n"
        "|---|---|---|---|---|"
    )
    print("\n".join(rows))
    load1 = os.getloadavg()
    print(f"\nload average {load0[0]:.2f} before, {load1[0]:.2f} after")


if __name__ == "__main__":
    main()
