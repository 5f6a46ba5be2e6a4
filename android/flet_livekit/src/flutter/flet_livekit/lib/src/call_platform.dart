import 'dart:async';

import 'package:flutter/services.dart';

/// The Android half of the plugin (`FletLivekitPlugin.java`): the call's foreground service and
/// notification, proximity screen-off, and the phone's audio outputs.
///
/// Outputs are maps `{"id", "name", "kind"}` with kind `speaker | earpiece | wired | bluetooth`,
/// the shape the Python side parses (`flet_livekit.parse_audio_output`).
class CallPlatform {
  static const MethodChannel _methods = MethodChannel('flet_livekit/call');
  static const EventChannel _routes = EventChannel('flet_livekit/audio_route');

  /// Starts the foreground service (type `microphone`) with its ongoing-call notification.
  /// Fails with a `PlatformException` when the microphone permission is missing.
  Future<void> startCallService(String title, String text) =>
      _methods.invokeMethod<void>('startCallService', {'title': title, 'text': text});

  Future<void> stopCallService() => _methods.invokeMethod<void>('stopCallService');

  /// Turns the screen off while the proximity sensor is covered (phone at the ear).
  Future<void> setProximityScreenOff(bool enabled) =>
      _methods.invokeMethod<void>('setProximityScreenOff', {'enabled': enabled});

  Future<List<Map<String, String>>> listAudioOutputs() async {
    final raw = await _methods.invokeListMethod<Map<Object?, Object?>>('listAudioOutputs');
    return (raw ?? const []).map(_output).toList();
  }

  /// Routes the call to the output with [id]; returns it. Throws for an unknown id.
  Future<Map<String, String>> selectAudioOutput(String id) async {
    final raw =
        await _methods.invokeMapMethod<Object?, Object?>('selectAudioOutput', {'id': id});
    return _output(raw ?? const {});
  }

  /// The output the call is routed to right now, whenever Android changes it (a headset is
  /// plugged in, Bluetooth connects, or [selectAudioOutput] took effect).
  Stream<Map<String, String>> get audioRouteChanges => _routes
      .receiveBroadcastStream()
      .where((event) => event is Map)
      .map((event) => _output(event as Map<Object?, Object?>));

  static Map<String, String> _output(Map<Object?, Object?> raw) => {
        'id': '${raw['id'] ?? ''}',
        'name': '${raw['name'] ?? ''}',
        'kind': '${raw['kind'] ?? ''}',
      };
}
