"""A private network namespace for the whole test (or benchmark) process.

Media tests need addresses that are not loopback (neither aiortc nor LiveKit's WebRTC stack
gathers loopback ICE candidates), and no test may reach anything outside this machine. So before
any thread exists, the process moves itself into a fresh network namespace with ``lo`` up and a
veth pair (:data:`HOST_A`, :data:`HOST_B`). Every server the tests start inherits it: nothing a
test does can leave the namespace, and parallel test runs never fight over ports.

Needs root (``CAP_SYS_ADMIN``); elsewhere :func:`enter_private_netns` reports why it could not,
and the media tests skip with that reason.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading

CLONE_NEWNET = 0x40000000
HOST_A = "10.200.0.1"
HOST_B = "10.200.0.2"

_state: dict[str, str | bool] = {"entered": False, "why_not": "not tried"}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def enter_private_netns() -> str | None:
    """Move this process into a new network namespace; return ``None`` or why it could not."""
    if _state["entered"]:
        return None
    if threading.active_count() > 1:
        return _refuse("threads already run; a namespace entered now would not cover them")
    if shutil.which("ip") is None:
        return _refuse("the `ip` command (Debian iproute2) is missing")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        return _refuse(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)} (needs root)")
    _ip("link", "set", "lo", "up")
    _ip("link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b")
    _ip("addr", "add", f"{HOST_A}/24", "dev", "veth-a")
    _ip("addr", "add", f"{HOST_B}/24", "dev", "veth-b")
    _ip("link", "set", "veth-a", "up")
    _ip("link", "set", "veth-b", "up")
    _state["entered"] = True
    os.environ["VOIP_TEST_NETNS"] = "1"
    return None


def _refuse(why: str) -> str:
    _state["why_not"] = why
    return why


def in_private_netns() -> bool:
    return bool(_state["entered"])


def why_no_netns() -> str:
    return str(_state["why_not"])
