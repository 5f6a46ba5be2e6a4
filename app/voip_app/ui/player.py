"""Playing a call recording from the history (flet-audio, which takes a URL).

Each recording plays in a :class:`flet_audio.Audio` service made for its signed URL, in the
page's context (the click's handler): a service takes its source when it registers with the page.
The one playing before is stopped. A player that cannot play (a browser refusing sound) is
logged, never a failure of the screen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import flet_audio as fta

from voip_app.ui.ports import Spawn

log = logging.getLogger(__name__)


class FletPlayer:
    """:class:`voip_app.ui.ports.Player` for one page."""

    def __init__(self, spawn: Spawn) -> None:
        self._spawn = spawn
        self._audio: fta.Audio | None = None
        self.src: str | None = None
        """What it plays (or last played)."""

    def _run(self, action: Callable[[], Awaitable[None]], what: str) -> None:
        async def guarded() -> None:
            try:
                await action()
            except Exception as exc:
                log.info("recording %s failed: %s", what, exc)

        self._spawn(guarded)

    def play(self, url: str) -> None:
        if self._audio is not None:
            self._run(self._audio.release, "release")
        self.src = url
        self._audio = audio = fta.Audio(src=url, release_mode=fta.ReleaseMode.STOP)
        self._run(audio.play, "play")
