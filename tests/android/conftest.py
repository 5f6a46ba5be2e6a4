from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.android.fake_dart import FakeFletClient, new_client


@pytest.fixture
async def client() -> AsyncIterator[FakeFletClient]:
    fake = new_client()
    yield fake
    await fake.close()
    assert fake.crashes == [], "an on_* handler raised inside the Flet session"
