"""Where the floor's CPU goes: py-spy on :mod:`bench.floor_server` at a fixed set-up rate.

    .venv/bin/python -m bench.floor_profile [--users 1000] [--rate 200] [--duration 20]
        [--servers floor|ours|floor,ours] [--floor-arg=--ws=wsproto]... [--out DIR] [--no-doc]

Needs py-spy in the virtualenv (``.venv/bin/pip install py-spy``; not a project dependency) and
a prepared copy of ``shared/loadgen`` (:func:`bench.loadgen_side_by_side.prepare_loadgen`). Mints
the load users' tokens itself (the floor keeps no users: any ``sub`` signed with its secret
connects), starts the floor, lets ``loadgen.js`` connect every socket, and records the floor with
``py-spy record -r 200 -f raw`` for the calls' phase only (started when the generator says it
starts the rate). Each sample goes to the innermost frame of a known package under the event
loop's runner (:data:`GROUPS`); one with no Python frame above the runner is the loop's own C
(uvloop: I/O, callbacks); one with only the standard library's Python above it is asyncio's.
ms per set-up = samples × 5 ms / the calls started (py-spy stops the process at each sample, so
the shares are what it measures, the milliseconds a little above the unprofiled CPU).

``--servers floor,ours`` records the floor and then our server (``voip-server serve`` as
:mod:`bench.loadgen_servers` starts it: SQLite, a fresh copy of a database seeded with
``--users``) one after the other, groups both by :mod:`bench.profile_groups` (the floor's
groups, then ours part by part) and writes one table of ms per set-up side by side
(:mod:`bench.profile_table`, the ``bench:floor-profile-ours`` block). Each server runs under
:mod:`bench.gc_clock`, so the table also says how much of it was the collector.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jwt

from bench import gc_clock, profile_table
from bench import profile_groups as parts
from bench.loadgen_floor import load_text, write_doc
from bench.loadgen_servers import Backends, Variant, server_command
from bench.loadgen_side_by_side import seed
from tests.support.servers import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:floor-profile -->", "<!-- /bench:floor-profile -->"
HZ = 200
GROUPS = parts.TRANSPORT
RUNNER = ("asyncio/runners.py", "uvicorn/server.py", "uvicorn/_compat.py")
"""Frames at the root of every stack: the thread's start, the loop's runner."""
LOOP_C, STDLIB = "event loop (uvloop's C: I/O, callbacks)", "asyncio / stdlib Python"
FLOOR, OURS = "floor", "ours"


def mint_tokens(path: Path, users: int, secret: str, url: str) -> None:
    """A ``loadgen.js --tokens`` file: users with fresh ids, tokens with the server's claims."""
    now, ttl = int(time.time()), 3600
    cache = {}
    for i in range(users):
        uid = str(uuid.uuid4())
        claims = {"iss": "voip-server", "aud": "voip", "sub": uid, "tid": "load", "iat": now}
        claims.update(auth_time=now, exp=now + ttl)
        token = jwt.encode(claims, secret, algorithm="HS256")
        cache[str(i)] = {"id": uid, "token": token, "exp": (now + ttl) * 1000, "url": url}
    path.write_text(json.dumps(cache))


def in_file(frame: str, marks: tuple[str, ...]) -> bool:
    """Whether the frame's file (py-spy's ``function (file:line)``, the file shortened to its
    path under ``sys.path`` or in full) is one of ``marks``: a package's directory at the start
    of the path or right under ``site-packages``, or a file at its end."""
    file = frame.rpartition(" (")[2].rpartition(":")[0]
    return any(
        file.startswith(m) or f"site-packages/{m}" in file or file.endswith(f"/{m}") for m in marks
    )


def group_of(stack: list[str]) -> str:
    """The group of one sample's stack (root first, ``function (file:line)`` frames)."""
    start = max((i + 1 for i, f in enumerate(stack) if in_file(f, RUNNER)), default=0)
    above = stack[start:]
    for frame in reversed(above):
        for name, marks in GROUPS:
            if in_file(frame, marks):
                return name
    return STDLIB if above else LOOP_C


