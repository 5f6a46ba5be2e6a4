import 'dart:async';

import 'package:flutter/services.dart';

/// The Android half of push (`CallPushChannel.java`): the FCM token, where the incoming-call
/// notification's Decline goes, and the call the person accepted on that notification.
///
/// FCM's messages never pass through here: `CallPushService.java` (a
/// `FirebaseMessagingService`) receives them and posts the notification itself, so it works
/// with the app killed, when no Flutter engine runs. Events are maps with an `event` key:
/// `{"event": "token", "token"}` when FCM rotates the token, `{"event": "accepted", "call_id"}`
/// when a notification's Accept is tapped while the app runs.
class PushPlatform {
  PushPlatform._();

  static const MethodChannel _methods = MethodChannel('flet_livekit/push');
  static const EventChannel _events = EventChannel('flet_livekit/push_events');

  /// One stream for the process (two `receiveBroadcastStream`s on one channel would cancel
  /// each other, as for the audio route).
  static final Stream<Map<String, String>> events = _events
      .receiveBroadcastStream()
      .where((event) => event is Map)
      .map((event) => (event as Map<Object?, Object?>)
          .map((key, value) => MapEntry('$key', '${value ?? ''}')));

  /// Remembers [serverUrl] for the notification's Decline; the device's FCM token, or null
  /// when the build carries no Firebase configuration.
  static Future<String?> start(String serverUrl) =>
      _methods.invokeMethod<String>('start', {'server_url': serverUrl});

  /// Forgets the server (signed out).
  static Future<void> stop() => _methods.invokeMethod<void>('stop');

  /// The call whose notification's Accept opened the app, once; null when none did.
  static Future<String?> takeAcceptedCall() =>
      _methods.invokeMethod<String>('takeAcceptedCall');
}
