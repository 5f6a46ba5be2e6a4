"""The history written under ``bench.client``'s table in ``docs/benchmarks.md``: earlier runs,
the A/B runs behind each change, and where the rest of the delay goes (text, kept apart from the
code that measures)."""

from __future__ import annotations

HISTORY = """\
Earlier runs of the same command, as the code changed (the machine's load varies between them):

| change | answer -> first audio p50 | mouth-to-ear p50 |
|---|---|---|
| first measurement | about 560 ms | 458 ms |
| speaker backlog capped at 80 ms (was 200 ms, kept all call) | 544 ms | 306 ms |
| devsfu forwards Opus unchanged (`bench.media`: 129 -> 42 ms) | 485 ms | 228 ms |
| devsfu: `/rtc/v1` (no failed attempt first), `fast_publish` | 640 -> 350 ms | no change |
| devsfu: tracks offered at their announce (A/B below) | 437 / 462 -> 416 / 427 ms | no change |
| device path buffers (issue 14, A/B below: medians of runs) | no change | 258 -> 170 ms |
| 5 ms callbacks, speaker and microphone (A/B below: medians of runs) | no change | 194 -> 157 ms |
| SDK queue's standing frame out, speaker spare 5 ms (`T`, A/B below) | no change | 154 -> 144 ms |

The `fast_publish` row is an A/B on a busy machine (load 2 to 9): devsfu before (the SDK's `/rtc/v1`
attempt answered 404, then `/rtc`) and after, runs alternated, 9 of each (the table of that day
was the last "after"); medians of their p50s: callee hears caller 639 -> 352 ms, caller hears callee
623 -> 339 ms. `/rtc/v1` alone made the SDK's `connect()` faster (330-470 ms -> 80-150 ms p50,
15 joins, twice) but not the first audio: devsfu's `JoinResponse` said `fast_publish: false`, so
the SDK debounced each publisher negotiation by 150 ms, and on `/rtc/v1` each forwarded track
waits for one (devsfu's `MediaSectionsRequirement`). Two SDK clients, join -> audio heard, p50:
309 ms before, 387 ms with `/rtc/v1` alone, 115 ms with `fast_publish` as livekit-server sends
it. Mouth-to-ear varied with the load alone (236-760 ms before, 223-508 ms after).

**Mouth-to-ear, part by part (issue 14).** With `VOIP_AUDIO_TRACE=1` each softphone notes when
a sound's onset (a frame above -34 dBFS after 0.3 s below) passes each stage of its path
(`voip_app/audio/trace.py`): the microphone's converter time and callback (PortAudio's
`inputBufferAdcTime`), after the echo canceller, read from the capture queue, `capture_frame`
returned and the SDK queue's `queued_duration` after it, out of the far side's `AudioStream`,
taken by the speaker's callback and its converter time (`outputBufferDacTime`). The times are
`time.monotonic()`, one clock for every process here, and the measuring stream notes its own
converter times per callback, so `bench/m2e_parts.py` lines every burst's stages up between
"played into Alice's microphone" and "heard from Bob's speaker" (the "part by part" table above;
its total leaves the measuring stream out). `pactl list sink-inputs` / `source-outputs`, read in
the middle of each run, give PulseAudio's own buffer and device latency per softphone stream.

Before (the A4 column) the app's path took 193-217 ms of the 231-288 ms p50, and the parts said
where: the speaker's backlog 39-64 ms (the cap kept it between 4 and 8 frames: the speaker takes
fewer frames than arrive, below, so it climbed back to the cap again and again), PortAudio and
PulseAudio under the speaker 48-54 ms (PulseAudio held 47-56 ms for the "high" stream), the SDK
source's queue 26-33 ms, the network path 47-55 ms, the microphone 22-25 ms. Variants,
alternated in one run under the bench lock (`python -m bench.client --calls 0 --rounds 3
--variants A4,N,N15,N60,Ns0 --no-write` with today's keys: three such runs, whose keys were
others then; the last three figures of A4, `N` and `N15` are the full run at the top, the three
before them of A4, `N15` and `Ns0` an earlier full run's), load
1.0-4.6 (2 CPUs; other helpers' tests and benchmarks ran between the runs):

| variant (key now) | p50 of each run, ms | median | frames dropped per speaker, run |
|---|---|---|---|
| A4: before | 296,269,268,288,223,318,241,268,258,213,259,248,253,258,223 | 258 | 108-137 |
| speaker backlog trimmed (500 ms window, 1 spare frame) | 226,213,293,356,313 | 293 | 95-114 |
| + 10 ms blocks, "low", SDK 10 ms: `N` | 161,187,189,182,160,176,164,154,195,157 | 170 | 105-138 |
| N + 15 ms PulseAudio (`N15`) | 157,137,144,180,152,147,147,171,159,149,159,163 | 155 | 173-246 |
| N15, no spare frame (`Ns0`) | 145,163,176,164,144,161,149,167,158 | 161 | 131-273 |
| N15, SDK source queue 60 ms (`N60`) | 163,161 | 162 | 250 |
| SDK source queue 0, 20 ms blocks, "high" | 521,642,580,278 | 580 | |
| later session: `N` against the 5 ms blocks | 186,186,208,238,194,207,181,177,203 | 194 | 58-134 |
| the speaker's callback 5 ms (`S5`) | 170,168,180,169,183,159,169 | 169 | 34-132 (start) |
| `B5`: both 5 ms, default | 167,163,154,152,144,138,170,199,172,159,152,128 | 157 | 28-157 |
| B5, no spare frame (`B5s0`) | 144,134,149 | 144 | 104-121 (start) |

The trim alone did not show in the p50s at 20 ms blocks (the runs' spread, 213-356 ms, is wider
than its 20-40 ms), though the parts show the backlog it removes.

What each part became (medians of the bursts, before -> N, ms): the speaker's backlog 39-64 ->
10-18; under the speaker 48-54 -> 23-30 (PulseAudio's playback buffer 47-56 -> 30 ms; 15 ms
with `N15`, whose speaker part is 12-13); the microphone 22-26 -> 9-14; the SDK source 27-33 ->
17-25 (`capture_frame` 3-8 + queue 12-17); the network path 38-56 either way (`bench.media`
measures 42 ms for it without devices); the parts' total 179-217 -> 133-143. Two parts grew or
stayed, and are not the app's buffers: after the echo canceller a burst's onset is seen 10-20 ms
later with 10 ms blocks (0 with 20 ms blocks: the APM, with its noise suppression and gain
control, softens the first frames of a burst); echo cancellation stays on. The SDK's source
queue (livekit's `AudioTrackSource`) holds up to twice `queue_size_ms`, and `capture_frame`
returns at once while it holds less than `queue_size_ms`, so what a burst of microphone frames
puts there stays all call: 26-33 ms at 60 ms, 17-23 ms at 10 ms. At 0 it sends each frame to the
encoder as it comes, unpaced, and the far side's jitter buffer grew to 400 ms and more (the
network part measured 405-414 ms): the queue is what paces the packets, so 10 ms.

The 5 ms callbacks (the last rows; `python -m bench.client --calls 0 --rounds 3 --variants
N,S5 --no-write`, then `S5,B5`, `B5,B5s0` and twice `N,B5`, under the bench lock, load 1.1-2.3
at their ends, one `N,S5` and one `S5` run of one round before): through ALSA's PulseAudio
plugin a stream's PulseAudio buffer is its ALSA buffer, three periods (the speaker's dropped
frames, below), so the
speaker's 5 ms callback (`speaker_block_ms=5`) takes its PulseAudio buffer from 30 to 15 ms
and PortAudio's reported latency from 20 to 10 (the speaker's parts 29 + 8 -> 14-15 + 0-4 ms,
medians), what `N15` took by `PULSE_LATENCY_MSEC` but with no underrun; the microphone's
(`mic_block_ms=5`, frames cut whole from two callbacks) takes the microphone's parts from 14-20
to 10-15 ms, and the null sink under the virtual microphone then runs at a lower latency too.
The parts' total went 144-148 (`N`) -> 128-130 (`S5`) -> 108-128 ms (`B5`), the p50s' medians
194 -> 169 -> 157 ms; in the two runs of `N` against `B5` alone, 194, 207, 181, 177, 203
against 170, 199, 172, 159, 152, 128 ms. The figures moved from session to session by more
than that (`N` measured 170 ms in the earlier session's ten runs, 194 in this one's nine), so
only the alternated runs compare.

Trade-offs, kept as named tuning values (`voip_app/audio/tuning.py`) with why. PulseAudio at 15
ms (`pulse_latency_ms=15`, `N15`) was the fastest variant of the earlier session, 24 ms under
`N`, and is not the default: it costs losses. The app dropped 1.5-2 times as many frames as
with `N` (173-246 per speaker and run against 105-138): the variable sets PulseAudio's buffer
behind ALSA's plugin's back, and the stream underran (the speaker's dropped frames, below); the
5 ms callbacks reach the same 15 ms without that. No spare frame (`Ns0`, `B5s0`) saves about
10 ms of backlog but underran more often (`Ns0`: 5-15 times per three runs against 0-1;
`B5s0`: 0 in its three runs, as `B5`, too few to call it safe, and its p50s 144, 134, 149
against `B5`'s 152, 144, 138 in the same turns); each underrun is a gap. The defaults were
then `B5`: 5 ms callbacks on both sides, PortAudio "low", PulseAudio's own latency (15 ms through
the plugin), the SDK source queue 10 ms (tone and file sources keep 60 ms, which paces them),
the speaker backlog trimmed every 500 ms to one spare frame, the capture queue capped at 40 ms;
device choice, hot-plug, the meters and echo cancellation are unchanged
(`tests/ui/test_audio_devices_in_browser.py`,
`tests/ui/test_meters_in_browser.py`, `tests/engine/test_audio_devices.py`). `T`, the default
now, adds two trims to them (below).

**Where the rest goes, and why it does not go here** (written with `B5` the default; `T`,
below, took two of its levers). The default (`B5`) measured 128-199 ms p50 per run (median 157
of 12 runs, load 1.1-2.3): 150 ms p50 is not met robustly on the
default path (5 of its 12 runs were at or under 152). Of `B5`'s parts (medians over its bursts
in its four A/B runs, ms): the network path 41-49 (the SDK's encoder and 20 ms Opus frames,
devsfu, the far side's jitter buffer and `AudioStream`: `bench.media` measures 42 ms for it
with no devices; the app has no setting for it, the SDK no playout-delay one), the SDK source
13-21 (`capture_frame` 1-9 + its queue 12-14; the queue paces the packets and 10 ms is the least
that does), the echo canceller 12-20, the speaker's backlog 14-17 (the far side's 20 ms Opus
packets arrive as pairs of 10 ms frames, and one spare frame against underruns), under the
speaker 10-14 (PortAudio's reported 15 over PulseAudio's 15 ms buffer, measured 1-5 under
it), the microphone 10-15 (PulseAudio's capture 0-4, PortAudio's reported input latency and
the 5 ms block 10-11), the capture queue 1-4; total 108-128, and the measuring stream adds
31-46 beyond it (its own converters, 64 ms as PortAudio reports them; the null sinks it shares
with the softphones run at their latency). The echo canceller's share is mostly the APM's own
delay, not a buffer: offline (the livekit `AudioProcessingModule`, the benchmark's bursts, no
far-end signal), a burst's half-peak comes out 9.1 ms later with echo cancellation alone (noise
suppression, gain control and high-pass off; 0 with all off), 15.1 ms with noise suppression
too, the gain control changing no timing; echo cancellation stays on, and noise suppression
(its 6 ms) is the person's setting, on by default. What is left to take on this path is small
against the spread between runs (128-199 ms for the same code in one session): no spare frame
(about 10 ms, `B5s0`, gaps when the network jitters), noise suppression off (6 ms). The
platform audio measured 120 ms p50 in that session's full run (runs 120, 120, 127; 116-154 ms
in earlier runs); it is not the default for the reasons below. Going further would take the SDK's
queue out (frames paced by the app's own clock instead), a speaker that trims to no spare with
a jitter estimate of its own, or PortAudio's PulseAudio host API (Debian's PortAudio 19.6 here
reaches PulseAudio through ALSA's plugin only).

**The SDK queue's standing frame, and half a frame of speaker spare (`T`, the default now).**
Four levers were left on `B5`; each was run as a variant against `B5` in the same run, in
turns, under the bench lock (`python -m bench.client --calls 0 --rounds 3 --variants
B5,B5s0,B5q0,B5p10 --no-write`, then `B5,B3,S3`, `--rounds 4 --variants B5,B5t`, `--rounds 4
--variants B5,B5t,B5th`, `--rounds 5 --variants B5,B5th`; load 1-12 at times: other helpers'
benchmarks and browser tests ran between the runs). p50 of each run, ms:

| variant | p50 of each run, ms | median | speaker underruns |
|---|---|---|---|
| `B5` (the default then) | 19 runs, 127-259 (below) | 152 | 0 |
| `B5s0`: no spare frame | 149,162,160 | 160 | 2 |
| `B5q0`: SDK source queue 0 | 458,441,399 (27/30 heard) | 441 | 0 |
| `B5p10`: `PULSE_LATENCY_MSEC=10` | 143,188,154 | 154 | 0 |
| `B3`: 3 ms callbacks | 153,201,137 | 153 | 0 |
| `S3`: the speaker's callback 3 ms | 578,148,146 | 148 | 0 |
| `B5t`: the SDK queue's standing frame left out | 177,152,159,159 / 149,132,152,154 | 153 | 0 |
| `B5th`: `B5t` + the speaker's spare 5 ms | 132,145,143,168 / 129,137,144,160,150 | 144 | 4 |

`B5` in the same five runs: 147,152,157 / 152,146,127 / 259,142,145,169 / 147,206,149,149 /
162,154,149,159,172. The parts' total (the median over the bursts of `VOIP_AUDIO_TRACE`'s path
from "played into Alice's microphone" to "heard from Bob's speaker", the measuring stream's
own buffers left out), per run in the last two runs: `B5` 115,117,123,124 / 128,124,120,122,122
ms, `B5t` 115,114,116,125, `B5th` 105,113,117,88 / 109,111,105,120,102; over each variant's
runs together in the first three: `B5` 108 / 108 / 120, `B5s0` 114, `B5q0` 398, `B5p10` 115,
`B3` 112, `S3` 105, `B5t` 112. `B5th`'s 4 underruns were in its last five runs (0 in the four
before).

- *The SDK source queue* (`B5q0`, and the fix, `B5t`). Queue 0 sends each frame to the encoder
  as the event loop hands it over, and the far side's jitter buffer grew to 340 ms (the network
  part; as `N0` before): not taken. The 10 ms queue (livekit's `AudioTrackSource`, webrtc-sys
  `audio_track.cpp`) sends one frame per tick of its own 10 ms clock and holds up to two;
  `capture_frame` completes at once when the queue holds at most one frame after the frame went
  in, else at the next tick. Frames come at the tick's pace, so what the call's first burst left
  there stays all call: nothing (a frame waits 0-10 ms for the tick) or one standing frame (10
  ms more for every frame, and every `capture_frame` waits for a tick). Which one a call got was
  chance: the `capture_frame` part measured 1 ms in some runs and 8-10 ms in others, with the
  network part 5-6 ms longer in the latter (the first run). The trace's "SDK source queue" row
  is the SDK's own `queued_duration`, Python's estimate, which does not see the standing frame.
  The app now sees it (`voip_app/audio/source_trim.py`): when no `capture_frame` in 500 ms
  returned within 3 ms, it leaves one microphone frame out, and the queue has nothing standing
  from then on (10 ms of the microphone's sound lost each time: 4 and 1 frames over 8 softphone
  sessions of `B5t`'s two batches, 6 over 8 and 9 over 10 of `B5th`'s).
  `tests/engine/test_source_trim_sdk.py` runs it against the real SDK source.
- *The speaker's spare* (`B5s0`, and the fix, `B5th`). No spare at all underran (2 in 3 runs)
  and was not faster here. With 5 ms callbacks the speaker can keep half a frame: the trim now
  runs after every callback on the samples waiting (the half-played frame and the frames
  queued) and leaves 5 ms (`playout_spare_ms=5`), cutting a frame in two where it must: the
  speaker's backlog part 12-18 -> 5-10 ms. It underran 4 times in 10 speaker sessions of its
  last five runs (0 in the four before; `B5` 0): so a stream that underruns keeps a whole
  frame from then on, as `B5` did (`tests/unit/test_playout_buffer.py`).
- *PulseAudio lower* (`B5p10`): its playback buffer went 15 -> 8 ms and the speaker's PortAudio
  part 15 -> 10, but the p50s spread wider (143-188); the plugin's own 15 ms ring stays, as
  with `N15`. Not taken. *3 ms callbacks* (`B3`, `S3`): no gain in the parts, 1.7 times the
  speaker's dropped frames (`B3`), 45 capture frames dropped and one run of 578 ms (`S3`). Not
  taken (`B3`'s first run may have had the first draft of the queue's trim on: the code was
  edited as its softphones started; later A/B runs ran a copy of the code).
- *Noise suppression* stays on (not needed for the figure; it is the last 6 ms to take).

The spread of one variant's p50s (127-259 ms for `B5`, the same code) is mostly the measuring
stream's, not the softphones': in the runs that printed their parts (`bench.client` now prints
each run's parts on stderr), the parts' total stayed within 115-128 ms for `B5` while its p50s
went 147-206; the rest, the p50 minus the parts' total, went 18-89 ms from run to run: the
measuring stream's own buffering between its output and its input, set afresh each run (its
duplex stream through ALSA's PulseAudio plugin on the null sinks; "the measuring stream's own
buffers", 64 ms as PortAudio reports them). So only many alternated runs compare; `B5th`
against `B5` in the same turns: median p50 144 against 154 ms (9 runs each), the parts' total
about 10 ms less (102-120 against 115-128, one run of 88), speaker frames dropped alike
(1,374-1,420 against 1,397-1,433 per four or five runs, nearly all in each stream's first
second: the null sink's start).
`T` (the default now) is `B5th` with the whole frame after an underrun. In the full run at the
top (`python -m bench.client`, 3 rounds in turns, load 1.5-2.4 at its end) `T` measured 132,
158, 148 ms (p50 148 over its 30 bursts) against `B5`'s 154, 380, 154, with no underrun, 889
speaker frames dropped against 1,095 (the streams' starts), no capture frame dropped against
32, and 5 microphone frames left out of the SDK queue over its 6 softphone sessions; the parts'
totals per run were 110, 97, 100 against 114, 139, 116 (`B5`'s run of 380 ms: its parts 139,
the measuring stream the rest). The platform audio's third run there printed a p50 of -15 ms
and a parts' total of -898: the measuring stream's input and output slipped by about a second
against each other (the run was not called void: its callbacks never stopped), so only its
first two runs, 110 and 135, say anything. One more A/B after it (`python -m bench.client
--calls 0 --rounds 4 --variants B5,T --no-write`, load 2.0-2.3): `T` 130, 139, 149, 151 against
`B5` 142, 154, 144, 147 (this time `B5`'s best batch), parts' totals 111, 121, 111, 104 against
106, 123, 118, 118, no underrun either way, speaker frames dropped 1,147 against 1,253, 5
microphone frames left out over `T`'s 8 sessions. So 150 ms p50 is met by the median of the
runs and by the full run's p50 (148), not by every run: `T` and `B5th` measured 129-168 over 16
runs, 12 of them at or under 150, median 144.5 (`B5` in the same turns 142-380, median 154); the
measuring stream alone moves a run by 20-90 ms (above), and the softphones' own path (the
parts' total) is 97-121 ms. Noise suppression stays on, and so does
the echo canceller (its part 13-20 ms: the APM's own delay and its softening of an onset).

**The speaker's dropped frames** (issue 14; found). The speaker's stream takes frames at real
time; what looked like 0.93 of real time was the first second or two of every stream, and a
private PulseAudio's null sink causes it, not PortAudio or ALSA's plugin. Measured alone
(scratch probes, then `python -m bench.speaker_rate`, load 0.6-1.6): `parec` on an idle null
sink's monitor records 0.999 of real time and `pacat` plays into it at 0.995-0.996 (10 and 30
ms); a PortAudio stream ("low", 10 ms callbacks, the app's own settings) takes 0.06 s of frames
in its first 1.5 s and then exactly 1.00 in every half second after, and the sink's monitor
records what it wrote with every sample in order and no gap (a counter in the samples). The
same stall hits `parec` on that sink (its first data 1.5 s late). PulseAudio's log (`-vvvv`)
shows why, as we read it: an idle null sink (configured latency 2,000,000 usec) renders up to
2 s ahead; a new stream asks for 10 ms, and the sink rewinds only that much ("Requested to
rewind 960 bytes"), so the new stream waits for the rest of the silence already rendered. With a
low-latency stream already on the sink (`pacat --latency-msec=10`), a new PortAudio stream ran
at 1.000 from its first half second. A sound card's sink (`module-alsa-sink`) can rewind its
whole buffer (not measured: this machine has none), so this is the test sink's start, not the
app's: the call's speakers drop their first 0.3-1.6 s (the cap, then the trim), 28-157 frames
per speaker and run in the runs above, and none later but for two mid-call stalls (below)
(`bench.client` now prints each speaker's drops second by second). With
`PULSE_LATENCY_MSEC=15` ALSA reported underruns (1-2 in 10 s in the probe at load 1), each 13
ms of silence in PulseAudio and 600-1,400 samples gone, and in `bench.speaker_rate` (load
1.1-2.1) that stream took 0.60 of real time after its first 3 s, against 1.000 with 5 and 10
ms callbacks (all four settings about 0.46 in their first 3 s: the null sink's start): the
variable makes PulseAudio keep 15 ms behind the ALSA plugin's back, whose fake ring still
counts its own 30 ms. The plugin keeps PulseAudio's buffer at its own ALSA buffer, three
periods: 10 ms callbacks give 30 ms (PortAudio reports 20), 5 ms callbacks 15 ms (PortAudio
reports 10), with no underrun and no sample lost in the same probe; hence the 5 ms callbacks
above.

Losses. Every whole run that went unheard in the A/B runs (5 of 33 runs of the new variants, 0
of 9 of A4; earlier sessions saw the same at load 10-12) followed PortAudio's "ContinuePoll ...
StreamDirection_In failed" and showed no onset at Alice's microphone callback either: the
measuring stream's own ALSA thread had stopped (one duplex stream: no input, no output), not the
softphones. `bench.client` now calls such a run void (the stream did not finish, or its
callbacks stopped for more than 2 s), runs it again and says so under the table; an earlier full
run used 0.5 s and voided 7 of 19 runs (4 of 5 of the platform audio's), so later runs use 2 s.
In that run one run of `Ns0` lost 9 of 10 bursts for another reason: Bob's softphone printed no
figures at all (its process had died), and Alice's speaker played 275 of 1,099 frames. The
speaker's "frames dropped" count both the trim and the cap. In this session's A/B runs the
measuring stream voided 5 of 36 (`N` 2, `S5` 2 in a row, `B5` 1), each after "ContinuePoll ...
StreamDirection_In failed" from PortAudio's line 3355, where `snd_pcm_delay` on the duplex
stream's output failed while it polled its input; the softphones open separate input and
output streams and never take that path. Not fixed here: the rerun covers it, and a measuring
stream of two streams would change what the figure includes. Twice (one `S5`, one `B5` run)
Alice's speaker, which nothing measures, dropped about 200 frames over 3 s in mid-call (its
callbacks stalled; the other helpers' benchmarks shared the cores); Bob's did not.

**Why the platform audio is not the default** (issue 14: "keep the faster one as the default if
it holds device choice and hot-plug"). It was faster (141 against 235 ms p50 in a quiet run,
156 against 287 ms, with the old settings) and still is, by less (the table above), but on
this machine (livekit 1.2.1, PulseAudio 16, private daemon) it
holds neither, so the app keeps the sounddevice path by default and `--platform-audio` stays an
option. Tried, with evidence:
- *Hot-plug, the only speaker unplugged mid-call* (`python -m bench.platform_hotplug`: Bob is
  `voip-softphone --platform-audio`, Alice sends 440 Hz; the only null sink is unloaded, another
  loaded): the tone plays (440 Hz, -15 dBFS) until the unload; then no stream plays into
  PulseAudio (0 sink inputs) and the new sink stays silent for the rest of the call;
  `set_playout_device("index:0")` and `("index:1")` mid-call both fail "Device not found" (the
  device module's list is not read again). The call itself goes on and ends COMPLETED. What
  does bring the sound back: closing the session's `PlatformAudio` handle and making a new one
  and a new source (the probe's `reset`): one stream plays again and the new sink gets the tone
  (440 Hz, -15 dBFS). But that also stops the published microphone (Bob's 660 Hz sine reached
  Alice at -25 to -30 dB in every 2 s slice until the reset, silence after it), so a recovery
  has to republish the track on the new source too. The sounddevice path reopens its stream on
  the new sink within a second or so (`tests/ui/test_audio_devices_in_browser.py`).
- *A watcher, as the app would need one* (`python -m bench.platform_hotplug --watch`: Bob also
  polls `PlatformAudio.playout_devices()`/`recording_devices()` every 0.5 s): after the unload
  the listing call never returns (the last list is the one before the unload), and Bob's process
  dies with SIGSEGV (exit -11) before it reports the call's end; in three runs out of three (in
  the last, which records Alice's side, Bob's microphone also stopped reaching her at the
  unload, and the probe's later asks were never run: its thread was stuck). So "No
  speaker" cannot be told from the device module's own lists, and asking crashes the app: a
  watcher would have to ask the sound server itself (libpulse or `pactl` on Linux, another API
  per platform), then restart the device module and republish the microphone (above). That,
  the id mapping below and a metering capture were not built in this session; until they are,
  the platform audio does not hold what the sounddevice path holds.
- *A sink unloaded while another exists* (the same with two null sinks): PulseAudio moves the
  stream to the remaining sink, and to a newly loaded sink made the default: that case works,
  by PulseAudio's doing, not the device module's.
- *No sound server at all*: `rtc.PlatformAudio()` raises `PlatformAudioError` ("Failed to
  initialize platform audio"); the session falls back to silence, and, unlike the sounddevice
  path, never picks up a sound server or device that appears later in the call.
- *Device choice*: the ids are `index:N` into the device module's own list (not stable GUIDs on
  Linux; they shift when devices come and go), the names are PulseAudio's descriptions (two null
  sinks are both "Null Output"; monitors are not listed as microphones), and neither matches the
  PortAudio indices that Settings lists and stores (`pulse`, `default` here), so a choice made in
  Settings cannot be carried over reliably.
- *Meters*: the platform source has no frames to read (`PlatformAudioSource` has no capture
  API), so the local meter would need a second capture stream of its own on the sounddevice path.
**Answer to first audio, where it goes** (issue 14; `bench.client`'s flow with timestamps added
in a scratch copy, 11 calls, load about 1): the callee's `accept` ack and the caller's `accepted`
arrive 10-27 ms after the accept; each side's `room.connect()` (signal WebSocket, join, ICE and
DTLS through devsfu) then takes 130-260 ms, publishing the track 10-40 ms; the far side's
subscription arrives 100-150 ms after the publish (devsfu offers a track to the others once its
RTP arrives, then renegotiates their subscriber connection), and the first audible frame 5-25 ms
after that. The caller already joins the moment `accepted` arrives (11-20 ms after the accept).
The client's own share was the devices: opening a PulseAudio speaker through PortAudio takes
41-52 ms (185 ms the first time in a process), the microphone 3-5 ms, and the session opened
them before joining. It now opens them while the room is joined (`LiveKitMediaSession.connect`).
A/B with `python -m bench.client --calls 10 --rounds 0 --no-write`, whose new rows "speaker a
PulseAudio device" give each side a real speaker (a private PulseAudio's null sink) opened by
the join as the app's is; runs alternated, four each, load 1-2.5, p50 callee hears caller /
caller hears callee: devices before the join 433 / 469, 423 / 424, 440 / 409, 434 / 474 ms
(medians 434 / 446), devices during the join 385 / 333, 365 / 362, 364 / 345, 440 / 439 ms
(medians 375 / 354); the tone-only rows, which open no device, stayed within their noise
(305-409 ms either way). Two more runs of the final code, not alternated, at load 1.5-2:
speaker rows 476 / 493 and 431 / 444 ms, tone rows 360 / 323 and 409 / 372 ms: the machine's
load moves these figures by as much as the change does, so only alternated runs compare.
While a call rings (or is dialed) the app now also loads the livekit SDK and the device
modules in a thread (`DesktopMedia.prepare`): 64-106 ms that the
first call of an app process paid between the answer and the join (this benchmark loads the SDK
before its first call, so it does not show them). Opening the devices while it rings was not
done: the microphone would light the recording indicator before the person answers, and they
now open under the join anyway; what is left is the join, which needs the token minted at
accept. Where the rest goes, part by part: the next paragraph.

**Answer to first audio, the join's parts** (issue 14). `bench.client`'s flow (tone rows), traced
on both sides in a scratch copy (not committed: it wraps the SDK calls and events in the bench
process, and devsfu's signal messages, aiortc's ICE/DTLS states and first packets in its process,
wall-clock ms), 10 calls = 20 joins per column, p50 / max in ms, each row one side's own step;
"before" is the code before the two devsfu changes below, "after" the code now:

| part of one side's join | whose | before | after |
|---|---|---|---|
| accept -> the join starts (token in hand) | server | 17 / 50 | 20 / 43 |
| `connect()` -> signal WebSocket at devsfu (connection, offer) | client | 73 / 135 | 74 / 130 |
| WebSocket -> devsfu's answer sent (`JoinResponse`, answer) | devsfu | 43 / 115 | 45 / 143 |
| answer -> ICE completed at devsfu | client, devsfu | 65 / 91 | 68 / 156 |
| (of which: answer -> the client's first connectivity check) | client | 53 / 78 | 49 / 82 |
| ICE -> DTLS connected | devsfu, client | 11 / 48 | 10 / 64 |
| DTLS -> `connect()` returns | client | 5 / 33 | 11 / 31 |
| `publish_track()` -> `AddTrackRequest` at devsfu | client | 33 / 55 | 27 / 59 |
| `AddTrackRequest` -> the publish offer at devsfu | client | 44 / 84 | 49 / 112 |
| publish offer -> devsfu's answer sent | devsfu | 42 / 72 | 38 / 53 |
| answer -> first RTP at devsfu | client | 38 / 74 | 30 / 54 |
| first RTP -> the far side hears it (-40 dBFS) | devsfu, far side | 54 / 155 | 24 / 93 |
| (the far side's subscription, after that first RTP) | devsfu, far side | 44 / 122 | 10 / 79 |
| accept -> the far side hears this side | | 453 / 572 | 433 / 552 |

The two changes, both in devsfu. (1) A track is offered to the others when it is announced
(`AddTrackRequest`), not once its media arrives: on `/rtc/v1` their `MediaSectionsRequirement`,
offer and answer used to start after the publisher's own offer and answer, and ended 44 ms (p50)
after its first packet; now they run alongside (-6 ms p50 with this change alone, i.e. before the
first packet), and first RTP -> heard went 54 -> 24-25 ms. (2) A client that has announced a
track whose media has not arrived gets no `MediaSectionsRequirement`: its publish offer is coming
and the answer to it carries the track (devsfu asks after 0.5 s if it does not come); before,
every participant made a second, redundant offer in the middle of its join, now 7 of 20 do not.
A/B, `python -m bench.client --calls 10 --rounds 0 --no-write`, runs alternated (the old tree by
`PYTHONPATH`), medians of the runs' p50s, callee hears caller / caller hears callee: before 437 /
462 ms (tone rows) and 490 / 490 ms (speaker rows), 9 runs; both changes 416 / 427 and 473 /
501 ms, 6 runs; (1) alone 444 / 456 and 495 / 439 ms, 6 runs. The same code's runs ranged
358-675 ms (p50) as the machine's other load came and went (load 1.3-4; the server benchmarks
share the two cores), so these runs cannot resolve a 20-30 ms change; the changes are kept for
what the trace shows they remove, and because they take work off devsfu, not add it.
`tests/devsfu` (a raw `/rtc/v1` client announcing a track that never sends media), the SDK and
livekit-client (`tests/jssdk`) tests pass with them.

**Where the rest goes, and why it does not go here.** The full run at the top of this section
(5 calls, load 2.3-2.8 at its end) gave 435-526 ms p50; of the traced 433 ms (p50, load 1-4;
305-409 ms in quieter runs before these changes), the after column gives: the client SDK about
240 ms (rows 2, 4's wait, 6, 7, 8, 10), devsfu about 110 ms (rows 3, the rest of 4, 5, 9), the
server's accept and token about 20 ms, the far side about 25 ms. The client's parts are the
`livekit` SDK's (Rust, libwebrtc), not the app's: `LiveKitMediaSession.connect` publishes 1-4
ms after `connect()` returns, and the devices open under the join. The SDK builds its peer
connection (3 audio and 3 video receive sections, 3 data channels) and its first offer before it
opens the WebSocket; it sends its first connectivity check about 50 ms after devsfu's answer; it can
publish only once `connect()` has returned (the Python SDK has no publish-with-join, though the
protocol's `JoinRequest.add_track_requests` would allow one), which costs an `AddTrackRequest`
round trip and then an offer (27 + 49 ms); its first Opus packet comes a 20 ms frame after the
answer. Here both clients and their engines share one Python process, where every event the SDK
hands Python (each 10 ms audio frame too) is a ctypes callback that takes the GIL. devsfu's parts
are aiortc's, in Python: one offer and answer costs about 12 ms of CPU on an idle core (SDP
parsing, and the three video receivers' bitrate estimators for sections devsfu never uses), 38-45
ms here while the two joins and the clients compete for the two cores; livekit-server, which
devsfu stands in for, does this in Go. The far side's 24 ms is the first packet through its
jitter buffer to a frame above -40 dBFS; the SDK offers no playout-delay setting. So the 350 ms
p50 is not met reliably on this machine: what is left above it is the SDK's own sequence and
devsfu's Python WebRTC, neither of which the app's design can remove (tokens stay minted at
accept, and the microphone opens only after the answer)."""
