"""Playing a call recording from the history (flet-audio, which takes a URL).

Built inside the page's context, like the ringer (:mod:`voip_app.ui.ringer`): one
:class:`flet_audio.Audio` service per page, whose source becomes each recording's signed URL.
A player that cannot play (a browser refusing sound) is logged, never a failure of the screen.
"""

from __future__ import annotations

import logging

import flet_audio as fta

from voip_app.ui.ports import Spawn

log = logging.getLogger(__name__)


class FletPlayer:
    """:class:`voip_app.ui.ports.Player` for one page."""

    def __init__(self, spawn: Spawn) -> None:
        self._spawn = spawn
        self._audio = fta.Audio(release_mode=fta.ReleaseMode.STOP, volume=1.0)
        self.src: str | None = None
        """What it plays (or last played)."""

    def play(self, url: str) -> None:
        self.src = url

        async def start() -> None:
            try:
                self._audio.src = url
                self._audio.update()
                await self._audio.play()
            except Exception as exc:
                log.info("recording playback failed: %s", exc)

        self._spawn(start)
