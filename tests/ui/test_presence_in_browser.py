"""The app watches the presence of the contacts on its screen, not of everyone (issue 16), in
Chromium against a real call server.

The tenant (``voip-server seed-load``: 120 users) is above the server's presence fan-out limit
(50), so a user's changes reach only the sockets that watch them. The app's log says how many
contacts each of its watches named (``event presence_watched {'count': N}``): a screenful and
its margin, never the whole list (the old app watched its first 200 contacts: 119 here). A
contact far down the list comes online while it is off screen; scrolled to, its row shows
"Online" (the watch of the rows now on screen answers with their presence).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import CallServer
from tests.ui.browser import Browser, User, WebApp, browser
from tests.ui.scenarios import Stack, signed_in
from tests.ui.test_crm_in_browser import ThreadedCaller
from voip_app.engine.presence import FIRST_SCREEN_WATCH

TENANT = 120
FAR = 60
"""The row scrolled to: below the first screenful the app watches before it scrolls."""
WATCHED_MOST = 40
"""A watch names at most this many: the rows a 760-px window shows (about 8 of 76 px, 10 with
the ones cut at its edges) and a screenful above and below; the app's first watch is 30."""
WHEEL_PX = 300
WHEELS_MOST = 60


def email(i: int) -> str:
    return f"u{i}@load.test"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("presence-ui")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[CallServer]:
    with CallServer.start(workdir / "server") as running:
        running.cli("seed-load", str(TENANT))
        yield running


@pytest.fixture(scope="module")
def web_app(workdir: Path, server: CallServer) -> Iterator[WebApp]:
    with WebApp.start(workdir, server_url=server.url) as app:
        yield app


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as driver:
        yield driver


def watch_sizes(workdir: Path) -> list[int]:
    """How many contacts each of the app's watches named, from its log (``var/app.log``)."""
    log = workdir / "var" / "app.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return [int(n) for n in re.findall(r"event presence_watched \{'count': (\d+)\}", text)]


def scroll_to(user: User, identifier: str) -> None:
    """Turn the mouse wheel over the list until the control ``identifier`` is built (it then
    shows at the bottom edge), then once more: it is on screen."""
    top = user.visible(f"contact.{email(1)}").bounding_box()
    assert top is not None
    user.page.mouse.move(top["x"] + top["width"] / 2, top["y"] + top["height"] / 2)
    row = user.page.locator(f'[flt-semantics-identifier="{identifier}"]')
    for _ in range(WHEELS_MOST):
        if row.count():
            user.page.mouse.wheel(0, WHEEL_PX)
            return
        user.page.mouse.wheel(0, WHEEL_PX)
        user.page.evaluate("() => new Promise(r => requestAnimationFrame(r))")  # a frame
    raise AssertionError(f"{identifier} never scrolled into the list")


@pytest.mark.ui
def test_the_app_watches_the_rows_on_screen_and_scrolled_rows_show_presence(
    chromium: Browser, web_app: WebApp, server: CallServer, workdir: Path
) -> None:
    user = chromium.user("u0", web_app.url)
    try:
        signed_in(user, email(0), Stack(api_url=server.url))
        assert user.wait_text(f"contact.{email(1)}.presence", "Offline") == "Offline"
        user.wait_text(f"contact.{email(1)}", "Load User")
        far = ThreadedCaller(server.url, email(FAR))  # online now, while off screen here
        try:
            scroll_to(user, f"contact.{email(FAR)}.presence")
            user.wait_text(f"contact.{email(FAR)}.presence", "Online")
            user.screenshot("contacts-scrolled-desktop-light")
        finally:
            far.close()
        user.wait_text(f"contact.{email(FAR)}.presence", "Offline")  # still watched: it left
        sizes = watch_sizes(workdir)
        assert len(sizes) >= 2, sizes  # the first screenful, then the rows scrolled to
        assert sizes[0] == FIRST_SCREEN_WATCH, sizes
        assert max(sizes) <= WATCHED_MOST, sizes  # never the whole list
    finally:
        user.context.close()
