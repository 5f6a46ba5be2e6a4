import 'package:flet/flet.dart';

import 'push_service.dart';
import 'room_service.dart';

/// Registered by `flet build` (as `flet_livekit.Extension()`): creates the Dart side of the
/// Python `flet_livekit.LiveKitRoom` and `flet_livekit.CallPush` services.
class Extension extends FletExtension {
  @override
  FletService? createService(Control control) {
    switch (control.type) {
      case "LiveKitRoom":
        return LiveKitRoomService(control: control);
      case "CallPush":
        return CallPushService(control: control);
      default:
        return null;
    }
  }
}
