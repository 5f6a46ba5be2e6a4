"""Fixtures for the JS SDK layer: one devsfu, one page server and one Chromium per module.

devsfu listens on :data:`tests.support.netns.HOST_A` (WebRTC ignores loopback candidates), the
page server on 127.0.0.1; Chromium runs inside the test process's network namespace, so neither
it nor the SDK can reach anything else. Each test opens its own callers (fresh browser contexts)
and joins its own room.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.jssdk.pages import (
    Caller,
    Chromium,
    Join,
    PageServer,
    chromium,
    join_token,
    missing_sdks,
)
from tests.support import netns
from tests.support.devsfu import DevSfu, running_devsfu


@pytest.fixture(scope="module")
def sdks_installed() -> None:
    missing = missing_sdks()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}; run `make jssdk` (npm ci)")


@pytest.fixture(scope="module")
def sfu(sdks_installed: None) -> Iterator[DevSfu]:
    with running_devsfu(host=netns.HOST_A) as server:
        yield server


@pytest.fixture(scope="module")
def pages(sdks_installed: None) -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser(sfu: DevSfu) -> Iterator[Chromium]:
    with chromium(allowed_hosts=(sfu.host,)) as driver:
        yield driver


@pytest.fixture
def callers() -> Iterator[list[Caller]]:
    """The callers a test opened; their contexts are closed afterwards."""
    opened: list[Caller] = []
    yield opened
    for caller in opened:
        caller.context.close()


@pytest.fixture
def room() -> str:
    return f"js-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def join(
    sfu: DevSfu, pages: PageServer, browser: Chromium, callers: list[Caller], room: str
) -> Join:
    """Open a page with SDK ``version`` for ``name`` and join ``room``; fail if it cannot."""

    def joined(name: str, version: str) -> Caller:
        caller = browser.caller(name, pages.url(version))
        callers.append(caller)
        result = caller.connect(sfu.url, join_token(sfu, name, room))
        if not result["ok"]:
            said = "\n".join(line[:300] for line in caller.console[-8:])
            raise AssertionError(f"{name} ({version}) could not join: {result}\n{said}")
        return caller

    return joined
