"""LiveKit's JS SDK in headless Chromium: the harness page, served from loopback, and its callers.

- :data:`SDKS`: the pinned ``livekit-client`` versions (``package.json``; ``make jssdk`` runs
  ``npm ci``), each by the npm package (or alias) that holds it in ``node_modules``.
  :func:`missing_sdks` says what is not installed as pinned.
- :class:`PageServer` serves ``page/index.html`` at ``/<package>/`` with that package's UMD bundle
  next to it, and ``page/harness.js``, on 127.0.0.1 (so the page's origin is not devsfu's: every
  fetch the SDK makes to devsfu is cross-origin, as in a real web app).
- :class:`Chromium` is one headless Chromium (Debian's, driven by Playwright, the UI layer's
  flags); :meth:`Chromium.caller` opens a fresh context and page for one participant, letting
  through only requests to 127.0.0.1 and to devsfu's address (the SDK's ``/rtc/validate``
  fetch); every other request is aborted and recorded.
- :class:`Caller` drives ``window.harness`` on its page and measures the tone it hears
  (``tests/devsfu/tones.py`` on the samples a WebAudio ``AnalyserNode`` saw).

Nothing here sleeps for a fixed time: every wait is for a condition, with a bound.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
from livekit import api
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.devsfu.tones import dominant_hz, rms_dbfs
from tests.support.devsfu import DevSfu
from tests.support.loopback_http import LoopbackHTTPServer
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
PAGE = HERE / "page"
STEP_TIMEOUT_MS = 15_000
POLL_MS = 100
STEADY_DB = 0.5
# A steady sine needs no microphone; Chromium must show its real host candidates (not mDNS
# names, which devsfu cannot resolve) although the page never asks for the microphone.
JSSDK_CHROMIUM_ARGS = [
    *CHROMIUM_ARGS,
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def _pinned() -> dict[str, str]:
    """``{version: npm package}`` from ``package.json`` (``npm:livekit-client@X`` aliases)."""
    deps: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
    pins = {}
    for package, spec in deps.items():
        if package.startswith("livekit-client"):
            version = spec.rpartition("@")[2] if spec.startswith("npm:") else spec
            pins[version] = package
    return pins


SDKS = _pinned()


def join_token(sfu: DevSfu, identity: str, room: str, *, secret: str | None = None) -> str:
    """A token to join ``room`` as ``identity`` (signed with ``secret`` to have it refused)."""
    return (
        api.AccessToken(sfu.api_key, secret or sfu.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_ttl(datetime.timedelta(minutes=10))
        .to_jwt()
    )


def missing_sdks() -> list[str]:
    """The pinned SDK versions that ``node_modules`` does not hold as pinned."""
    missing = []
    for version, package in SDKS.items():
        manifest = NODE_MODULES / package / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            missing.append(f"livekit-client {version} ({package})")
    return missing


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        package, _, rest = self.path.lstrip("/").partition("/")
        if self.path == "/harness.js":
            self._send(PAGE / "harness.js", "text/javascript")
        elif package in SDKS.values() and rest == "":
            self._send(PAGE / "index.html", "text/html")
        elif package in SDKS.values() and rest == "livekit-client.umd.js":
            self._send(NODE_MODULES / package / "dist" / rest, "text/javascript")
        else:
            self.send_error(404)

    def _send(self, path: Path, content_type: str) -> None:
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class PageServer:
    """The harness page and the pinned SDK bundles on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self._http = LoopbackHTTPServer(partial(_Handler, directory=PAGE))

    def url(self, version: str) -> str:
        return f"{self._http.origin}/{SDKS[version]}/"

    def close(self) -> None:
        self._http.close()


@dataclass
class Caller:
    """One participant: a Chromium page running the harness with one SDK version."""

    name: str
    page: Page
    context: BrowserContext
    console: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def call(self, function: str, *args: Any) -> Any:
        """``await harness.<function>(*args)`` in the page."""
        return self.page.evaluate(f"(args) => window.harness.{function}(...args)", list(args))

    def connect(self, url: str, token: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("connect", url, token)
        return result

    def wait_for_event(self, kind: str, identity: str, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        try:
            self.page.wait_for_function(
                "([kind, who]) => window.harness.events.some("
                "(e) => e.kind === kind && e.identity === who)",
                arg=[kind, identity],
                timeout=timeout_ms,
                polling=50,
            )
        except PlaywrightTimeout as exc:
            events = self.page.evaluate("() => window.harness.events")
            raise AssertionError(f"{self.name}: no {kind} of {identity}; saw {events}") from exc

    def tone(self, identity: str) -> tuple[float, float]:
        """The dominant frequency (Hz) and level (dBFS) of the last third of a second heard."""
        heard = self.call("samples", identity)
        samples = np.clip(np.asarray(heard["samples"]) * 32768.0, -32768, 32767).astype(np.int16)
        return dominant_hz(samples, int(heard["rate"])), rms_dbfs(samples)

    def wait_for_level(
        self, identity: str, dbfs: float, *, below: bool, timeout_ms: int = STEP_TIMEOUT_MS
    ) -> tuple[float, float]:
        """Measure every 100 ms until the level is below (or above) ``dbfs``; return the tone."""
        hz, level = 0.0, -120.0
        for _ in range(timeout_ms // POLL_MS):
            hz, level = self.tone(identity)
            if (level < dbfs) if below else (level > dbfs):
                return hz, level
            self.page.wait_for_timeout(POLL_MS)
        side = "below" if below else "above"
        raise AssertionError(f"{self.name}: {identity} never {side} {dbfs} dBFS (last {level:.1f})")

    def steady_tone(self, identity: str, timeout_ms: int = STEP_TIMEOUT_MS) -> tuple[float, float]:
        """The tone once two measurements 100 ms apart agree (the window is all tone, no onset)."""
        previous = self.tone(identity)
        for _ in range(timeout_ms // POLL_MS):
            self.page.wait_for_timeout(POLL_MS)
            current = self.tone(identity)
            if abs(current[1] - previous[1]) < STEADY_DB and current[1] > -60.0:
                return current
            previous = current
        raise AssertionError(f"{self.name}: {identity}'s tone never steadied (last {previous})")


Join = Callable[[str, str], Caller]
"""``join(name, version)``: a caller with SDK ``version`` that joined the test's room."""


class Chromium:
    """One headless Chromium; each :meth:`caller` is a fresh context (no shared state)."""

    def __init__(self, allowed_hosts: tuple[str, ...]) -> None:
        self._manager = sync_playwright()
        playwright = self._manager.start()
        self._browser: Browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=JSSDK_CHROMIUM_ARGS
        )
        self._prefixes = tuple(
            f"{scheme}://{host}:"
            for host in ("127.0.0.1", *allowed_hosts)
            for scheme in ("http", "ws")
        )

    def caller(self, name: str, url: str) -> Caller:
        context = self._browser.new_context()
        page = context.new_page()
        caller = Caller(name, page, context)
        page.on("console", lambda message: caller.console.append(message.text))

        def only_local(route: Route) -> None:
            if route.request.url.startswith(self._prefixes):
                route.continue_()
            else:
                caller.blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page.goto(url)
        page.wait_for_function("() => window.harness !== undefined", timeout=STEP_TIMEOUT_MS)
        return caller

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._browser.close()
        self._manager.__exit__(None, None, None)


@contextlib.contextmanager
def chromium(allowed_hosts: tuple[str, ...]) -> Iterator[Chromium]:
    driver = Chromium(allowed_hosts)
    try:
        yield driver
    finally:
        driver.close()
