"""Whole frames from callback blocks (``voip_app.audio.frames``), against this specification:
every sample comes out once, in order, in frames of exactly ``FRAME_SAMPLES``; a frame that
began in an earlier block says so by a negative offset; a part frame waits for the next block.
"""

from __future__ import annotations

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES
from voip_app.audio.frames import Reframer


def test_half_frame_blocks_make_whole_frames_in_order() -> None:
    reframer = Reframer()
    ramp = np.arange(3 * FRAME_SAMPLES, dtype=np.int16)
    half = FRAME_SAMPLES // 2
    out = [reframer.push(ramp[i : i + half]) for i in range(0, len(ramp), half)]
    assert [len(found) for found in out] == [0, 1, 0, 1, 0, 1]
    frames = [frame for found in out for _, frame in found]
    assert np.concatenate(frames).tolist() == ramp.tolist()
    assert {offset for found in out for offset, _ in found} == {-half}


def test_whole_and_double_blocks_pass_through() -> None:
    reframer = Reframer()
    block = np.arange(2 * FRAME_SAMPLES, dtype=np.int16)
    found = reframer.push(block)
    assert [offset for offset, _ in found] == [0, FRAME_SAMPLES]
    assert all(len(frame) == FRAME_SAMPLES for _, frame in found)
