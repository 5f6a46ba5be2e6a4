"""The browser-test harness: the Flet app in web mode, driven by Playwright with Debian's Chromium.

- :class:`WebApp` runs ``app/main.py`` as Flet serves it on the web (``FLET_FORCE_WEB_SERVER``,
  ``FLET_WEB_NO_CDN=true``: the renderer comes from the flet-web package, not a CDN) on
  127.0.0.1 and a free port, with the app's media on a test tone (``VOIP_APP_AUDIO``); its log
  goes to a file and it is stopped at teardown.
- :class:`Browser` is one Playwright driver; :meth:`Browser.user` opens a fresh Chromium profile
  (a new user-data-dir) for one person, blocks every request that is not to 127.0.0.1, loads the
  app and turns Flutter's semantics tree on (a JS click on ``flt-semantics-placeholder``).
- :class:`User` is the web driver of :class:`tests.ui.driver.Screen` (the scenarios of
  ``tests/ui/scenarios.py`` run on it): it finds controls by their semantics identifier
  (``[flt-semantics-identifier="..."]``) and reads the visible text of the identified node.

Nothing here sleeps for a fixed time: every wait is for a condition, with a bound.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    BrowserContext,
    Locator,
    Page,
    Playwright,
    Route,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.support.servers import Managed, free_port, stop_process, wait_for_port
from tests.ui import scenarios
from tests.ui.driver import STEP_TIMEOUT_MS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 60_000
WEB_SESSION_TIMEOUT_S = 2
SESSION_EVICTION_S = 10
"""Flet's web server looks for sessions past their timeout this often."""
TYPE_ATTEMPTS = 3
DESKTOP = {"width": 1180, "height": 760}
PHONE = {"width": 412, "height": 860}
LOCAL_PREFIXES = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")

# Flutter's web semantics put some words in a node's DOM text and others (buttons, merged
# containers) in its aria-label: the visible text of a node is both, label first.
_TEXT_JS = """(id) => {
  const node = document.querySelector(`[flt-semantics-identifier="${id}"]`);
  if (!node) return "";
  const label = (node.getAttribute("aria-label") || "").trim();
  const text = (node.innerText || "").trim();
  return [label, text].filter(Boolean).join(" ");
}"""
_MATCH_JS = "([id, pattern]) => new RegExp(pattern).test((" + _TEXT_JS + ")(id))"


def screenshots_dir() -> Path:
    """Where screenshots go: ``VOIP_SCREENSHOTS_DIR`` (e.g. ``docs/screenshots``) or
    ``test-artifacts/screenshots`` (ignored by git)."""
    configured = os.environ.get("VOIP_SCREENSHOTS_DIR")
    path = Path(configured) if configured else REPO / "test-artifacts" / "screenshots"
    if not path.is_absolute():
        path = REPO / path
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class WebApp(Managed):
    """``app/main.py`` served by Flet's web server on 127.0.0.1."""

    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        server_url: str,
        tone_hz: float = 440.0,
        audio: str | None = None,
        env: dict[str, str] | None = None,
    ) -> WebApp:
        """``audio``: ``VOIP_APP_AUDIO`` (default a tone at ``tone_hz``); ``env``: more
        variables (a sound server's ``PULSE_SERVER``, say)."""
        port = free_port()
        log_path = workdir / f"app-{port}.log"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("VOIP_", "FLET_"))},
            "FLET_FORCE_WEB_SERVER": "true",
            "FLET_SERVER_IP": "127.0.0.1",
            "FLET_SERVER_PORT": str(port),
            "FLET_WEB_NO_CDN": "true",
            "FLET_LOG_LEVEL": "info",
            # a closed tab's session ends quickly (the app's web default is 30 s): see
            # test_closing_the_tab_signs_that_device_out
            "FLET_SESSION_TIMEOUT": str(WEB_SESSION_TIMEOUT_S),
            "VOIP_SERVER_URL": server_url,
            "VOIP_APP_AUDIO": audio or f"tone:{tone_hz}",
            "PYTHONPATH": os.pathsep.join([str(REPO / "app"), str(REPO)]),
            **(env or {}),
        }
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, str(REPO / "app" / "main.py")],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        app = cls(port=port, log_path=log_path, proc=proc)
        try:
            wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        except Exception:
            app.stop()
            raise
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    @property
    def app_log_path(self) -> Path:
        """The app's own log (``var/app.log`` in its working directory)."""
        return self.log_path.parent / "var" / "app.log"

    def app_log_lines(self, since: int = 0, last: int = 40) -> str:
        """The app's own log (``var/app.log``: calls, devices, errors) from byte ``since`` on,
        its ``last`` lines at most: what a failed test shows (CI's report keeps the first
        screenful of a failure, so it stays short)."""
        path = self.app_log_path
        if not path.exists():
            return ""
        with path.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        skipped = f"[{len(lines) - last} earlier lines left out]\n" if len(lines) > last else ""
        return skipped + "\n".join(lines[-last:])

    def app_log_size(self) -> int:
        """Where the app's log ends now: :meth:`wait_app_log` from there."""
        path = self.app_log_path
        return path.stat().st_size if path.exists() else 0

    def wait_app_log(self, text: str, since: int, timeout_s: float = 20.0) -> None:
        """Wait until the app's log, from byte ``since`` on, holds ``text``."""
        path = self.app_log_path
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with path.open("rb") as log:
                log.seek(since)
                if text.encode() in log.read():
                    return
            time.sleep(0.1)
        raise AssertionError(f"the app did not log {text!r} in {timeout_s:.0f} s")

    def stop(self) -> None:
        stop_process(self.proc)

    def report_failure(self) -> None:
        print(f"--- var/app.log of the app on port {self.port}:\n{self.app_log_lines(last=60)}")


