"""The speaker's playout buffer (``voip_app.audio.playout``), against this specification:

- nothing plays until ``start_frames`` have gathered; then frames play in order, as many as
  asked for, and a take that finds fewer counts as an underrun;
- past ``max_playout_frames`` the oldest frames go, down to half of it;
- with ``trim_window_ms``, once per window the backlog that no take in that window needed is
  dropped (oldest first) but ``playout_spare_frames`` (``playout_spare_ms=0``); a backlog that
  some take needed stays;
- with ``trim_window_ms=0`` a standing backlog is never trimmed;
- ``read(samples)`` for callbacks of half a frame: each frame's samples play in order across
  callbacks, its first half in one and the second in the next, with no sample lost or doubled;
  silence where no frame is there; a reset forgets a half-played frame.
"""

from __future__ import annotations

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES, Frame
from voip_app.audio.playout import PlayoutBuffer
from voip_app.audio.tuning import AudioTuning


def frame(n: int) -> Frame:
    return np.full(FRAME_SAMPLES, n, dtype=np.int16)


def numbers(frames: list[Frame]) -> list[int]:
    return [int(f[0]) for f in frames]


def standing_backlog(buffer: PlayoutBuffer, frames: int, reads: int) -> None:
    """``frames`` pushed at once, then ``reads`` callbacks of half a frame with one frame
    arriving per frame played: the backlog stands, and no read needs all of it."""
    for n in range(frames):
        buffer.push(frame(n))
    for n in range(1, reads + 1):
        buffer.read(FRAME_SAMPLES // 2)
        if n % 2 == 0:
            buffer.push(frame(100 + n))


def test_it_starts_once_the_start_backlog_is_there_and_counts_underruns() -> None:
    buffer = PlayoutBuffer(AudioTuning(start_frames=2))
    buffer.push(frame(1))
    assert buffer.take(2) == []
    buffer.push(frame(2))
    buffer.push(frame(3))
    assert numbers(buffer.take(2)) == [1, 2]
    assert buffer.underruns == 0
    assert numbers(buffer.take(2)) == [3]  # one short: played, and counted
    assert buffer.underruns == 1
    assert buffer.take(2) == []
    assert buffer.underruns == 2


def test_past_the_cap_the_oldest_go_down_to_half() -> None:
    buffer = PlayoutBuffer(AudioTuning(start_frames=1, max_playout_frames=8))
    for n in range(1, 10):  # the 9th frame passes the cap of 8
        buffer.push(frame(n))
    assert len(buffer) == 4
    assert buffer.dropped == 5
    assert numbers(buffer.take(4)) == [6, 7, 8, 9]


def test_a_standing_backlog_is_trimmed_to_the_spare_once_a_window() -> None:
    tuning = AudioTuning(
        start_frames=2, trim_window_ms=100, playout_spare_frames=1, playout_spare_ms=0
    )
    buffer = PlayoutBuffer(tuning)
    for n in range(6):  # a burst of arrivals: 6 frames waiting, 2 needed per take
        buffer.push(frame(n))
    played: list[int] = []
    arriving = 6
    for _ in range(10):
        played += numbers(buffer.take(2))
        buffer.push(frame(arriving))
        buffer.push(frame(arriving + 1))
        arriving += 2
    # after 10 frames taken (the window) 4 frames had never been needed: 3 of them went
    assert buffer.dropped == 3
    assert buffer.underruns == 0
    assert played == [*range(10), *range(13, 23)]
    assert len(buffer) == 3  # the spare frame and the 2 that just arrived


def test_a_backlog_that_some_take_needed_stays() -> None:
    tuning = AudioTuning(
        start_frames=2, trim_window_ms=100, playout_spare_frames=1, playout_spare_ms=0
    )
    buffer = PlayoutBuffer(tuning)
    for n in range(4):
        buffer.push(frame(n))
    arriving = 4
    for i in range(20):
        buffer.take(2)
        # jittery arrivals: every fourth take the next two frames are late
        late = i % 4 == 3
        for _ in range(0 if late else 2 + (2 if i % 4 == 0 and i else 0)):
            buffer.push(frame(arriving))
            arriving += 1
    assert buffer.dropped == 0


def test_without_a_window_nothing_is_trimmed() -> None:
    buffer = PlayoutBuffer(AudioTuning(start_frames=2, trim_window_ms=0))
    for n in range(6):
        buffer.push(frame(n))
    for n in range(6, 106, 2):
        buffer.take(2)
        buffer.push(frame(n))
        buffer.push(frame(n + 1))
    assert buffer.dropped == 0
    assert len(buffer) == 6


def test_half_frame_reads_play_every_sample_once_in_order() -> None:
    buffer = PlayoutBuffer(AudioTuning(start_frames=1, trim_window_ms=0))
    ramp = np.arange(2 * FRAME_SAMPLES, dtype=np.int16)
    buffer.push(ramp[:FRAME_SAMPLES].copy())
    buffer.push(ramp[FRAME_SAMPLES:].copy())
    half = FRAME_SAMPLES // 2
    reads = [buffer.read(half) for _ in range(5)]
    played = np.concatenate([pcm for pcm, _ in reads])
    assert played[: 2 * FRAME_SAMPLES].tolist() == ramp.tolist()
    assert not played[2 * FRAME_SAMPLES :].any()  # then silence: nothing left
    begun = [[offset for offset, _ in found] for _, found in reads]
    assert begun == [[0], [], [0], [], []]  # a frame begins every other callback
    assert buffer.played == 2
    assert buffer.underruns == 1  # the fifth read asked for a frame that was not there


def test_a_reset_forgets_the_half_played_frame() -> None:
    buffer = PlayoutBuffer(AudioTuning(start_frames=1, trim_window_ms=0))
    buffer.push(frame(7))
    buffer.read(FRAME_SAMPLES // 2)
    buffer.reset()
    buffer.push(frame(8))
    pcm, _ = buffer.read(FRAME_SAMPLES // 2)
    assert set(pcm.tolist()) == {8}


def test_half_frame_reads_trim_to_the_sample_and_keep_half_a_frame() -> None:
    """With ``playout_spare_ms=5`` the trim runs after each ``read`` on the samples waiting (the
    half-played frame and the frames queued): once per window, what no read in it needed goes,
    oldest first, but 5 ms (240 samples), even when that cuts a frame in two; every other sample
    plays once, in order."""
    tuning = AudioTuning(start_frames=1, trim_window_ms=100, playout_spare_ms=5)
    buffer = PlayoutBuffer(tuning)
    ramp = np.arange(40 * FRAME_SAMPLES, dtype=np.int32).astype(np.int16)
    pushed = 0

    def push() -> None:
        nonlocal pushed
        buffer.push(ramp[pushed * FRAME_SAMPLES : (pushed + 1) * FRAME_SAMPLES].copy())
        pushed += 1

    for _ in range(4):  # a standing backlog: 4 frames, one arriving per frame played
        push()
    half = FRAME_SAMPLES // 2
    played = []
    for n in range(1, 51):
        played.append(buffer.read(half)[0])
        if n % 2 == 0:
            push()
    # the least left after a read in the first 100 ms was 3 frames (1,440 samples); all but
    # 240 of them (2.5 frames) went at the window's end, after 20 reads (4,800 samples)
    gap = 1440 - 240
    expected = np.concatenate((ramp[:4800], ramp[4800 + gap : 4800 + gap + 30 * half]))
    assert np.concatenate(played).tolist() == expected.tolist()
    assert buffer.dropped == 2.5
    assert buffer.underruns == 0  # the half frame left was enough, every read after


def test_without_spare_ms_half_frame_reads_trim_whole_frames_as_before() -> None:
    tuning = AudioTuning(
        start_frames=1, trim_window_ms=100, playout_spare_frames=1, playout_spare_ms=0
    )
    buffer = PlayoutBuffer(tuning)
    standing_backlog(buffer, frames=4, reads=40)
    # a take every other read left 3 frames each time: at the 10th take 2 of them went
    assert buffer.dropped == 2
    assert buffer.underruns == 0


def test_by_default_the_speaker_keeps_half_a_frame_to_the_sample() -> None:
    # the default (docs/benchmarks.md, Client: variant T): 500 ms windows, 5 ms of spare
    buffer = PlayoutBuffer(AudioTuning())
    standing_backlog(buffer, frames=6, reads=100)  # 5 ms callbacks, one second
    # 5 frames were never needed; all but half of one went: 4.5 frames
    assert buffer.dropped == 4.5
    assert buffer.underruns == 0


def test_once_the_stream_underran_the_trim_keeps_a_whole_frame() -> None:
    """After an underrun the 5 ms spare was too little for this stream's arrivals: from then on
    the trim leaves a whole frame (480 samples), as ``playout_spare_frames=1`` does; a new
    stream (reset) starts at 5 ms again."""
    tuning = AudioTuning(start_frames=1, trim_window_ms=100, playout_spare_ms=5)
    buffer = PlayoutBuffer(tuning)
    half = FRAME_SAMPLES // 2
    buffer.push(frame(0))
    for _ in range(3):  # the frame plays, then a read finds nothing: an underrun
        buffer.read(half)
    assert buffer.underruns == 1
    for n in range(4):  # then a standing backlog of 4 frames, one arriving per frame played
        buffer.push(frame(n + 1))
    for n in range(1, 41):  # the window with the underrun, then a whole one after it
        buffer.read(half)
        if n % 2 == 0:
            buffer.push(frame(100 + n))
    # the least left after a read in the second window was 3 frames; all but a whole frame
    # of them went (with 5 ms of spare, 2.5 frames would have)
    assert buffer.dropped == 2
    assert buffer.underruns == 1
    buffer.reset()
    standing_backlog(buffer, frames=6, reads=20)
    assert buffer.dropped == 2 + 4.5  # 5 frames never needed: all but 5 ms of them
