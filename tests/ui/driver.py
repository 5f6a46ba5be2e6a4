"""The small interface every UI driver gives the scenarios: one person's app, found by identifier.

A :class:`Screen` is one person's running app, wherever it runs: the Flet app in a headless
Chromium tab (:class:`tests.ui.browser.User`, Playwright) or the APK on a phone or emulator
(:class:`tests.device.android_driver.AndroidScreen`, uiautomator2). Controls are found by the
contract's semantics identifiers (``docs/contract.md``, "UI identifiers"): Flutter puts them in
the DOM as ``flt-semantics-identifier`` on the web and in the accessibility tree as the view's
``resource-id`` on Android. Text a test reads is the identified control's visible text.

Every wait is for a condition, bounded by ``timeout_ms``; a driver raises ``AssertionError`` (or
its own timeout error) with the identifier when a condition never holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

STEP_TIMEOUT_MS = 20_000
"""How long one UI step may take (a loaded CI machine, a slow emulator)."""


class Screen(Protocol):
    """One person's app."""

    name: str
    look: str
    """How it looks, for screenshot names: ``desktop-light``, ``phone-dark``..."""

    def visible(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> object:
        """Wait until the control is on screen."""
        ...

    def gone(self, identifier: str, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        """Wait until no control has this identifier."""

    def click(self, identifier: str) -> None: ...

    def type_into(self, identifier: str, text: str) -> None:
        """Replace the text field's text with ``text``."""

    def text(self, identifier: str) -> str:
        """The control's visible text (its label and its text)."""
        ...

    def wait_text(self, identifier: str, pattern: str, timeout_ms: int = STEP_TIMEOUT_MS) -> str:
        """Wait until the control's visible text matches ``pattern`` (a regex); return it."""
        ...

    def screenshot(self, name: str) -> Path | None:
        """Save what the person sees as ``<name>.png`` (``None`` where a driver cannot)."""
        ...
