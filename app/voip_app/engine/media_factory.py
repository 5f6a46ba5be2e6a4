"""Where the engine's media sessions come from: the user's device choices, the factory that makes
a session for a join, and the desktop's factory (the livekit SDK with the system's sound
devices), which can get ready while a call rings."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from voip_app.engine.snapshot import log
from voip_app.media.base import MediaSession


@dataclass(frozen=True, slots=True)
class MediaPrefs:
    """The user's device choices, handed to the media factory for every join."""

    input_id: str | None = None
    output_id: str | None = None


MediaFactory = Callable[[MediaPrefs], MediaSession]


@runtime_checkable
class PreparingFactory(Protocol):
    """A media factory that can get ready for a join while the call still rings (optional)."""

    def __call__(self, prefs: MediaPrefs) -> MediaSession: ...

    def prepare(self) -> None:
        """Start loading what a join needs; returns at once, never raises."""


class DesktopMedia:
    """Desktop: the livekit SDK with the system's sound devices (imported only when used, so
    that the app starts without them and Android, which has no livekit Python SDK, imports this
    module too)."""

    def __init__(self) -> None:
        self._loading: threading.Thread | None = None

    def __call__(self, prefs: MediaPrefs) -> MediaSession:
        from voip_app.audio.devices import DeviceAudio, list_devices
        from voip_app.media.livekit_session import LiveKitMediaSession

        audio = DeviceAudio(input_device=prefs.input_id, output_device=prefs.output_id)
        return LiveKitMediaSession(
            audio_input=audio.input,
            audio_output=audio.output,
            outputs=lambda: list_devices("output"),
        )

    def prepare(self) -> None:
        """Load the livekit SDK and the device modules in a thread, once: 64-106 ms in the
        app's process (measured), which would otherwise come between the first call's answer
        and its join. Devices are not opened here (they open during the join): a microphone
        opened while a call rings would light the recording indicator before the answer."""
        if self._loading is None:
            self._loading = threading.Thread(target=_load_desktop_media, daemon=True)
            self._loading.start()

    def join_loading(self, timeout: float | None = None) -> None:
        """Wait for :meth:`prepare`'s loading to end (for tests)."""
        if self._loading is not None:
            self._loading.join(timeout)


def _load_desktop_media() -> None:
    # In the order __call__ imports them, so both threads take the import locks in one order.
    for module in ("voip_app.audio.devices", "voip_app.media.livekit_session"):
        try:
            importlib.import_module(module)
        except ImportError as exc:  # a platform without them: the join will say so
            log.info("media warm-up: %s", exc)
            return


default_media_factory: MediaFactory = DesktopMedia()
"""The engine's media factory unless it is given another."""
