"""Start a real ``voip-devsfu`` process for a test, and stop it afterwards.

Usage (sync or async tests alike)::

    from tests.support import netns
    from tests.support.devsfu import running_devsfu

    with running_devsfu(host=netns.HOST_A, webhook_url="http://127.0.0.1:8000/hook") as sfu:
        sfu.url          # "ws://10.200.0.1:<port>": what the livekit SDK connects to
        sfu.http_url     # "http://10.200.0.1:<port>": what livekit.api.LiveKitAPI uses
        sfu.api_key, sfu.api_secret

or as a pytest fixture::

    @pytest.fixture
    def sfu() -> Iterator[DevSfu]:
        with running_devsfu() as server:
            yield server

The process listens on ``host`` (default :data:`tests.support.netns.HOST_A`, which media needs:
WebRTC stacks ignore loopback candidates; use ``127.0.0.1`` if only RoomService/webhooks are
exercised) and a free port. ``auto_create=False`` runs it with ``--no-auto-create`` (joins
only into rooms made through RoomService, as the call server does). :func:`running_devsfu`
returns once it answers HTTP, and terminates it (SIGTERM, then SIGKILL) on exit. Its log goes
to ``log_path`` (a temporary file unless given); a process that does not come up raises
:class:`DevSfuStartError` with the log's tail.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import netns
from tests.support.servers import free_port, stop_process

DEFAULT_API_KEY = "devkey"
DEFAULT_API_SECRET = "devsecret-for-tests-only-0123456789"
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 10.0


class DevSfuStartError(RuntimeError):
    """``voip-devsfu`` exited or did not answer in time."""


@dataclass(frozen=True)
class DevSfu:
    """A running ``voip-devsfu`` process."""

    host: str
    port: int
    api_key: str
    api_secret: str
    webhook_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    egress_dir: Path = Path()

    @property
    def url(self) -> str:
        """The LiveKit URL for the ``livekit`` SDK (``ws://host:port``)."""
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        """The LiveKit URL for ``livekit.api.LiveKitAPI`` (``http://host:port``)."""
        return f"http://{self.host}:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _command() -> list[str]:
    script = Path(sys.executable).with_name("voip-devsfu")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "devsfu.cli"]


def _temp_log() -> Path:
    fd, name = tempfile.mkstemp(prefix="devsfu-", suffix=".log")
    os.close(fd)
    return Path(name)


def _answers(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _wait_until_up(sfu: DevSfu) -> None:
    """Return once ``sfu`` answers HTTP; raise :class:`DevSfuStartError` if it exits first or
    does not answer within ``_START_TIMEOUT_S``."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if sfu.process.poll() is not None:
            raise DevSfuStartError(
                f"voip-devsfu exited ({sfu.process.returncode}):\n{sfu.log_text()}"
            )
        if _answers(sfu.host, sfu.port):
            return
        time.sleep(0.05)
    raise DevSfuStartError(
        f"voip-devsfu did not answer within {_START_TIMEOUT_S}s:\n{sfu.log_text()}"
    )


def stop_devsfu(sfu: DevSfu) -> int:
    """Terminate the process (SIGTERM, then SIGKILL) and return its exit status."""
    return stop_process(sfu.process, timeout=_STOP_TIMEOUT_S)


@contextlib.contextmanager
def running_devsfu(
    *,
    host: str = netns.HOST_A,
    port: int | None = None,
    api_key: str = DEFAULT_API_KEY,
    api_secret: str = DEFAULT_API_SECRET,
    webhook_url: str = "",
    log_path: Path | None = None,
    log_level: str = "INFO",
    auto_create: bool = True,
    egress_dir: Path | None = None,
) -> Iterator[DevSfu]:
    """A ``voip-devsfu`` process for the duration of the ``with`` block, once it answers.

    A temporary log file or egress folder (``log_path`` or ``egress_dir`` not given) is removed
    afterwards.
    """
    owns_log, owns_egress = log_path is None, egress_dir is None
    port = port or free_port(host)
    log_path = log_path or _temp_log()
    egress_dir = egress_dir or Path(tempfile.mkdtemp(prefix="devsfu-egress-"))
    options = ["--webhook-url", webhook_url, "--log-level", log_level]
    options += ["--egress-dir", str(egress_dir), *([] if auto_create else ["--no-auto-create"])]
    # The key pair goes through the environment, as `make demo` passes it: never in `ps`, and a
    # secret that begins with "-" is not read as an option.
    env = {**os.environ, "VOIP_LIVEKIT_API_KEY": api_key, "VOIP_LIVEKIT_API_SECRET": api_secret}
    cmd = [*_command(), "--host", host, "--port", str(port), *options]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    sfu = DevSfu(host, port, api_key, api_secret, webhook_url, log_path, process, egress_dir)
    try:
        _wait_until_up(sfu)
        yield sfu
    finally:
        stop_devsfu(sfu)
        if owns_log:
            sfu.log_path.unlink(missing_ok=True)
        if owns_egress:
            shutil.rmtree(sfu.egress_dir, ignore_errors=True)
