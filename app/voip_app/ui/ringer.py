"""The ringtone (flet-audio, looping) and the ring vibration (the platform), as one :class:`Ringer`.

Built inside the page's context (``app/main.py``): the :class:`flet_audio.Audio` service registers
itself with that page. Playing is fire-and-forget through the app's ``spawn`` (nothing, while a
browser tab is away); a browser that refuses to
play sound before a user gesture, or a device without a speaker, leaves the call ringing on
screen (and vibrating) rather than failing it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import flet_audio as fta

from voip_app.platform import Platform
from voip_app.ui.ports import Spawn

log = logging.getLogger(__name__)

RINGTONE_ASSET = "sounds/ringtone.wav"


class FletRinger:
    """:class:`voip_app.ui.ports.Ringer` for one page."""

    def __init__(self, spawn: Spawn, platform: Platform, src: str = RINGTONE_ASSET) -> None:
        self._spawn = spawn
        self._platform = platform
        self._audio = fta.Audio(src=src, release_mode=fta.ReleaseMode.LOOP, volume=0.8)
        self.ringing = False
        """Whether it rings now: the one place that knows."""

    def _run(self, action: Callable[[], Awaitable[None]], what: str) -> None:
        async def guarded() -> None:
            try:
                await action()
            except Exception as exc:  # no sound is not a reason to drop the call
                log.info("ringtone %s failed: %s", what, exc)

        self._spawn(guarded)

    def set_ringing(self, ringing: bool) -> None:
        """Start or stop the ringtone and the vibration; the same as now changes nothing."""
        if ringing == self.ringing:
            return
        self.ringing = ringing
        if ringing:
            self._platform.start_ring_vibration()
            self._run(self._audio.play, "play")
        else:
            self._platform.stop_vibration()
            self._run(self._audio.pause, "stop")
