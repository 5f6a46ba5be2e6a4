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

``--pin`` gives each server (the peer, every variant) the first CPU to itself, and everything
else (the generator, PostgreSQL, this script) the other CPUs: what the servers measure then
does not include a database or a generator on the same core, as in a deployment where the
database has a machine of its own. One-process variants only.

The worst event-loop lag and collector pause of each run of ours come from the server's
``loop stats`` log records (:mod:`server.loopwatch`). The table goes to ``docs/benchmarks.md``
between the ``bench:loadgen`` markers, with the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.docblock import replace_block
from bench.loadgen_results import PEER, collect, table
from bench.loadgen_servers import (
    Backends,
    Variant,
    backends,
    parse_variants,
    seed_postgres,
    server_command,
)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:loadgen -->", "<!-- /bench:loadgen -->"
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


SERVER_CPU = 0
"""The CPU ``--pin`` gives the servers."""


PIN_NOTE = (
    f" Each server ran alone on CPU {SERVER_CPU}; the generator, the database and the harness"
    " on the other CPU(s) (`--pin`)."
)


def pin_everything_else(variants: list[Variant]) -> None:
    """Move this process (and so what it starts: the database, ``bench.sh``, the generator)
    off :data:`SERVER_CPU`."""
    if any(v.nodes > 1 for v in variants):
        raise SystemExit("--pin gives one CPU to one server process: not with NODES > 1")
    others = set(range(os.cpu_count() or 1)) - {SERVER_CPU}
    if not others:
        raise SystemExit("--pin needs two CPUs or more")
    os.sched_setaffinity(0, others)


def pinned(command: str) -> str:
    """``command`` (a shell command line) run on :data:`SERVER_CPU` alone."""
    return f"exec taskset -c {SERVER_CPU} bash -c {shlex.quote(command)}"


def write_doc(text: str) -> None:
    replace_block(BEGIN, END, text)


def arguments() -> argparse.Namespace:
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
    p.add_argument("--pin", action="store_true", help="each server alone on the first CPU")
    return p.parse_args()


def server_specs(
    gen: Path, out: Path, env: dict[str, str], variants: list[Variant], found: Backends, pin: bool
) -> list[str]:
    """``bench.sh``'s ``LABEL|PORT|COMMAND`` of the peer and of each variant."""
    server = pinned if pin else (lambda command: command)
    peer = f"exec node {gen}/peer.js --port 3102 --db {out}/peer.sqlite"
    specs = [f"{PEER}|3102|{server(peer)}"]
    specs += [
        f"{v.label}|{PORT}|{server(server_command(out, env, v, found, PORT))}" for v in variants
    ]
    return specs


def main() -> None:
    args = arguments()
    variants = parse_variants(args.variant)
    if args.pin:
        pin_everything_else(variants)
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
        specs = server_specs(gen, out, env, variants, found, args.pin)
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
        "median (min–max); ratios are ours / the peer's of the same repeat."
        + (PIN_NOTE if args.pin else "")
        + "\n\n"
        + body
    )


if __name__ == "__main__":
    main()
