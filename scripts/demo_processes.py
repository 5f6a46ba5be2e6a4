"""The processes ``make demo`` starts (:class:`Demo`): each with its log in the var directory,
waited for until it answers, and all stopped in reverse order."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def say(message: str) -> None:
    """One line of the demo's own output."""
    print(f"demo: {message}", flush=True)


def free_port(host: str) -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path | None, lines: int = 20) -> str:
    """The end of a spawned process's log, to say why it stopped."""
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; the end of {log}:\n" + "\n".join(tail)


def wait_until(
    check: Callable[[], bool],
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``check()`` (bounded) until true; fail, quoting ``log``, if ``proc`` dies first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}{_log_tail(log)}")
        with contextlib.suppress(OSError, httpx.HTTPError):
            if check():
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up in {START_TIMEOUT_S:.0f} s")


def port_open(host: str, port: int) -> bool:
    """Something accepts connections there (``OSError`` otherwise: for :func:`wait_until`)."""
    with socket.create_connection((host, port), timeout=0.5):
        return True


@dataclass
class Demo:
    """Every process the demo starts, stopped in reverse order."""

    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def spawn(
        self, name: str, args: list[str], extra: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``args`` in the repository with the demo's environment (plus ``extra``), its
        output into :meth:`log_path`."""
        log_path = self.log_path(name)
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                args,
                env={**self.env, **(extra or {})},
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo; it stops the children
            )
        self.procs.append((name, proc))
        say(f"started {name} (pid {proc.pid}, log {log_path})")
        return proc

    def log_path(self, name: str) -> Path:
        """Where the process ``name`` writes its output."""
        return self.var_dir / f"{name}.log"

    def run(self, args: list[str]) -> None:
        """Run a command to its end (raises if it fails)."""
        subprocess.run(args, env=self.env, cwd=REPO, check=True, capture_output=True)

    def stop(self) -> None:
        """SIGTERM every process, newest first; kill one that does not stop in time."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
            say(f"stopped {name}")
        self.procs.clear()
