"""A server run with its collections timed: the time the collector took, for a profile.

    .venv/bin/python -m bench.gc_clock FILE TARGET [ARG]...

``TARGET`` is a module run as ``__main__`` (``bench.floor_server``) or ``module:function``
called with no arguments (``server.cli:main``, the ``voip-server`` script), with ``sys.argv``
``[TARGET, ARG...]``. ``gc.callbacks`` time every collection; a daemon thread writes the totals
to ``FILE`` (JSON: ``seconds``, ``collections``) twice a second, so a reader takes the
difference over the interval it measures. py-spy cannot tell a collection apart (it shows the
Python frame whose allocation started it), hence this clock.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any

WRITE_EVERY_S = 0.5


class CollectorClock:
    """The collector's total time and number of collections since it was installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seconds": self.seconds, "collections": self.collections}))
        os.replace(tmp, path)


def read(path: Path) -> tuple[float, int]:
    """``(seconds, collections)`` as last written (zeros before the first write)."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0.0, 0
    return float(found["seconds"]), int(found["collections"])


def main() -> None:
    path, target, *args = sys.argv[1:]
    clock = CollectorClock()
    gc.callbacks.append(clock)

    def keep_writing() -> None:
        while True:
            clock.write(Path(path))
            time.sleep(WRITE_EVERY_S)

    threading.Thread(target=keep_writing, name="gc-clock", daemon=True).start()
    sys.argv = [target, *args]
    module, _, function = target.partition(":")
    if function:
        getattr(importlib.import_module(module), function)()
    else:
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
