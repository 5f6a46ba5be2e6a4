"""The remembered sign-in keeps the access token only in the secure store, or in memory where
there is none; never in the shared preferences (a 0644 file on Linux, localStorage on the web).
The preferences and the vault here are dictionaries standing in for Flet's services; a client
that answers late, or never, is written here too (each request waits 5 s on the clock)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from voip_app.clock import FakeClock
from voip_app.ui.session_store import PreferencesStore

T = TypeVar("T")

TOKEN_KEY = "crm_calls.access_token"


class Dict:
    def __init__(self, **values: Any) -> None:
        self.values: dict[str, Any] = dict(values)

    async def get(self, key: str) -> Any:
        return self.values.get(key)

    async def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    async def remove(self, key: str) -> None:
        self.values.pop(key, None)


async def test_the_token_goes_to_the_vault_never_to_the_preferences() -> None:
    prefs, vault = Dict(), Dict()
    store = PreferencesStore(prefs, vault)
    await store.save("https://calls.test", "a@x.test", "tok-1")
    assert "tok-1" not in prefs.values.values()
    assert vault.values == {TOKEN_KEY: "tok-1"}
    # a later launch (a new store over the same storage) resumes with it
    assert await PreferencesStore(prefs, vault).load() == (
        "https://calls.test",
        "a@x.test",
        "tok-1",
    )
    await store.clear()
    assert vault.values == {}
    assert await store.load() == ("https://calls.test", "a@x.test", "")


async def test_without_a_vault_the_token_lives_in_memory_only() -> None:
    prefs = Dict()
    store = PreferencesStore(prefs)
    await store.save("https://calls.test", "a@x.test", "tok-1")
    assert "tok-1" not in prefs.values.values()
    assert await store.load() == ("https://calls.test", "a@x.test", "tok-1")
    assert await PreferencesStore(prefs).load() == ("https://calls.test", "a@x.test", "")


async def test_a_token_left_in_the_clear_by_an_older_version_is_deleted() -> None:
    prefs = Dict(**{TOKEN_KEY: "old", "crm_calls.server_url": "u", "crm_calls.email": "e"})
    assert await PreferencesStore(prefs, Dict()).load() == ("u", "e", "")
    assert TOKEN_KEY not in prefs.values


class Silent:
    """A client that never answers (a tab gone in the middle of a request, a lost reply)."""

    def __init__(self) -> None:
        self.asked = 0

    async def get(self, key: str) -> Any:
        return await self._never()

    async def set(self, key: str, value: Any) -> None:
        await self._never()

    async def remove(self, key: str) -> None:
        await self._never()

    async def _never(self) -> Any:
        self.asked += 1
        await asyncio.Event().wait()


class Slow(Dict):
    """A client that answers each request ``delay_s`` seconds late on ``clock``."""

    def __init__(self, clock: FakeClock, delay_s: float) -> None:
        super().__init__()
        self.clock, self.delay_s = clock, delay_s

    async def get(self, key: str) -> Any:
        await self.clock.sleep(self.delay_s)
        return await super().get(key)

    async def set(self, key: str, value: Any) -> None:
        await self.clock.sleep(self.delay_s)
        await super().set(key, value)


async def _run_on(clock: FakeClock, step_s: float, work: Awaitable[T]) -> T:
    """Run ``work``, moving ``clock`` on by ``step_s`` whenever everything sleeps on it."""
    task = asyncio.ensure_future(work)
    while not task.done():
        with contextlib.suppress(TimeoutError):
            await clock.until_sleeping(within_s=0.5)
            clock.advance(step_s)
    return task.result()


async def test_a_client_that_never_answers_holds_up_no_sign_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each request waits 5 s at most; then a read finds nothing and a write is not kept.
    clock, prefs = FakeClock(), Silent()
    store = PreferencesStore(prefs, clock=clock)
    started = clock.now()
    await _run_on(clock, 5.0, store.save("https://calls.test", "a@x.test", "tok-1"))
    assert (clock.now() - started).total_seconds() == 10.0  # two writes, 5 s each
    assert prefs.asked == 2
    assert "did not write server_url in 5 s" in caplog.text
    assert await _run_on(clock, 5.0, store.load()) is None  # nothing could be read back
    device_id = await _run_on(clock, 5.0, store.device_id())
    assert re.fullmatch("[0-9a-f]{12}", device_id)  # made here, for this run


async def test_a_slow_answer_within_the_wait_is_used() -> None:
    clock = FakeClock()
    prefs = Slow(clock, delay_s=4.0)
    store = PreferencesStore(prefs, clock=clock)
    await _run_on(clock, 4.0, store.save("https://calls.test", "a@x.test", "tok-1"))
    assert prefs.values == {
        "crm_calls.server_url": "https://calls.test",
        "crm_calls.email": "a@x.test",
    }
    assert await _run_on(clock, 4.0, store.load()) == ("https://calls.test", "a@x.test", "tok-1")
