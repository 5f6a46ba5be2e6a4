import 'dart:async';

import 'package:flet/flet.dart';
import 'package:flutter/foundation.dart';
// Prefixed: flet and livekit_client both export many names; no ambiguity can creep in.
import 'package:livekit_client/livekit_client.dart' as lk;

import 'call_platform.dart';

/// One join in progress, and whether a leave (or a dispose) cancelled it.
///
/// A join awaits several steps (the foreground service, the speaker preference, the SFU, the
/// microphone). A leave cannot stop a step that is running; it marks the join cancelled, and
/// the join checks the mark after every step and releases what it holds so far. So a hang-up
/// while connecting never ends with a published microphone nobody will close.
class _Join {
  bool cancelled = false;
}

class _JoinCancelled implements Exception {
  @override
  String toString() => "the call was left while joining";
}

/// The Dart side of the Python `flet_livekit.LiveKitRoom` service: one LiveKit room per call.
///
/// Methods (`_invokeMethod`) and events (`control.triggerEvent`) are the contract with
/// `src/flet_livekit/room.py`; `tests/android/fake_dart.py` plays this class in the Python tests,
/// so a change here is a change there. Every event carries a map (empty when there is nothing to
/// say) so that Flet builds the handler's typed event.
class LiveKitRoomService extends FletService {
  LiveKitRoomService({required super.control});

  lk.Room? _room;
  lk.EventsListener<lk.RoomEvent>? _events;
  _Join? _join;
  bool _disposed = false;
  StreamSubscription<Map<String, String>>? _routeSubscription;

  /// The latest route Android reported, kept while no room exists, reported once joined.
  Map<String, String>? _route;

  /// The route last reported to Python, as `id|name|kind`: `automatic` stays the id while
  /// audioswitch moves between the earpiece and a headset, so the id alone says too little.
  String? _reportedRoute;

  /// Wanted before the join too: the join publishes the microphone muted or not.
  bool _microphoneEnabled = true;

  /// The one routing choice the app makes (LiveKit's audioswitch makes every other one).
  bool _speakerChosen = false;

  @override
  void init() {
    super.init();
    control.addInvokeMethodListener(_invokeMethod);
    _routeSubscription = CallPlatform.audioRoutes.listen(
      (output) => unawaited(_onRoute(output)),
      onError: (Object e) => debugPrint("LiveKitRoom: audio route stream failed: $e"),
    );
  }

  @override
  void dispose() {
    _disposed = true;
    _join?.cancelled = true; // the join releases itself at its next step
    control.removeInvokeMethodListener(_invokeMethod);
    _routeSubscription?.cancel(); // this service's subscription only: the stream stays
    unawaited(_teardown()); // the control is gone: nothing to report to
    super.dispose();
  }

  Future<dynamic> _invokeMethod(String name, dynamic args) async {
    switch (name) {
      case "connect":
        await _connect(args["url"] as String, args["token"] as String);
        return null;
      case "disconnect":
        await _leave();
        return null;
      case "set_microphone_enabled":
        await _setMicrophoneEnabled(args["enabled"] as bool);
        return null;
      case "list_audio_outputs":
        return await CallPlatform.listAudioOutputs();
      case "select_audio_output":
        return await _selectAudioOutput(args["output_id"] as String);
      default:
        throw Exception("Unknown LiveKitRoom method: $name");
    }
  }

  Future<void> _connect(String url, String token) async {
    if (_disposed) throw Exception("the room service is gone");
    if (_room != null || _join != null) {
      throw Exception("already connected to a room; disconnect first");
    }
    final room = lk.Room(
      roomOptions: const lk.RoomOptions(
        adaptiveStream: false,
        dynacast: false,
        defaultAudioCaptureOptions: lk.AudioCaptureOptions(
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
        ),
      ),
    );
    final events = room.createListener();
    _wire(events);
    final join = _Join();
    _join = join;
    try {
      // Started before the microphone opens: Android 14 only lets a foreground service of type
      // microphone start while the app is in front and holds RECORD_AUDIO.
      await CallPlatform.startCallService(
        this,
        control.getString("notification_title", "Call in progress")!,
        control.getString("notification_text", "Tap to return to the call")!,
      );
      _check(join);
      // A call starts on the earpiece, like a phone call; a headset still takes priority.
      await lk.AudioManager.instance
          .setSpeakerOutputPreferred(_speakerChosen, force: _speakerChosen);
      _check(join);
      await room.connect(url, token);
      _check(join);
      await room.localParticipant?.setMicrophoneEnabled(_microphoneEnabled);
      _check(join);
    } catch (e) {
      if (identical(_join, join)) _join = null;
      await _release(room, events);
      if (join.cancelled) throw _JoinCancelled();
      throw Exception("could not join the room: $e");
    }
    _join = null;
    _room = room;
    _events = events;
    _reportedRoute = null;
    // "connected" means joined *and* publishing, as on desktop; RoomConnectedEvent comes earlier.
    _emit("connected");
    await _reportRoute();
  }

  static void _check(_Join join) {
    if (join.cancelled) throw _JoinCancelled();
  }

