// One participant's side of a call through LiveKit's JS SDK, driven by tests/jssdk over
// Playwright. Everything the test does goes through window.harness; everything the SDK reports
// is appended to harness.events as {kind, identity, ...}.
//
// Audio is WebAudio both ways: the published track is an OscillatorNode's MediaStream (a steady
// sine, no microphone), and each subscribed track is fed into an AnalyserNode whose time-domain
// samples the test reads and measures. Chrome only pulls a remote WebRTC track's audio while a
// media element plays it, so the track is also attached to a (muted) <audio> element.
"use strict";

const LK = window.LivekitClient;
const ANALYSER_SIZE = 16384; // a third of a second at 48 kHz

const state = { room: null, ctx: null, tone: null, publication: null, analysers: {} };

function audioContext() {
  if (!state.ctx) state.ctx = new AudioContext();
  return state.ctx;
}

function record(kind, fields) {
  window.harness.events.push({ kind, at: performance.now(), ...fields });
}

function describeError(e) {
  const reasons = LK.ConnectionErrorReason || {};
  return {
    ok: false,
    name: e && e.name,
    reason: e && e.reason !== undefined ? reasons[e.reason] : undefined,
    status: e && e.status,
    message: String((e && e.message) || e),
  };
}

function listen(room) {
  room
    .on(LK.RoomEvent.TrackSubscribed, (track, publication, participant) => {
      if (track.kind !== "audio") return;
      const element = track.attach();
      element.muted = true;
      document.body.appendChild(element);
      const ctx = audioContext();
      const source = ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = ANALYSER_SIZE;
      source.connect(analyser);
      state.analysers[participant.identity] = analyser;
      record("subscribed", { identity: participant.identity, track: publication.trackSid });
    })
    .on(LK.RoomEvent.TrackMuted, (publication, participant) =>
      record("muted", { identity: participant.identity, track: publication.trackSid }))
    .on(LK.RoomEvent.TrackUnmuted, (publication, participant) =>
      record("unmuted", { identity: participant.identity, track: publication.trackSid }))
    .on(LK.RoomEvent.ParticipantConnected, (participant) =>
      record("participant_connected", { identity: participant.identity }))
    .on(LK.RoomEvent.ParticipantDisconnected, (participant) =>
      record("participant_disconnected", { identity: participant.identity }))
    .on(LK.RoomEvent.Disconnected, (reason) => record("disconnected", { reason }));
}

window.harness = {
  sdkVersion() {
    return LK.version;
  },
  events: [],

  /** Join; resolves to {ok, ms} or to the SDK's error as {ok: false, reason, status, message}. */
  async connect(url, token) {
    const room = new LK.Room();
    listen(room);
    const started = performance.now();
    try {
      await room.connect(url, token);
    } catch (e) {
      return describeError(e);
    }
    state.room = room;
    return { ok: true, ms: performance.now() - started, sid: room.localParticipant.sid };
  },

  /** Publish a sine of `hz` at `amplitude` (of full scale) as this participant's microphone. */
  async publishTone(hz, amplitude) {
    const ctx = audioContext();
    await ctx.resume();
    const oscillator = ctx.createOscillator();
    oscillator.frequency.value = hz;
    const gain = ctx.createGain();
    gain.gain.value = amplitude;
    const destination = ctx.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();
    state.tone = oscillator;
    const track = destination.stream.getAudioTracks()[0];
    state.publication = await state.room.localParticipant.publishTrack(track, {
      name: "tone",
      source: LK.Track.Source.Microphone,
    });
    return state.publication.trackSid;
  },

  async setMuted(muted) {
    if (muted) await state.publication.mute();
    else await state.publication.unmute();
  },

  /** Whether a subscribed track of `identity` is being measured. */
  hears(identity) {
    return identity in state.analysers;
  },

  /** The last ANALYSER_SIZE samples heard from `identity`, and the sample rate. */
  samples(identity) {
    const analyser = state.analysers[identity];
    const buffer = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(buffer);
    return { rate: analyser.context.sampleRate, samples: Array.from(buffer) };
  },

  remoteIdentities() {
    return Array.from(state.room.remoteParticipants.values()).map((p) => p.identity);
  },

  connectionState() {
    return state.room ? state.room.state : "none";
  },

  async leave() {
    await state.room.disconnect();
    return state.room.state;
  },
};
