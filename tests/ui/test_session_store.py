"""The remembered sign-in keeps the access token only in the secure store, or in memory where
there is none; never in the shared preferences (a 0644 file on Linux, localStorage on the web).
The preferences and the vault here are dictionaries standing in for Flet's services."""

from __future__ import annotations

from typing import Any

from voip_app.ui.session_store import PreferencesStore

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
