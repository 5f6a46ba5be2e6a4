"""``voip-softphone`` for :mod:`bench.platform_hotplug`: the platform audio, plus two probes.

``PLATFORM_PROBE_WATCH=1`` polls ``PlatformAudio.playout_devices()`` and ``recording_devices()``
every 0.5 s (what a hot-plug watcher would do) and prints each change on stderr; a file
``play=<id>`` or ``record=<id>`` appearing in ``PLATFORM_PROBE_ASK`` selects that device mid-call.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from voip_app.media import platform_session
from voip_app.softphone import main

_new_source = platform_session.PlatformAudioMediaSession._new_source


def _probe(platform: Any, ask: Path, watch: bool) -> None:
    done: set[str] = set()
    last = ""
    while True:
        if watch:
            listed = f"{platform.playout_devices()} {platform.recording_devices()}"
            if listed != last:
                print(f"{time.monotonic():.1f} devices: {listed}", file=sys.stderr, flush=True)
                last = listed
        for name in sorted(set(os.listdir(ask)) - done):
            done.add(name)
            kind, _, device = name.partition("=")
            select = platform.set_playout_device if kind == "play" else None
            try:
                (select or platform.set_recording_device)(device)
                print(f"selected {name}", file=sys.stderr, flush=True)
            except Exception as exc:  # the SDK's PlatformAudioError: print it, go on
                print(f"selecting {name}: {exc}", file=sys.stderr, flush=True)
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
