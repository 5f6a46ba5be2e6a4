"""Fixtures for the browser tests: devsfu, the call server, the app in web mode, Chromium.

One set per test module (starting them costs seconds; every test signs its users in afresh in
new browser profiles, so tests share nothing but the servers). devsfu listens on
:data:`tests.support.netns.HOST_A`: the app's media (the livekit SDK in the app's process) needs
a non-loopback address; the call server and the app listen on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu
from tests.support.servers import CallServer, free_port
from tests.ui.browser import PHONE, Browser, User, WebApp, browser
from tests.ui.scenarios import Stack

APP_LOG_MARK = pytest.StashKey[int]()
"""Where the module app's log stood when a test began."""

RING_TIMEOUT_S = 25
"""Long enough for a loaded CI machine to answer; the missed-call test runs its own server."""


def server_env(sfu: DevSfu, ring_timeout_s: float) -> dict[str, str]:
    return {
        "VOIP_LIVEKIT_URL": sfu.url,
        "VOIP_LIVEKIT_API_URL": sfu.http_url,
        "VOIP_LIVEKIT_API_KEY": sfu.api_key,
        "VOIP_LIVEKIT_API_SECRET": sfu.api_secret,
        "VOIP_RING_TIMEOUT_S": str(ring_timeout_s),
        "VOIP_WEBHOOK_ALLOW_PRIVATE": "true",  # the Webhooks screen's test receiver is on loopback
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the module's app shows what the app logged during that test
    (the app outlives the test, so its own report on failure does not run)."""
    report = yield
    web_app = getattr(item, "funcargs", {}).get("web_app")
    if not isinstance(web_app, WebApp):
        return report
    if report.when == "setup":
        item.stash[APP_LOG_MARK] = web_app.app_log_size()
    elif report.when == "call" and report.failed:
        since = item.stash.get(APP_LOG_MARK, 0)
        report.sections.append(("the app's log during the test", web_app.app_log_lines(since)))
    return report


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="module")
def server_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def sfu(workdir: Path, server_port: int) -> Iterator[DevSfu]:
    if netns.enter_private_netns() is not None:
        pytest.skip("no private network namespace for devsfu")
    webhook = f"http://127.0.0.1:{server_port}/api/livekit/webhook"
    with running_devsfu(
        host=netns.HOST_A, webhook_url=webhook, log_path=workdir / "devsfu.log"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def call_server(workdir: Path, sfu: DevSfu, server_port: int) -> Iterator[CallServer]:
    with CallServer.start(
        workdir / "server",
        env=server_env(sfu, RING_TIMEOUT_S),
        port=server_port,
        seed_demo=True,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def web_app(workdir: Path, call_server: CallServer) -> Iterator[WebApp]:
    with WebApp.start(workdir, server_url=call_server.url) as app:
        yield app


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as driver:
        yield driver


@pytest.fixture
def stack(call_server: CallServer) -> Stack:
    """The app starts with the server's address filled in (``VOIP_SERVER_URL``)."""
    return Stack(api_url=call_server.url)


@pytest.fixture
def alice(chromium: Browser, web_app: WebApp) -> Iterator[User]:
    """Alice's browser profile on the app: the desktop layout, light."""
    user = chromium.user("alice", web_app.url)
    yield user
    user.context.close()


@pytest.fixture
def bob(chromium: Browser, web_app: WebApp) -> Iterator[User]:
    """Bob's: the phone layout, dark."""
    user = chromium.user("bob", web_app.url, viewport=PHONE, dark=True)
    yield user
    user.context.close()
