"""A private PulseAudio daemon with virtual devices, for the sounddevice path.

The recipe is ``scripts/private_pulse.py`` (``make demo`` uses it too). Each null sink is a
virtual speaker; its ``.monitor`` source hears what is played into it, so a null sink is also a
virtual microphone (play into ``x``, capture from ``x.monitor``). Clients reach the daemon
through ``env`` (``PULSE_SERVER``; ``PULSE_SOURCE``/``PULSE_SINK`` pick the default devices,
which is what PortAudio's ALSA ``default`` device plays through).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from scripts import private_pulse
from scripts.private_pulse import RATE

__all__ = ["RATE", "Pulse", "available", "running_pulse"]


class Pulse(private_pulse.Pulse):
    def env(self, *, source: str | None = None, sink: str | None = None) -> dict[str, str]:
        """This process's environment, sent to the daemon and its ``source`` and ``sink``."""
        return {
            **os.environ,
            **super().env(source=source, sink=sink),
            "HOME": str(self.runtime),
        }


def available() -> str | None:
    """``None`` when a PulseAudio daemon can be started here, otherwise why not."""
    return private_pulse.missing_tools()


@contextlib.contextmanager
def running_pulse(sinks: list[str], sources: list[str] | None = None) -> Iterator[Pulse]:
    """A daemon with one mono 48 kHz null sink per name; stopped (and its files removed) after."""
    with private_pulse.running_pulse(sinks, sources) as daemon:
        yield Pulse(daemon.runtime, daemon.process)
