package org.crmvoip.flet_livekit;

import android.Manifest;
import android.content.Context;
import android.content.Intent;
import android.content.pm.PackageManager;
import android.os.Build;
import android.os.PowerManager;

import androidx.annotation.NonNull;

import java.util.Map;

import io.flutter.embedding.engine.plugins.FlutterPlugin;
import io.flutter.plugin.common.EventChannel;
import io.flutter.plugin.common.MethodCall;
import io.flutter.plugin.common.MethodChannel;

/**
 * The Android half of flet_livekit: channel {@code flet_livekit/call} (foreground service,
 * proximity screen-off, audio outputs) and event channel {@code flet_livekit/audio_route} (the
 * call's output as Android changes it). The Dart side is {@code lib/src/call_platform.dart}.
 */
public final class FletLivekitPlugin
        implements FlutterPlugin, MethodChannel.MethodCallHandler, EventChannel.StreamHandler {
    private static final long PROXIMITY_LOCK_MAX_MS = 4L * 60 * 60 * 1000; // bounded, as lint asks

    private Context context;
    private MethodChannel methods;
    private EventChannel routes;
    private AudioOutputs outputs;
    private PowerManager.WakeLock proximityLock;

    @Override
    public void onAttachedToEngine(@NonNull FlutterPluginBinding binding) {
        context = binding.getApplicationContext();
        outputs = new AudioOutputs(context);
        methods = new MethodChannel(binding.getBinaryMessenger(), "flet_livekit/call");
        methods.setMethodCallHandler(this);
        routes = new EventChannel(binding.getBinaryMessenger(), "flet_livekit/audio_route");
        routes.setStreamHandler(this);
    }

    @Override
    public void onDetachedFromEngine(@NonNull FlutterPluginBinding binding) {
        methods.setMethodCallHandler(null);
        routes.setStreamHandler(null);
        outputs.stopListening();
        setProximityScreenOff(false);
    }

    @Override
    public void onMethodCall(@NonNull MethodCall call, @NonNull MethodChannel.Result result) {
        try {
            switch (call.method) {
                case "startCallService":
                    startCallService(call.argument("title"), call.argument("text"), result);
                    break;
                case "stopCallService":
                    context.stopService(new Intent(context, CallForegroundService.class));
                    result.success(null);
                    break;
                case "setProximityScreenOff":
                    setProximityScreenOff(Boolean.TRUE.equals(call.argument("enabled")));
                    result.success(null);
                    break;
                case "listAudioOutputs":
                    result.success(outputs.list());
                    break;
                case "selectAudioOutput":
                    String id = call.argument("id");
                    Map<String, String> chosen = id != null ? outputs.select(id) : null;
                    if (chosen == null) {
                        result.error("unknown_output", "unknown audio output '" + id + "'", null);
                    } else {
                        result.success(chosen);
                    }
                    break;
                default:
                    result.notImplemented();
            }
        } catch (RuntimeException e) {
            result.error("failed", call.method + ": " + e, null);
        }
    }

    private void startCallService(String title, String text, MethodChannel.Result result) {
        // Android 14 refuses a microphone foreground service without the permission, and would
        // do it inside the service, out of reach: check here, where the app can be told.
        if (context.checkSelfPermission(Manifest.permission.RECORD_AUDIO)
                != PackageManager.PERMISSION_GRANTED) {
            result.error("microphone_permission", "the microphone permission is not granted", null);
            return;
        }
        Intent intent = new Intent(context, CallForegroundService.class);
        intent.putExtra(CallForegroundService.EXTRA_TITLE, title);
        intent.putExtra(CallForegroundService.EXTRA_TEXT, text);
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            context.startForegroundService(intent);
        } else {
            context.startService(intent);
        }
        result.success(null);
    }

    private void setProximityScreenOff(boolean enabled) {
        PowerManager power = (PowerManager) context.getSystemService(Context.POWER_SERVICE);
        if (power == null
                || !power.isWakeLockLevelSupported(PowerManager.PROXIMITY_SCREEN_OFF_WAKE_LOCK)) {
            return; // no proximity sensor: nothing to do
        }
        if (enabled) {
            if (proximityLock == null) {
                proximityLock =
                        power.newWakeLock(
                                PowerManager.PROXIMITY_SCREEN_OFF_WAKE_LOCK,
                                "flet_livekit:proximity");
                proximityLock.setReferenceCounted(false);
            }
            proximityLock.acquire(PROXIMITY_LOCK_MAX_MS);
        } else if (proximityLock != null && proximityLock.isHeld()) {
            proximityLock.release(PowerManager.RELEASE_FLAG_WAIT_FOR_NO_PROXIMITY);
        }
    }

    @Override
    public void onListen(Object arguments, EventChannel.EventSink events) {
        outputs.startListening(events);
    }

    @Override
    public void onCancel(Object arguments) {
        outputs.stopListening();
    }
}
