"""Onset marks (``voip_app.audio.trace``), against this specification: a stage is marked when
a frame above -34 dBFS follows at least 0.3 s without one at that stage; quiet frames and the
rest of a sound are not marked; each stage has its own quiet; ``drain`` hands the marks over
once."""

from __future__ import annotations

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES
from voip_app.audio.trace import OnsetTrace

LOUD = np.full(FRAME_SAMPLES, 3000, dtype=np.int16)  # about -21 dBFS
QUIET = np.full(FRAME_SAMPLES, 300, dtype=np.int16)  # about -41 dBFS


def test_onsets_after_quiet_per_stage() -> None:
    trace = OnsetTrace()
    trace.mark("a", QUIET, 1.0)
    trace.mark("a", LOUD, 1.01)
    trace.mark("a", LOUD, 1.02)  # the same sound
    trace.mark("b", LOUD, 1.03)  # another stage's first sound
    trace.mark("a", LOUD, 1.25)  # 0.23 s after the last loud frame: still the same sound
    trace.mark("a", LOUD, 1.60)  # 0.35 s of quiet before it: a new sound
    assert trace.drain() == [("a", 1.01), ("b", 1.03), ("a", 1.6)]
    assert trace.drain() == []