def grouped(raw: Path, by: Callable[[list[str]], str] = group_of) -> Counter[str]:
    """py-spy's ``-f raw`` output (``frame;frame;... count`` per line) summed by group."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():  # (an empty stack: a thread with no Python frame at that moment)
            counts[by(stack.split(";") if stack else [])] += int(n)
    return counts


def profile(gen: Path, out: Path, label: str, args: argparse.Namespace) -> dict[str, object]:
    """Run one server (``floor`` or ``ours``) and the generator, record the calls' phase; the
    generator's result, with the collector's time over the phase (:mod:`bench.gc_clock`)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clock = ["-m", "bench.gc_clock", str(out / f"{label}.gc.json")]
    if label == OURS:
        env, tokens = ours_environment(gen, out, args.users, url)
        cmd = ["bash", "-c", ours_command(out, env, port, " ".join(clock))]
    else:
        secret = f"floor-profile-secret-{int(time.time())}-of-enough-length"
        tokens = out / "tokens.json"
        mint_tokens(tokens, args.users, secret, url)
        cmd = [sys.executable, *clock, "bench.floor_server", "--port", str(port)]
        cmd, env = [*cmd, *args.floor_arg], {"VOIP_JWT_SECRET": secret}
    with (out / f"{label}.log").open("wb") as log:
        server = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port("127.0.0.1", port, proc=server, timeout=60)
            return drive(gen, out, label, url, tokens, server.pid, args)
        finally:
            stop_process(server)


def ours_environment(gen: Path, out: Path, users: int, url: str) -> tuple[dict[str, str], Path]:
    """Seed ``seed.db`` once (as :mod:`bench.loadgen_side_by_side` does); its tokens for
    ``url``; the environment of our server."""
    if not (out / "seed.env.json").exists():
        (out / "seed.env.json").write_text(json.dumps(seed(out, gen, users)))
    env: dict[str, str] = json.loads((out / "seed.env.json").read_text())
    cache = json.loads((out / "tokens-py.json").read_text())
    for entry in cache.values():
        entry["url"] = url
    tokens = out / f"tokens-{OURS}.json"
    tokens.write_text(json.dumps(cache))
    return env, tokens


def ours_command(out: Path, env: dict[str, str], port: int, clock: str) -> str:
    """``voip-server serve`` as :mod:`bench.loadgen_servers` starts it (SQLite, a fresh copy of
    the seeded database), under the collector's clock."""
    cmd = server_command(out, env, Variant("py", {}), Backends(), port)
    script = ".venv/bin/voip-server serve"
    assert cmd.count(script) == 1, cmd
    return cmd.replace(script, f".venv/bin/python {clock} server.cli:main serve")


