"""Engine tests: collect garbage after each test, so a leaked socket or task is reported
against the test that leaked it (pytest turns the ResourceWarning into an error); ``server``,
a real call server seeded with the demo tenants, for the end-to-end modules."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import CallServer


@pytest.fixture(autouse=True)
def _collect_leaks() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def server_env() -> dict[str, str]:
    """The environment of the ``server`` fixture's call server; a module overrides it."""
    return {}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[CallServer]:
    """A call server of this test's own, seeded (``voip-server seed-demo``)."""
    with CallServer.start(tmp_path, env=server_env, seed_demo=True) as running:
        yield running