class TabLink:
    """The WebSocket between a user's tab and the app, which the test can cut: Playwright
    carries it (``route_web_socket``), the page reloaded so its socket goes that way."""

    def __init__(self, user: User) -> None:
        self._user = user
        self._up = True
        self._sockets: list[WebSocketRoute] = []
        user.page.route_web_socket(re.compile(r"/ws$"), self._route)
        user.page.reload()
        _enable_semantics(user.page)

    def _route(self, socket: WebSocketRoute) -> None:
        if self._up:
            socket.connect_to_server()
            self._sockets.append(socket)
        else:  # the tab keeps retrying; each try fails until the link is up again
            socket.close()

    def down(self) -> None:
        """Close the socket (the app sees the tab go) and refuse the tab's retries."""
        self._up = False
        for socket in self._sockets:
            socket.close()
        self._sockets.clear()

    def up(self) -> None:
        """Let the tab's next try through, and make it now: a reload, which joins the same
        Flet session as the tab's own retry would (that retry may wait half a minute)."""
        self._up = True
        self._user.page.reload()
        _enable_semantics(self._user.page)


@dataclass
class User:
    """One person's browser (one Chromium profile) on the app: a :class:`tests.ui.driver.Screen`."""

    name: str
    context: BrowserContext
    page: Page
    look: str = "desktop-light"
    blocked: list[str] = field(default_factory=list)

    # --- finding and reading ---------------------------------------------------------------------

    def node(self, identifier: str) -> Locator:
        return self.page.locator(f'[flt-semantics-identifier="{identifier}"]').first

    def nodes_starting(self, prefix: str) -> Locator:
        return self.page.locator(f'[flt-semantics-identifier^="{prefix}"]')

    def visible(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> Locator:
        node = self.node(identifier)
        expect(node).to_be_attached(timeout=timeout_ms)
        return node

    def gone(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        expect(self.page.locator(f'[flt-semantics-identifier="{identifier}"]')).to_have_count(
            0, timeout=timeout_ms
        )

    def text(self, identifier: str) -> str:
        """The node's visible text: its text, or for a button its accessible name."""
        self.visible(identifier)
        return str(self.page.evaluate(_TEXT_JS, identifier)).strip()

    def wait_text(self, identifier: str, pattern: str, timeout_ms: int = STEP_TIMEOUT_MS) -> str:
        """Wait until the node's visible text matches ``pattern`` (a regex); return the text."""
        self.visible(identifier, timeout_ms)
        try:
            self.page.wait_for_function(
                _MATCH_JS, arg=[identifier, pattern], timeout=timeout_ms, polling=100
            )
        except PlaywrightTimeout as exc:
            raise AssertionError(
                f"{self.name}: {identifier!r} never matched {pattern!r}; "
                f"it reads {self.text(identifier)!r}"
            ) from exc
        return self.text(identifier)

    # --- acting ----------------------------------------------------------------------------------

    def click(self, identifier: str) -> None:
        self.visible(identifier).click()

    def wait_field_value(self, identifier: str, text: str) -> None:
        """Wait until a text field holds ``text``. Flutter web fills the DOM input only while
        the field has the focus, and swaps in its own editing element just after it takes it:
        read at once, the input may still be the empty one."""
        field_node = self.visible(identifier)
        field_node.click()
        field_input = field_node.locator("input").first
        expect(field_input).to_be_focused(timeout=STEP_TIMEOUT_MS)
        expect(field_input).to_have_value(text, timeout=STEP_TIMEOUT_MS)

    def type_into(self, identifier: str, text: str) -> None:
        """Replace the field's text with ``text``, typed key by key.

        Flutter web swaps in its own editing element just after a field takes the focus; a key
        pressed in that instant can land in the old one. So the result is checked, and the
        field retyped (a bounded number of times) when a key went missing.
        """
        field_node = self.visible(identifier)
        field_input = field_node.locator("input").first
        for _ in range(TYPE_ATTEMPTS):
            field_node.click()
            expect(field_input).to_be_focused(timeout=STEP_TIMEOUT_MS)
            self.page.keyboard.press("Control+A")
            self.page.keyboard.press("Delete")
            self.page.keyboard.type(text)
            if field_input.input_value() == text:
                return
        expect(field_input).to_have_value(text, timeout=STEP_TIMEOUT_MS)

    def sign_in(self, email: str, password: str, server_url: str | None = None) -> None:
        scenarios.sign_in(self, email, password, server_url)

    def go(self, tab: str) -> None:
        """``contacts``, ``history`` or ``settings``."""
        scenarios.go(self, tab)

    def reload(self) -> None:
        """Load the app again in the same profile (what a restart of the app looks like)."""
        self.page.reload()
        _enable_semantics(self.page)

    def screenshot(self, name: str) -> Path:
        """Save the window as ``<name>.png`` once the frame has settled."""
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        path = screenshots_dir() / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def _enable_semantics(page: Page) -> None:
    """Wait for Flutter, turn its semantics tree on, wait for the first identified node."""
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=LOAD_TIMEOUT_MS)
    page.evaluate("() => document.querySelector('flt-semantics-placeholder').click()")
    page.wait_for_selector("[flt-semantics-identifier]", state="attached", timeout=LOAD_TIMEOUT_MS)


class Browser:
    """One Playwright driver; every :meth:`user` is a fresh Chromium profile, closed at exit."""

    def __init__(self) -> None:
        self._manager = sync_playwright()
        self._pw: Playwright = self._manager.start()
        self._profiles: list[tempfile.TemporaryDirectory[str]] = []
        self._users: list[User] = []

    def user(
        self,
        name: str,
        app_url: str,
        *,
        viewport: dict[str, int] | None = None,
        dark: bool = False,
    ) -> User:
        profile = tempfile.TemporaryDirectory(prefix=f"chromium-{name}-")
        self._profiles.append(profile)
        context = self._pw.chromium.launch_persistent_context(
            profile.name,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=viewport or DESKTOP,  # type: ignore[arg-type]
            color_scheme="dark" if dark else "light",
        )
        blocked: list[str] = []

        def only_local(route: Route) -> None:
            url = route.request.url
            if url.startswith(LOCAL_PREFIXES):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        context.route("**/*", only_local)
        page = context.pages[0] if context.pages else context.new_page()
        look = f"{'phone' if viewport == PHONE else 'desktop'}-{'dark' if dark else 'light'}"
        user = User(name=name, context=context, page=page, look=look, blocked=blocked)
        self._users.append(user)
        page.goto(app_url)
        _enable_semantics(page)
        return user

    def close(self) -> None:
        for user in self._users:
            with contextlib.suppress(Exception):
                user.context.close()
        self._users.clear()
        for profile in self._profiles:
            profile.cleanup()
        self._profiles.clear()
        self._manager.__exit__(None, None, None)


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    driver = Browser()
    try:
        yield driver
    finally:
        driver.close()
