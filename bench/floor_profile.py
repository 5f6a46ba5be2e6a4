"""Where the floor's CPU goes: py-spy on :mod:`bench.floor_server` at a fixed set-up rate.

    .venv/bin/python -m bench.floor_profile [--users 1000] [--rate 200] [--duration 20]
        [--floor-arg=--ws=wsproto]... [--out DIR] [--no-doc]

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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import jwt

from bench.loadgen_floor import load_text, write_doc
from tests.support.servers import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:floor-profile -->", "<!-- /bench:floor-profile -->"
HZ = 200
GROUPS = (
    ("JWT (PyJWT, hmac)", ("jwt/",)),
    ("python-socketio", ("socketio/",)),
    ("python-engineio", ("engineio/",)),
    ("websockets / wsproto / h11", ("websockets/", "wsproto/", "h11/")),
    ("uvicorn", ("uvicorn/",)),
    ("the floor's handlers", ("bench/floor_server.py",)),
)
RUNNER = ("asyncio/runners.py", "uvicorn/server.py", "uvicorn/_compat.py")
"""Frames at the root of every stack: the thread's start, the loop's runner."""
LOOP_C, STDLIB = "event loop (uvloop's C: I/O, callbacks)", "asyncio / stdlib Python"


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


def grouped(raw: Path) -> Counter[str]:
    """py-spy's ``-f raw`` output (``frame;frame;... count`` per line) summed by group."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[group_of(stack.split(";"))] += int(n)
    return counts


def profile(gen: Path, out: Path, args: argparse.Namespace) -> dict[str, object]:
    """Run the floor and the generator, record the calls' phase; the generator's result."""
    port, secret = free_port(), f"floor-profile-secret-{int(time.time())}-of-enough-length"
    url = f"http://127.0.0.1:{port}"
    mint_tokens(out / "tokens.json", args.users, secret, url)
    cmd = [sys.executable, "-m", "bench.floor_server", "--port", str(port), *args.floor_arg]
    env = {**os.environ, "VOIP_JWT_SECRET": secret}
    with (out / "floor.log").open("wb") as log:
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", port, proc=server)
            return drive(gen, out, url, server.pid, args)
        finally:
            stop_process(server)


def drive(gen: Path, out: Path, url: str, pid: int, args: argparse.Namespace) -> dict[str, object]:
    """``loadgen.js`` at one rate; py-spy on ``pid`` from the moment the calls start."""
    load = ["node", str(gen / "loadgen.js"), "--url", url, "--users", str(args.users)]
    load += ["--rate", str(args.rate), "--duration", str(args.duration), "--server-pid", str(pid)]
    load += ["--tokens", str(out / "tokens.json"), "--out", str(out / "loadgen.json")]
    spy = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-r", str(HZ), "-f", "raw"]
    spy += ["-o", str(out / "floor.raw"), "-p", str(pid), "-d", str(args.duration)]
    gen_proc = subprocess.Popen(load, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert gen_proc.stderr is not None
    recorder = None
    for line in gen_proc.stderr:
        sys.stderr.write(line)
        if recorder is None and f"rate {args.rate}/s" in line:
            recorder = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gen_proc.wait()
    if recorder is not None:
        recorder.wait()
    result: dict[str, object] = json.loads((out / "loadgen.json").read_text())
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
    p.add_argument("--floor-arg", action="append", default=[])
    p.add_argument("--scratch", type=Path, default=Path("/tmp/loadgen-floor"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--no-doc", action="store_true")
    p.add_argument("--from", dest="again", type=Path, help="group this earlier --out again")
    return p.parse_args()


def main() -> None:
    args = arguments()
    if args.again:  # the same options as that run's: they are in its command.txt
        out = args.again
        cmd, load = (out / "command.txt").read_text(), (out / "load.txt").read_text()
        result = json.loads((out / "loadgen.json").read_text())
    else:
        out = (args.out or Path(f"/tmp/floor-profile-{int(time.time())}")).resolve()
        out.mkdir(parents=True, exist_ok=True)
        cmd = "python -m bench.floor_profile " + " ".join(sys.argv[1:])
        load0 = os.getloadavg()
        result = profile(args.scratch, out, args)
        load = load_text(load0, os.getloadavg())
        (out / "command.txt").write_text(cmd)
        (out / "load.txt").write_text(load)
    text = (
        "### Where the floor's CPU goes (py-spy)\n\n"
        f"Command: `{cmd.strip()}` (py-spy `record -r {HZ} -f raw` for the calls' "
        f"{args.duration} s, {args.users:,} connected, {args.rate}/s); {load}. "
        "Grouping: `bench/floor_profile.py`.\n\n" + table(grouped(out / "floor.raw"), result, args)
    )
    print(text)
    if not args.no_doc:
        write_doc(text, BEGIN, END)


if __name__ == "__main__":
    main()
