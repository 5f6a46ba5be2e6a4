package org.crmvoip.flet_livekit;

import android.Manifest;
import android.content.Context;
import android.content.pm.PackageManager;
import android.os.PowerManager;

import androidx.annotation.NonNull;

import io.flutter.embedding.engine.plugins.FlutterPlugin;
import io.flutter.embedding.engine.plugins.activity.ActivityAware;
import io.flutter.embedding.engine.plugins.activity.ActivityPluginBinding;
import io.flutter.plugin.common.EventChannel;
import io.flutter.plugin.common.MethodCall;
import io.flutter.plugin.common.MethodChannel;

/**
 * The Android half of flet_livekit: channel {@code flet_livekit/call} (foreground service,
 * proximity screen-off, audio routes) and event channel {@code flet_livekit/audio_route} (the
 * call's route when listening starts and whenever Android changes it). The Dart side is
 * {@code lib/src/call_platform.dart}. The push half's channels are {@link CallPushChannel}'s,
 * which this plugin opens and hands the activity to (an Accept on a notification opens it).
 */
public final class FletLivekitPlugin
        implements FlutterPlugin,
                ActivityAware,
                MethodChannel.MethodCallHandler,
                EventChannel.StreamHandler {
    private static final long PROXIMITY_LOCK_MAX_MS = 4L * 60 * 60 * 1000; // bounded, as lint asks

    private Context context;
    private MethodChannel methods;
    private EventChannel routeEvents;
    private AudioRoutes routes;
    private PowerManager.WakeLock proximityLock;
    private CallPushChannel push;

    @Override
    public void onAttachedToEngine(@NonNull FlutterPluginBinding binding) {
        context = binding.getApplicationContext();
        routes = new AudioRoutes(context);
        methods = new MethodChannel(binding.getBinaryMessenger(), "flet_livekit/call");
        methods.setMethodCallHandler(this);
        routeEvents = new EventChannel(binding.getBinaryMessenger(), "flet_livekit/audio_route");
        routeEvents.setStreamHandler(this);
        push = new CallPushChannel(context, binding.getBinaryMessenger());
    }

    @Override
    public void onDetachedFromEngine(@NonNull FlutterPluginBinding binding) {
        methods.setMethodCallHandler(null);
        routeEvents.setStreamHandler(null);
        routes.unwatch();
        setProximityScreenOff(false);
        push.detach();
    }

    @Override
    public void onAttachedToActivity(@NonNull ActivityPluginBinding binding) {
        push.attachActivity(binding);
    }

    @Override
    public void onDetachedFromActivityForConfigChanges() {
        push.detachActivity();
    }

    @Override
    public void onReattachedToActivityForConfigChanges(@NonNull ActivityPluginBinding binding) {
        push.attachActivity(binding);
    }

    @Override
    public void onDetachedFromActivity() {
        push.detachActivity();
    }

    @Override
    public void onMethodCall(@NonNull MethodCall call, @NonNull MethodChannel.Result result) {
        try {
            switch (call.method) {
                case "startCallService":
                    startCallService(call.argument("title"), call.argument("text"), result);
                    break;
                case "stopCallService":
                    CallForegroundService.stop(context);
                    result.success(null);
                    break;
                case "setProximityScreenOff":
                    setProximityScreenOff(Boolean.TRUE.equals(call.argument("enabled")));
                    result.success(null);
                    break;
                case "listAudioOutputs":
                    result.success(routes.choices());
                    break;
                case "currentAudioOutput":
                    result.success(routes.current());
                    break;
                case "checkAudioRoute":
                    routes.checkSoon();
                    result.success(null);
                    break;
                default:
                    result.notImplemented();
            }
        } catch (RuntimeException e) {
            result.error("failed", call.method + ": " + e, null);
        }
    }

    private void startCallService(String title, String text, MethodChannel.Result result) {
        // Android 14 refuses a microphone foreground service without the permission: check
        // first, so the usual case gets the plain message (the service guards the rest).
        if (context.checkSelfPermission(Manifest.permission.RECORD_AUDIO)
                != PackageManager.PERMISSION_GRANTED) {
            result.error("microphone_permission", "the microphone permission is not granted", null);
            return;
        }
        CallForegroundService.start(
                context,
                title,
                text,
                new CallForegroundService.StartReport() {
                    @Override
                    public void started() {
                        result.success(null);
                    }

                    @Override
                    public void failed(String message) {
                        result.error("foreground_service", message, null);
                    }
                });
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
        routes.watch(events);
    }

    @Override
    public void onCancel(Object arguments) {
        routes.unwatch();
    }
}
