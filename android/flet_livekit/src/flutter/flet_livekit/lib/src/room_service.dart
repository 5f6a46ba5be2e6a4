import 'dart:async';

import 'package:flet/flet.dart';
import 'package:flutter/foundation.dart';
// Prefixed: flet and livekit_client both export many names; no ambiguity can creep in.
import 'package:livekit_client/livekit_client.dart' as lk;

import 'call_platform.dart';

/// The Dart side of the Python `flet_livekit.LiveKitRoom` service: one LiveKit room per call.
///
/// Methods (`_invokeMethod`) and events (`control.triggerEvent`) are the contract with
/// `src/flet_livekit/room.py`; `tests/android/fake_dart.py` plays this class in the Python tests,
/// so a change here is a change there. Every event carries a map (empty when there is nothing to
/// say) so that Flet builds the handler's typed event.
class LiveKitRoomService extends FletService {
  LiveKitRoomService({required super.control});

  final CallPlatform _platform = CallPlatform();
  lk.Room? _room;
  lk.EventsListener<lk.RoomEvent>? _events;
  StreamSubscription<Map<String, String>>? _routeSubscription;
  String? _lastRouteId;
  bool _joining = false;

  /// Wanted before the join too: the join publishes the microphone muted or not.
  bool _microphoneEnabled = true;

  @override
  void init() {
    super.init();
    control.addInvokeMethodListener(_invokeMethod);
    _routeSubscription = _platform.audioRouteChanges.listen((output) {
      if (_room != null) _emitRoute(output);
    }, onError: (Object e) => debugPrint("LiveKitRoom: audio route stream failed: $e"));
  }

  @override
  void dispose() {
    control.removeInvokeMethodListener(_invokeMethod);
    _routeSubscription?.cancel();
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
        return await _platform.listAudioOutputs();
      case "select_audio_output":
        return await _selectAudioOutput(args["output_id"] as String);
      default:
        throw Exception("Unknown LiveKitRoom method: $name");
    }
  }

  Future<void> _connect(String url, String token) async {
    if (_room != null || _joining) {
      throw Exception("already connected to a room; disconnect first");
    }
    _joining = true;
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
    try {
      // Started before the microphone opens: Android 14 only lets a foreground service of type
      // microphone start while the app is in front and holds RECORD_AUDIO.
      await _platform.startCallService(
        control.getString("notification_title", "Call in progress")!,
        control.getString("notification_text", "Tap to return to the call")!,
      );
      // A call starts on the earpiece, like a phone call; a headset still takes priority.
      await lk.AudioManager.instance.setSpeakerOutputPreferred(false);
      await room.connect(url, token);
      await room.localParticipant?.setMicrophoneEnabled(_microphoneEnabled);
      if (control.getBool("proximity_screen_off", true)!) {
        await _platform.setProximityScreenOff(true);
      }
    } catch (e) {
      await _release(room, events);
      throw Exception("could not join the room: $e");
    } finally {
      _joining = false;
    }
    _room = room;
    _events = events;
    // "connected" means joined *and* publishing, as on desktop; RoomConnectedEvent comes earlier.
    _emit("connected");
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
  Future<void> _leave() async {
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
    _lastRouteId = null;
    if (room != null && events != null) await _release(room, events);
  }

  Future<void> _release(lk.Room room, lk.EventsListener<lk.RoomEvent> events) async {
    await _ignoreErrors(() => room.disconnect());
    await _ignoreErrors(() => _platform.setProximityScreenOff(false));
    await _ignoreErrors(() => _platform.stopCallService());
    await _ignoreErrors(() async => await events.dispose());
    await _ignoreErrors(() async => await room.dispose());
  }

  Future<void> _setMicrophoneEnabled(bool enabled) async {
    _microphoneEnabled = enabled;
    await _room?.localParticipant?.setMicrophoneEnabled(enabled);
  }

  Future<Map<String, String>> _selectAudioOutput(String id) async {
    final outputs = await _platform.listAudioOutputs();
    final matches = outputs.where((o) => o["id"] == id).toList();
    if (matches.isEmpty) {
      throw Exception("unknown audio output '$id'");
    }
    final output = matches.first;
    // Keep LiveKit's own routing preference in line with the choice, so that its audio switch
    // does not undo it: the speaker is forced, anything else prefers not-the-speaker.
    final speaker = output["kind"] == "speaker";
    await lk.AudioManager.instance.setSpeakerOutputPreferred(speaker, force: speaker);
    final chosen = await _platform.selectAudioOutput(id);
    _lastRouteId = null; // report the choice even if the route was already there
    _emitRoute(chosen);
    return chosen;
  }

  void _emitRoute(Map<String, String> output) {
    if (output["id"] == _lastRouteId) return;
    _lastRouteId = output["id"];
    _emit("audio_output_changed", {
      "output_id": output["id"],
      "output_name": output["name"],
      "kind": output["kind"],
    });
  }

  void _emit(String name, [Map<String, dynamic>? data]) {
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
