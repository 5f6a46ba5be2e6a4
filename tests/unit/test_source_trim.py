"""The SDK source queue's standing frame (``voip_app.audio.source_trim``), against this
specification:

- each ``capture_frame``'s wait is noted; a wait under 3 ms "returned at once" (the SDK's queue
  had room), one of 3 ms or more waited for the queue's 10 ms tick;
- when a whole window of captures in a row (``window_frames``) waited, the next frame is left
  out, once, and counted (``skipped``); then a new window starts;
- one capture that returned at once starts the window again: nothing is left out;
- ``window_frames`` 0 never leaves a frame out;
- the tuning's ``source_trim_window_ms`` sets it for a microphone, in 10 ms frames.
"""

from __future__ import annotations

from voip_app.audio.devices import DeviceInput
from voip_app.audio.source_trim import SourceTrim
from voip_app.audio.tuning import AudioTuning

TICK_WAIT_S = 0.006  # waited 6 ms for the SDK queue's tick
AT_ONCE_S = 0.0008  # the SDK's answer, straight back


def captures(trim: SourceTrim, waits: list[float]) -> list[bool]:
    """Run the capture loop's order of calls for ``waits``: skip?, else capture and note."""
    skipped = []
    for wait in waits:
        if trim.skip():
            skipped.append(True)
            continue
        skipped.append(False)
        trim.note(wait)
    return skipped


def test_a_whole_window_of_waits_leaves_one_frame_out() -> None:
    trim = SourceTrim(window_frames=5)
    skipped = captures(trim, [TICK_WAIT_S] * 5 + [AT_ONCE_S] * 10)
    assert skipped == [False] * 5 + [True] + [False] * 9
    assert trim.skipped == 1


def test_a_capture_that_returned_at_once_starts_the_window_again() -> None:
    trim = SourceTrim(window_frames=5)
    waits = [TICK_WAIT_S] * 4 + [AT_ONCE_S] + [TICK_WAIT_S] * 4 + [0.0029] + [TICK_WAIT_S] * 4
    assert not any(captures(trim, waits))
    assert trim.skipped == 0


def test_a_queue_that_stays_full_loses_one_frame_per_window() -> None:
    trim = SourceTrim(window_frames=3)
    skipped = captures(trim, [TICK_WAIT_S] * 8)
    # three waits, one left out, three more waits, one left out
    assert skipped == [False, False, False, True, False, False, False, True]
    assert trim.skipped == 2


def test_window_zero_never_leaves_a_frame_out() -> None:
    trim = SourceTrim(window_frames=0)
    assert not any(captures(trim, [TICK_WAIT_S] * 200))


def test_the_microphone_takes_its_window_from_the_tuning() -> None:
    mic = DeviceInput(None, None, AudioTuning.from_env("source_trim_window_ms=300"))
    assert mic.source_trim.window_frames == 30
    off = DeviceInput(None, None, AudioTuning.from_env("source_trim_window_ms=0"))
    assert off.source_trim.window_frames == 0
    assert mic.stats()["trimmed"] == 0


def test_by_default_a_microphone_leaves_the_standing_frame_out_within_half_a_second() -> None:
    # the default (docs/benchmarks.md, Client: variant T): a window of 500 ms, 50 frames
    assert DeviceInput(None, None, AudioTuning()).source_trim.window_frames == 50
