"""``voip-softphone`` for :mod:`bench.platform_hotplug`: the platform audio, plus two probes.

``PLATFORM_PROBE_WATCH=1`` polls ``PlatformAudio.playout_devices()`` and ``recording_devices()``
every 0.5 s (what a hot-plug watcher would do) and prints each change on stderr. A file appearing
in ``PLATFORM_PROBE_ASK`` asks for something mid-call: ``play=<id>`` or ``record=<id>`` selects
that device, ``reset`` closes the session's handle and makes a new ``PlatformAudio`` and source.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from livekit import rtc

from voip_app.media import platform_session
from voip_app.softphone import main

_new_source = platform_session.PlatformAudioMediaSession._new_source


def _say(what: str) -> None:
    print(f"{time.monotonic():.1f} {what}", file=sys.stderr, flush=True)


def _act(platform: Any, name: str, kept: list[Any]) -> Any:
    """Do what ``name`` asks (``play=<id>``, ``record=<id>``, ``reset``); the platform audio
    to use from now on."""
    kind, _, device = name.partition("=")
    try:
        if kind == "reset":  # a new device module: this session's handle closed, a new one
            platform.close()
            _say("reset: old handle closed")
            platform = rtc.PlatformAudio()
            kept.append(platform.create_audio_source(rtc.PlatformAudioOptions()))
            _say("reset: new PlatformAudio and source")
        elif kind == "play":
            platform.set_playout_device(device)
        else:
            platform.set_recording_device(device)
        _say(f"done: {name}")
    except Exception as exc:  # the SDK's PlatformAudioError: print it, go on
        _say(f"{name}: {exc}")
    return platform


def _probe(platform: Any, ask: Path, watch: bool) -> None:
    done: set[str] = set()
    kept: list[Any] = []
    last = ""
    while True:
        if watch:
            listed = f"{platform.playout_devices()} {platform.recording_devices()}"
            if listed != last:
                _say(f"devices: {listed}")
                last = listed
        for name in sorted(set(os.listdir(ask)) - done):
            done.add(name)
            platform = _act(platform, name, kept)
        time.sleep(0.5)


def _probed(self: Any, loop: asyncio.AbstractEventLoop) -> Any:
    source = _new_source(self, loop)
    if self._platform is not None:
        ask, watch = (
            Path(os.environ["PLATFORM_PROBE_ASK"]),
            bool(os.environ.get("PLATFORM_PROBE_WATCH")),
        )
        threading.Thread(target=_probe, args=(self._platform, ask, watch), daemon=True).start()
    return source


platform_session.PlatformAudioMediaSession._new_source = _probed  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
