"""The app's dependency markers, evaluated the way a `flet build` evaluates them.

What a build does (read in flet-cli 1.0.5 ``commands/build_base.py`` and serious_python 4.5.1
``bin/package_command.dart`` / ``bin/sitecustomize.dart``): flet-cli hands
``[project].dependencies`` plus ``[tool.flet.<platform>].dependencies`` unchanged (markers
included) to serious_python's ``package`` command, which runs the *build host's* Python
``pip install --target ... --only-binary :all:`` once per ABI, with a ``sitecustomize.py`` on
``PYTHONPATH`` that, for a mobile target only:

- replaces ``platform.system()`` with the target's name, ``"Android"`` or ``"iOS"``;
- replaces ``sysconfig.get_platform()`` with the wheel tag (``android-24-arm64_v8a``, ...);
- appends ``";embedded"`` to ``platform.version()``;
- for Android, gives ``platform.android_ver()`` the tag's API level (pip's tag code calls it).

Nothing else: ``sys.platform`` (``sys_platform``), ``os.name`` and ``platform.machine()`` stay
the host's. Desktop targets fake nothing (a desktop build runs on its own OS). So a marker on
``sys_platform`` can never tell an Android build from a desktop one; ``platform_system`` can.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

DESKTOP_ONLY = {"livekit", "sounddevice"}
"""No Android or iOS wheels exist for these: a mobile build must skip them."""

# The three build hosts flet-cli supports, as packaging's default_environment() reports them.
HOSTS: dict[str, dict[str, str]] = {
    "linux": {
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "platform_release": "6.8.0-45-generic",
        "platform_version": "#45-Ubuntu SMP PREEMPT_DYNAMIC",
    },
    "darwin": {
        "sys_platform": "darwin",
        "os_name": "posix",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
        "platform_release": "24.1.0",
        "platform_version": "Darwin Kernel Version 24.1.0",
    },
    "win32": {
        "sys_platform": "win32",
        "os_name": "nt",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
        "platform_release": "10",
        "platform_version": "10.0.22631",
    },
}
MOBILE_TARGETS = ("Android", "iOS")


def build_environment(host: str, target: str | None) -> dict[str, str]:
    """The marker environment pip sees on ``host`` building for ``target`` (None: desktop)."""
    env = {**default_environment(), **HOSTS[host]}
    if target is not None:  # what the build's sitecustomize.py fakes, and only that
        env["platform_system"] = target
        env["platform_version"] = env["platform_version"] + ";embedded"
    return env


def requirements(platform: str) -> list[Requirement]:
    """What flet-cli hands to pip for ``platform`` (its config name: android, ios, linux...)."""
    flet = PYPROJECT["tool"]["flet"]
    extra = flet.get(platform, {}).get("dependencies", [])
    return [Requirement(r) for r in [*PYPROJECT["project"]["dependencies"], *extra]]


def installed(reqs: list[Requirement], env: dict[str, str]) -> set[str]:
    # packaging's Marker.evaluate() is what pip runs on each requirement (its vendored copy).
    return {r.name for r in reqs if r.marker is None or r.marker.evaluate(env)}


@pytest.mark.parametrize("host", sorted(HOSTS))
@pytest.mark.parametrize("target", MOBILE_TARGETS)
def test_a_mobile_build_skips_what_has_no_mobile_wheel(host: str, target: str) -> None:
    reqs = requirements(target.lower())
    names = {r.name for r in reqs}
    chosen = installed(reqs, build_environment(host, target))
    assert chosen == names - DESKTOP_ONLY
    assert {"flet", "httpx", "python-socketio"} <= chosen


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_an_android_build_takes_the_extension_and_pyjnius(host: str) -> None:
    chosen = installed(requirements("android"), build_environment(host, "Android"))
    assert {"flet-livekit", "pyjnius"} <= chosen


@pytest.mark.parametrize(
    ("host", "platform"), [("linux", "linux"), ("darwin", "macos"), ("win32", "windows")]
)
def test_a_desktop_build_keeps_the_livekit_sdk(host: str, platform: str) -> None:
    reqs = requirements(platform)
    assert installed(reqs, build_environment(host, None)) == {r.name for r in reqs}


def test_the_old_sys_platform_marker_would_have_failed_every_android_build() -> None:
    # Why the markers read platform_system: this is the marker the APK build tripped over.
    old = Requirement("livekit==1.2.1; sys_platform != 'android'")
    assert old.marker is not None
    assert all(old.marker.evaluate(build_environment(h, "Android")) for h in HOSTS)


def test_pip_itself_skips_them_under_the_builds_fake(tmp_path: Path) -> None:
    """This host's real pip, with a sitecustomize.py that fakes what the build's does."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import platform, sysconfig\n"
        "platform.system = lambda: 'Android'\n"
        "sysconfig.get_platform = lambda: 'android-24-arm64_v8a'\n"
        "_version = platform.version\n"
        "platform.version = lambda: _version() + ';embedded'\n"
        "import collections\n"
        "_Ver = collections.namedtuple('_Ver', 'release api_level manufacturer model device"
        " is_emulator')\n"
        "platform.android_ver = lambda *a, **k: _Ver('', 24, '', '', '', False)\n"
    )
    empty_index = tmp_path / "wheels"
    empty_index.mkdir()
    desktop_only = [str(r) for r in requirements("android") if r.name in DESKTOP_ONLY]
    assert len(desktop_only) == len(DESKTOP_ONLY)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--disable-pip-version-check",
            "--only-binary",
            ":all:",
            "--no-index",
            "--find-links",
            str(empty_index),
            "--target",
            str(tmp_path / "target"),
            *desktop_only,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"},
    )
    # Nothing to install (no index at all, so a requirement pip wanted would fail the run).
    assert done.returncode == 0, done.stdout + done.stderr
    for name in DESKTOP_ONLY:
        assert f"Ignoring {name}: markers" in done.stdout + done.stderr
