import 'dart:async';

import 'package:flet/flet.dart';
import 'package:flutter/foundation.dart';

import 'push_platform.dart';

/// The Dart side of the Python `flet_livekit.CallPush` service: the push half of the extension.
///
/// Methods (`_invokeMethod`) and events (`control.triggerEvent`) are the contract with
/// `src/flet_livekit/push.py`; `tests/android/fake_push.py` plays this class in the Python
/// tests, so a change here is a change there.
class CallPushService extends FletService {
  CallPushService({required super.control});

  bool _disposed = false;
  StreamSubscription<Map<String, String>>? _subscription;

  @override
  void init() {
    super.init();
    control.addInvokeMethodListener(_invokeMethod);
    _subscription = PushPlatform.events.listen(
      _onPlatformEvent,
      onError: (Object e) => debugPrint("CallPush: push event stream failed: $e"),
    );
  }

  @override
  void dispose() {
    _disposed = true;
    control.removeInvokeMethodListener(_invokeMethod);
    _subscription?.cancel();
    super.dispose();
  }

  Future<dynamic> _invokeMethod(String name, dynamic args) async {
    switch (name) {
      case "start":
        return await PushPlatform.start(args["server_url"] as String);
      case "stop":
        await PushPlatform.stop();
        return null;
      case "take_accepted_call":
        return await PushPlatform.takeAcceptedCall();
      default:
        throw Exception("Unknown CallPush method: $name");
    }
  }

  void _onPlatformEvent(Map<String, String> event) {
    switch (event["event"]) {
      case "token":
        _emit("token_refreshed", {"token": event["token"]});
        break;
      case "accepted":
        _emit("call_accepted", {"call_id": event["call_id"]});
        break;
      default:
        debugPrint("CallPush: unknown push event ${event["event"]}");
    }
  }

  void _emit(String name, Map<String, dynamic> data) {
    if (_disposed) return;
    control.triggerEvent(name, data);
  }
}
