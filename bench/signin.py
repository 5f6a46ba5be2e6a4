"""Sign-in benchmark: what password checks cost the call server, and what they cost everyone else.

    .venv/bin/python -m bench.signin [--concurrency 1,4,16] [--seconds 8] [--before DIR]

Starts a real call server (SQLite, one uvicorn process) inside a private network namespace and
seeds tenant ``load``. For each concurrency C, C clients sign in back to back (the right password,
each its own user) for S seconds while a probe asks ``GET /healthz`` every 20 ms and a user of
another tenant (``alice@acme.test``, seeded) asks ``GET /api/contacts`` every 20 ms: what other
requests wait meanwhile, with and without a database connection of their own. argon2 takes
tens of milliseconds of CPU by design; on the event loop it would stall every request behind it.

``--before DIR`` runs the same measurement against the server code of another checkout (for
example ``git worktree add /tmp/before <commit>``; ``--before-label`` names it) and puts both
in the table. The table goes to
``docs/benchmarks.md`` between the ``bench:signin`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.docblock import replace_block
from tests.support import netns

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:signin -->", "<!-- /bench:signin -->"
USERS = 64
PASSWORD = "demo-password"
PROBE_EVERY_S = 0.02
HERE = "this checkout"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Row:
    code: str
    concurrency: int
    signins: int
    seconds: float
    signin_ms: list[float]
    probe_ms: list[float]
    failures: int
    contacts_ms: list[float]

    def cells(self) -> list[str]:
        rate = self.signins / self.seconds
        return [
            self.code,
            str(self.concurrency),
            f"{rate:.1f}",
            f"{percentile(self.signin_ms, 50):.0f} / {percentile(self.signin_ms, 99):.0f}",
            f"{percentile(self.probe_ms, 50):.1f} / {percentile(self.probe_ms, 99):.1f}",
            f"{percentile(self.contacts_ms, 50):.1f} / {percentile(self.contacts_ms, 99):.1f}",
            str(self.failures),
        ]


async def measure(
    url: str, concurrency: int, seconds: float, code: str, other_tenant: str = ""
) -> Row:
    """``concurrency`` sign-in loops for ``seconds``; meanwhile ``/healthz`` and, with the
    bearer token ``other_tenant`` (a user of another tenant), ``GET /api/contacts``."""
    import httpx

    signin_ms: list[float] = []
    probe_ms: list[float] = []
    contacts_ms: list[float] = []
    failures = 0
    stop = time.perf_counter() + seconds

    async def signer(n: int, http: httpx.AsyncClient) -> None:
        nonlocal failures
        body = {"email": f"u{n}@load.test", "password": PASSWORD}
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            response = await http.post("/api/auth/login", json=body)
            if response.status_code == 200:
                signin_ms.append((time.perf_counter() - t0) * 1000)
            else:
                failures += 1

    async def probe(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            await http.get("/healthz")
            probe_ms.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(PROBE_EVERY_S)

    async def contacts(http: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {other_tenant}"}
        while other_tenant and time.perf_counter() < stop:
            t0 = time.perf_counter()
            response = await http.get("/api/contacts", headers=headers)
            response.raise_for_status()
            contacts_ms.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(PROBE_EVERY_S)

    limits = httpx.Limits(max_connections=concurrency + 3)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        started = time.perf_counter()
        signers = (signer(n, http) for n in range(concurrency))
        await asyncio.gather(probe(http), contacts(http), *signers)
        elapsed = time.perf_counter() - started
    return Row(
        code, concurrency, len(signin_ms), elapsed, signin_ms, probe_ms, failures, contacts_ms
    )


def _demo_token(url: str) -> str:
    """A token of ``alice@acme.test`` (tenant ``acme``, not the signing-in tenant ``load``)."""
    import httpx

    body = {"email": "alice@acme.test", "password": PASSWORD}
    response = httpx.post(f"{url}/api/auth/login", json=body, timeout=30)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def run_one(code: str, code_path: Path | None, levels: list[int], seconds: float) -> list[Row]:
    from tests.support.servers import CallServer

    env = {
        # every client signs in from 127.0.0.1: keep the throttle out of what is measured
        "VOIP_SIGNIN_FAILURES_PER_ADDRESS": "1000000",
        "VOIP_SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS": "1000000",
        "VOIP_SIGNIN_SUCCESSES_PER_ACCOUNT": "1000000",
        "VOIP_SIGNIN_SUCCESSES_PER_ADDRESS": "1000000",
    }
    if code_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code_path), str(code_path / "app")])
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-signin-") as tmp,
        CallServer.start(Path(tmp), env=env, seed_demo=True) as server,
    ):
        server.cli("seed-load", str(USERS))  # u0..u63@load.test, the demo password
        other = _demo_token(server.url)
        asyncio.run(measure(server.url, 1, 1.0, code))  # warm up
        for level in levels:
            rows.append(asyncio.run(measure(server.url, level, seconds, code, other)))
            print(" | ".join(rows[-1].cells()), flush=True)
    return rows


def _compared(rows: list[Row]) -> str:
    """A sentence with the ratio of ``/healthz`` p50 before and after, when both were run."""
    before = [r for r in rows if r.code != HERE]
    after = [r for r in rows if r.code == HERE]
    if not before or not after:
        return ""
    was = percentile([ms for r in before for ms in r.probe_ms], 50)
    now = percentile([ms for r in after for ms in r.probe_ms], 50)
    return f" Here `/healthz` p50 during sign-ins went from {was:.0f} ms to {now:.1f} ms."


def write_doc(command: str, rows: list[Row]) -> None:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    header = (
        "| server code | concurrent sign-ins | sign-ins/s | sign-in p50 / p99 (ms) "
        "| `GET /healthz` meanwhile p50 / p99 (ms) "
        "| other tenant's `GET /api/contacts` meanwhile p50 / p99 (ms) | failed |\n"
        "|---|---|---|---|---|---|---|"
    )
    table = "\n".join("| " + " | ".join(r.cells()) + " |" for r in rows)
    body = (
        "## Sign-in: argon2 off the event loop, and no connection held across it\n\n"
        f"Command: `{command}`\n\n"
        f"Machine: {os.cpu_count()} CPU, Python {platform.python_version()}, one uvicorn process, "
        f"SQLite, clients in the same process as the probe; load average after the run {load}.\n\n"
        f"{header}\n{table}\n\n"
        "A password check is argon2 with argon2-cffi's defaults (RFC 9106 low-memory profile: "
        "64 MiB, 3 passes, 4 lanes), about 100 ms of both cores, on purpose: throughput is what "
        "the CPU allows either way. What the thread changes is everyone else. On the event loop "
        "every other request waits behind the check in progress; `/healthz` stands for a "
        "contacts page or a rejoin token. In a worker thread (argon2 releases the GIL) the loop "
        "stays free. Another tenant's `GET /api/contacts` needs a database connection as well: "
        "no sign-in holds one while argon2 runs (one short transaction reads and reserves the "
        "attempt, another records the outcome), so it does not queue behind the sign-ins. "
        "Rows measured before that change show no contacts column."
        f"{_compared(rows)}"
    )
    replace_block(BEGIN, END, f"{body}\n", DOC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--before", type=Path, help="another checkout, measured the same way")
    parser.add_argument("--before-label", default="", help="its name in the table")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args()
    netns.enter_private_netns()
    levels = [int(x) for x in args.concurrency.split(",")]
    rows: list[Row] = []
    if args.before is not None:
        label = args.before_label or f"before ({args.before.name})"
        rows += run_one(label, args.before.resolve(), levels, args.seconds)
    rows += run_one(HERE, None, levels, args.seconds)
    if not args.no_doc:
        write_doc(shlex.join(["python", "-m", "bench.signin", *sys.argv[1:]]), rows)


if __name__ == "__main__":
    main()
