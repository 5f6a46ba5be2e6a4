"""Test session set-up shared by every layer.

The whole pytest process enters a private network namespace first (see
:mod:`tests.support.netns`): loopback plus two veth addresses for media, and no route anywhere
else, so no test can reach the internet even by mistake.
"""

from __future__ import annotations

import pytest

from tests.support import netns

_NETNS_ERROR = netns.enter_private_netns()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _NETNS_ERROR is None:
        return
    skip = pytest.mark.skip(reason=f"no private network namespace: {_NETNS_ERROR}")
    for item in items:
        if "media" in item.keywords:
            item.add_marker(skip)
