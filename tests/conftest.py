"""Test session set-up shared by every layer.

The whole pytest process enters a private network namespace first (see
:mod:`tests.support.netns`): loopback plus two veth addresses for media, and no route anywhere
else, so no test can reach the internet even by mistake.

A layer that needs a real component (a network namespace, PostgreSQL, redis-server, PulseAudio,
Chromium, LiveKit's JS SDK from npm) skips with the reason where that component cannot be had, so
a developer without root can still run the rest. In CI (``CI`` set) such a skip fails instead:
there ``make test`` installs every component, and a layer that silently stopped running would
prove nothing.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from tests.support import netns

_NETNS_ERROR = netns.enter_private_netns()
REAL_COMPONENT_MARKERS = ("media", "postgres", "redis", "audio", "ui", "jssdk")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _NETNS_ERROR is None:
        return
    skip = pytest.mark.skip(reason=f"no private network namespace: {_NETNS_ERROR}")
    for item in items:
        if "media" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.skipped
        and os.environ.get("CI")
        and any(marker in item.keywords for marker in REAL_COMPONENT_MARKERS)
    ):
        report.outcome = "failed"
        report.longrepr = (
            f"CI must run every real-component layer, but it skipped: {report.longrepr}"
        )
    return report
