"""Engine tests: collect garbage after each test, so a leaked socket or task is reported
against the test that leaked it (pytest turns the ResourceWarning into an error)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_leaks() -> Iterator[None]:
    yield
    gc.collect()