def drive(
    gen: Path, out: Path, label: str, url: str, tokens: Path, pid: int, args: argparse.Namespace
) -> dict[str, object]:
    """``loadgen.js`` at one rate; py-spy on ``pid`` from the moment the calls start."""
    load = ["node", str(gen / "loadgen.js"), "--url", url, "--users", str(args.users)]
    load += ["--rate", str(args.rate), "--duration", str(args.duration), "--server-pid", str(pid)]
    load += ["--tokens", str(tokens), "--out", str(out / f"{label}.loadgen.json")]
    spy = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-r", str(HZ), "-f", "raw"]
    spy += ["-o", str(out / f"{label}.raw"), "-p", str(pid), "-d", str(args.duration)]
    gen_proc = subprocess.Popen(load, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert gen_proc.stderr is not None
    recorder, gc_file, gc0 = None, out / f"{label}.gc.json", (0.0, 0)
    gc1: list[float] = []  # the gc clock's reading at the recording's end (set by a timer)
    for line in gen_proc.stderr:
        sys.stderr.write(line)
        if recorder is None and f"rate {args.rate}/s" in line:
            recorder = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            gc0 = gc_clock.read(gc_file)
            timer = threading.Timer(args.duration, lambda: gc1.extend(gc_clock.read(gc_file)))
            timer.start()
    if recorder is not None:
        recorder.wait()
        timer.join()
    gen_proc.wait()
    result: dict[str, object] = json.loads((out / f"{label}.loadgen.json").read_text())
    if recorder is not None:  # the collector over py-spy's interval, not the generator's
        result["gc"] = {"seconds": gc1[0] - gc0[0], "collections": gc1[1] - gc0[1]}
        (out / f"{label}.loadgen.json").write_text(json.dumps(result))
    return result


def table(counts: Counter[str], result: dict[str, object], args: argparse.Namespace) -> str:
    """The groups' samples, shares and ms per set-up, then the generator's figures."""
    step = result["steps"][0]  # type: ignore[index]
    calls = max(1, int(step["calls"]["attempted"]))
    total = sum(counts.values())
    lines = ["| group | samples | share | ms per set-up |", "|---|---|---|---|"]
    for name, n in counts.most_common():
        lines.append(f"| {name} | {n} | {100 * n / total:.1f} % | {n * 1000 / HZ / calls:.2f} |")
    lines.append(f"| **all** | {total} | 100 % | {total * 1000 / HZ / calls:.2f} |")
    lat = step["latency_ms"]["invite_to_incoming"]
    done = f"{step['calls']['completed']}/{calls}"
    return "\n".join(lines) + (
        f"\n\nThe generator in that run: {done} done, invite→incoming p50 {lat['p50']} ms, "
        f"p99 {lat['p99']} ms, server CPU {step['cpu']['server_cpu_pct']} % (profiled).\n"
    )


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--servers", default=FLOOR, help="floor, ours or both (floor,ours)")
    p.add_argument("--floor-arg", action="append", default=[])
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-floor"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--from", dest="again", type=Path, help="group this earlier --out again")
    return p.parse_args()


def main() -> None:
    args = arguments()
    labels = [x for x in args.servers.split(",") if x]
    if args.again:  # the same options as that run's: they are in its command.txt
        out = args.again
        cmd, load = (out / "command.txt").read_text(), (out / "load.txt").read_text()
    else:
        out = (args.out or Path(f"/tmp/floor-profile-{int(time.time())}")).resolve()
        out.mkdir(parents=True, exist_ok=True)
        cmd = "python -m bench.floor_profile " + " ".join(sys.argv[1:])
        load0 = os.getloadavg()
        for label in labels:
            profile(args.scratch, out, label, args)
        load = load_text(load0, os.getloadavg())
        (out / "command.txt").write_text(cmd)
        (out / "load.txt").write_text(load)
    results = {label: json.loads(result_file(out, label).read_text()) for label in labels}
    head = (
        f"Command: `{cmd.strip()}` (py-spy `record -r {HZ} -f raw` for the calls' "
        f"{args.duration} s, {args.users:,} connected, {args.rate}/s); {load}. "
    )
    if labels == [FLOOR]:
        text = (
            "### Where the floor's CPU goes (py-spy)\n\n"
            + head
            + "Grouping: `bench/floor_profile.py`.\n\n"
            + table(grouped(out / "floor.raw"), results[FLOOR], args)
        )
        begin, end = BEGIN, END
    else:
        counts = {label: grouped(out / f"{label}.raw", parts.group_of) for label in labels}
        text = profile_table.section(head, counts, results, HZ)
        begin, end = profile_table.BEGIN, profile_table.END
    print(text)
    if not args.no_doc:
        write_doc(text, begin, end)


def result_file(out: Path, label: str) -> Path:
    """The generator's result of ``label``'s run (a run of the floor alone kept it unnamed)."""
    named = out / f"{label}.loadgen.json"
    return named if named.exists() or label != FLOOR else out / "loadgen.json"


if __name__ == "__main__":
    main()