  void _wire(lk.EventsListener<lk.RoomEvent> events) {
    events
      ..on<lk.RoomReconnectingEvent>((_) => _emit("reconnecting"))
      ..on<lk.RoomResumingEvent>((_) => _emit("reconnecting"))
      ..on<lk.RoomReconnectedEvent>((_) => _emit("reconnected"))
      ..on<lk.RoomDisconnectedEvent>((event) async {
        // While joining, a failed join is reported by connect's exception; after our own
        // leave, _leave has reported it. Only a room that went away on its own is news here.
        if (_room == null) return;
        final reason = _snakeCase(event.reason?.name ?? "unknown");
        await _teardown();
        _emit("disconnected", {"reason": reason});
      })
      ..on<lk.ParticipantConnectedEvent>((event) =>
          _emit("participant_connected", {"identity": event.participant.identity}))
      ..on<lk.ParticipantDisconnectedEvent>((event) =>
          _emit("participant_disconnected", {"identity": event.participant.identity}))
      // The app knows its own mute state; only the far end's mutes are news.
      ..on<lk.TrackMutedEvent>((event) {
        if (event.participant is lk.RemoteParticipant) {
          _emit("track_muted", {"identity": event.participant.identity, "muted": true});
        }
      })
      ..on<lk.TrackUnmutedEvent>((event) {
        if (event.participant is lk.RemoteParticipant) {
          _emit("track_muted", {"identity": event.participant.identity, "muted": false});
        }
      })
      ..on<lk.ParticipantConnectionQualityUpdatedEvent>((event) => _emit("connection_quality", {
            "identity": event.participant.identity,
            "quality": event.connectionQuality.name,
          }));
  }

  /// Leaves the room and reports `disconnected` (reason `client_initiated`); safe when idle.
  /// A join still running is cancelled: it releases its room at its next step, and reports
  /// nothing (it never reported `connected`).
  Future<void> _leave() async {
    final join = _join;
    if (join != null) {
      join.cancelled = true;
      return;
    }
    if (_room == null) return;
    await _teardown();
    _emit("disconnected", {"reason": "client_initiated"});
  }

  /// Leaves and releases the room, the foreground service and the proximity lock; idempotent.
  Future<void> _teardown() async {
    final room = _room;
    final events = _events;
    _room = null; // first: the RoomDisconnectedEvent our own disconnect causes is not news
    _events = null;
    _reportedRoute = null;
    if (room != null && events != null) await _release(room, events);
  }

  Future<void> _release(lk.Room room, lk.EventsListener<lk.RoomEvent> events) async {
    await _ignoreErrors(() => room.disconnect());
    await _ignoreErrors(() => CallPlatform.setProximityScreenOff(this, false));
    await _ignoreErrors(() => CallPlatform.stopCallService(this));
    await _ignoreErrors(() async => await events.dispose());
    await _ignoreErrors(() async => await room.dispose());
  }

  Future<void> _setMicrophoneEnabled(bool enabled) async {
    _microphoneEnabled = enabled;
    await _room?.localParticipant?.setMicrophoneEnabled(enabled);
  }

  /// Applies a choice from [CallPlatform.listAudioOutputs] through LiveKit, the route's one
  /// owner: the speaker is forced, `automatic` leaves the pick to its audioswitch. The route
  /// itself is reported when Android has switched (`audio_output_changed`).
  Future<Map<String, String>> _selectAudioOutput(String id) async {
    final outputs = await CallPlatform.listAudioOutputs();
    final matches = outputs.where((o) => o["id"] == id).toList();
    if (matches.isEmpty) {
      throw Exception("unknown audio output '$id'");
    }
    _speakerChosen = id == "speaker";
    await lk.AudioManager.instance.setSpeakerOutputPreferred(_speakerChosen, force: _speakerChosen);
    await _ignoreErrors(() => CallPlatform.checkAudioRoute());
    return matches.first;
  }

  Future<void> _onRoute(Map<String, String> output) async {
    _route = output;
    if (_room != null) await _applyRoute(output);
  }

  /// The route at the time of joining: Android's answer now, else the last one it reported.
  Future<void> _reportRoute() async {
    try {
      _route = await CallPlatform.currentAudioOutput();
    } catch (e) {
      debugPrint("LiveKitRoom: could not read the audio route: $e");
    }
    final route = _route;
    if (route != null && _room != null) await _applyRoute(route);
  }

  /// Reports a new route and keeps the proximity lock only while the call is at the earpiece
  /// (with the speaker or a headset the phone is not at the ear).
  Future<void> _applyRoute(Map<String, String> output) async {
    final key = "${output["id"]}|${output["name"]}|${output["kind"]}";
    if (key != _reportedRoute) {
      _reportedRoute = key;
      _emit("audio_output_changed", {
        "output_id": output["id"],
        "output_name": output["name"],
        "kind": output["kind"],
      });
    }
    final atTheEar = _room != null &&
        output["kind"] == "earpiece" &&
        control.getBool("proximity_screen_off", true)!;
    await _ignoreErrors(() => CallPlatform.setProximityScreenOff(this, atTheEar));
  }

  void _emit(String name, [Map<String, dynamic>? data]) {
    if (_disposed) return;
    control.triggerEvent(name, data ?? <String, dynamic>{});
  }

  static String _snakeCase(String name) =>
      name.replaceAllMapped(RegExp(r'[A-Z]'), (m) => '_${m[0]!.toLowerCase()}');

  static Future<void> _ignoreErrors(Future<void> Function() action) async {
    try {
      await action();
    } catch (e) {
      debugPrint("LiveKitRoom: cleanup step failed: $e");
    }
  }
}
