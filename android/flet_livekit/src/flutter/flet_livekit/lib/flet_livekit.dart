/// Flet extension: the `LiveKitRoom` service (a LiveKit audio call) for Flet apps.
library flet_livekit;

export "src/extension.dart" show Extension;
