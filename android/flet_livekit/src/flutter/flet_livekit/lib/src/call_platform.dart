import 'dart:async';

import 'package:flutter/services.dart';

/// The Android half of the plugin (`FletLivekitPlugin.java`): the call's foreground service and
/// notification, proximity screen-off, and the call's audio route.
///
/// Everything here is process-wide, like what it drives: one foreground service, one proximity
/// lock, one route. Several `LiveKitRoomService`s can be alive at once (the last call's, until
/// Flet sweeps it, and the current one's), so the service and the lock are held by *holders*:
/// each room holds them for its own call, and they are released only when no room holds them.
/// A room that releases late (a cancelled join that finishes after the next call started) never
/// stops the next call's service.
///
/// Outputs are maps `{"id", "name", "kind"}` with kind `speaker | earpiece | wired | bluetooth`,
/// the shape the Python side parses (`flet_livekit.parse_audio_output`).
class CallPlatform {
  CallPlatform._();

  static const MethodChannel _methods = MethodChannel('flet_livekit/call');
  static const EventChannel _routes = EventChannel('flet_livekit/audio_route');

  /// How long the plugin may take to report that the foreground service started or failed.
  static const Duration serviceStartTimeout = Duration(seconds: 10);

  static final Set<Object> _serviceHolders = <Object>{};
  static final Set<Object> _proximityHolders = <Object>{};

  /// The call's audio route, whenever Android changes it, starting with the route at the time
  /// of the first subscription. One stream for the whole process: `receiveBroadcastStream`
  /// called twice would make two streams on one channel, and cancelling the older one would
  /// cancel the channel under the newer one. Subscribers come and go on this one; the plugin
  /// is asked to listen while there is at least one.
  static final Stream<Map<String, String>> audioRoutes = _routes
      .receiveBroadcastStream()
      .where((event) => event is Map)
      .map((event) => _output(event as Map<Object?, Object?>));

  /// Starts the foreground service (type `microphone`) with its ongoing-call notification, held
  /// by [holder]. Completes once Android has put it in the foreground; fails with a
  /// `PlatformException` when the microphone permission is missing or Android refused it.
  static Future<void> startCallService(Object holder, String title, String text) async {
    _serviceHolders.add(holder);
    await _methods
        .invokeMethod<void>('startCallService', {'title': title, 'text': text})
        .timeout(serviceStartTimeout);
  }

  /// Releases [holder]'s hold on the foreground service; the service stops with the last one.
  static Future<void> stopCallService(Object holder) async {
    if (!_serviceHolders.remove(holder) || _serviceHolders.isNotEmpty) return;
    await _methods.invokeMethod<void>('stopCallService');
  }

  /// Turns the screen off while the proximity sensor is covered (phone at the ear), as long as
  /// any holder wants it.
  static Future<void> setProximityScreenOff(Object holder, bool enabled) async {
    final before = _proximityHolders.isNotEmpty;
    if (enabled) {
      _proximityHolders.add(holder);
    } else {
      _proximityHolders.remove(holder);
    }
    final after = _proximityHolders.isNotEmpty;
    if (before != after) {
      await _methods.invokeMethod<void>('setProximityScreenOff', {'enabled': after});
    }
  }

  /// What the call can be routed to and kept on: the speaker, and `automatic` (LiveKit's
  /// audioswitch picks Bluetooth, else a wired headset, else the earpiece; named after what it
  /// would pick now).
  static Future<List<Map<String, String>>> listAudioOutputs() async {
    final raw = await _methods.invokeListMethod<Map<Object?, Object?>>('listAudioOutputs');
    return (raw ?? const []).map(_output).toList();
  }

  /// The output the call is routed to right now.
  static Future<Map<String, String>> currentAudioOutput() async {
    final raw = await _methods.invokeMapMethod<Object?, Object?>('currentAudioOutput');
    return _output(raw ?? const {});
  }

  /// Asks the plugin to look at the route again soon (below Android 12 nothing tells it that
  /// the speakerphone was switched); a change arrives on [audioRoutes].
  static Future<void> checkAudioRoute() => _methods.invokeMethod<void>('checkAudioRoute');

  static Map<String, String> _output(Map<Object?, Object?> raw) => {
        'id': '${raw['id'] ?? ''}',
        'name': '${raw['name'] ?? ''}',
        'kind': '${raw['kind'] ?? ''}',
      };
}
