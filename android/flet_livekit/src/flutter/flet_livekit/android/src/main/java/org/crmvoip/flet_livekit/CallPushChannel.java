package org.crmvoip.flet_livekit;

import android.app.Activity;
import android.content.Context;
import android.content.Intent;
import android.os.Build;
import android.os.Handler;
import android.os.Looper;

import androidx.annotation.NonNull;

import com.google.firebase.FirebaseApp;
import com.google.firebase.messaging.FirebaseMessaging;

import io.flutter.embedding.engine.plugins.activity.ActivityPluginBinding;
import io.flutter.plugin.common.BinaryMessenger;
import io.flutter.plugin.common.EventChannel;
import io.flutter.plugin.common.MethodCall;
import io.flutter.plugin.common.MethodChannel;
import io.flutter.plugin.common.PluginRegistry;

import java.util.HashMap;
import java.util.Map;

/**
 * Channel {@code flet_livekit/push} (the FCM token, the server the notification's Decline goes
 * to, the call accepted on a notification) and event channel {@code flet_livekit/push_events}
 * (token rotations, an Accept while the app runs). The Dart side is
 * {@code lib/src/push_platform.dart}.
 *
 * <p>An Accept opens the activity with the call's id: at a cold start it waits here until the
 * app asks ({@code takeAcceptedCall}); while the app runs it is sent as an event.
 */
final class CallPushChannel
        implements MethodChannel.MethodCallHandler,
                EventChannel.StreamHandler,
                PluginRegistry.NewIntentListener {
    private static CallPushChannel attached; // the one of this process, for onNewToken

    private final Context context;
    private final MethodChannel methods;
    private final EventChannel events;
    private EventChannel.EventSink sink;
    private ActivityPluginBinding activity;
    private String acceptedCall;

    CallPushChannel(Context context, BinaryMessenger messenger) {
        this.context = context;
        methods = new MethodChannel(messenger, "flet_livekit/push");
        methods.setMethodCallHandler(this);
        events = new EventChannel(messenger, "flet_livekit/push_events");
        events.setStreamHandler(this);
        attached = this;
    }

    void detach() {
        methods.setMethodCallHandler(null);
        events.setStreamHandler(null);
        if (attached == this) {
            attached = null;
        }
    }

    void attachActivity(ActivityPluginBinding binding) {
        activity = binding;
        binding.addOnNewIntentListener(this);
        take(binding.getActivity().getIntent(), false);
    }

    void detachActivity() {
        if (activity != null) {
            activity.removeOnNewIntentListener(this);
            activity = null;
        }
    }

    /** FCM rotated the token (called by {@link CallPushService}, on any thread). */
    static void tokenRefreshed(String token) {
        new Handler(Looper.getMainLooper())
                .post(
                        () -> {
                            CallPushChannel channel = attached;
                            if (channel != null && channel.sink != null) {
                                channel.sink.success(event("token", "token", token));
                            }
                        });
    }

    @Override
    public void onMethodCall(@NonNull MethodCall call, @NonNull MethodChannel.Result result) {
        switch (call.method) {
            case "start":
                PushStore.setServerUrl(context, call.argument("server_url"));
                fetchToken(result);
                break;
            case "stop":
                PushStore.clearServerUrl(context);
                result.success(null);
                break;
            case "takeAcceptedCall":
                result.success(acceptedCall);
                acceptedCall = null;
                break;
            default:
                result.notImplemented();
        }
    }

    private void fetchToken(MethodChannel.Result result) {
        if (FirebaseApp.getApps(context).isEmpty()) {
            result.success(null); // no google-services.json in this build: no push
            return;
        }
        FirebaseMessaging.getInstance()
                .getToken()
                .addOnCompleteListener(
                        task -> {
                            if (task.isSuccessful()) {
                                result.success(task.getResult());
                            } else {
                                result.error("push_token", String.valueOf(task.getException()), null);
                            }
                        });
    }

    @Override
    public boolean onNewIntent(@NonNull Intent intent) {
        return take(intent, true);
    }

    /** An intent from the incoming-call notification: show over the lock screen; an Accept's call. */
    private boolean take(Intent intent, boolean running) {
        if (intent == null) {
            return false;
        }
        String accept = intent.getStringExtra(IncomingCallNotifier.EXTRA_ACCEPT_CALL_ID);
        String shown = intent.getStringExtra(IncomingCallNotifier.EXTRA_SHOW_CALL_ID);
        if (accept == null && shown == null) {
            return false;
        }
        showOverLockScreen();
        if (accept != null) {
            intent.removeExtra(IncomingCallNotifier.EXTRA_ACCEPT_CALL_ID); // once
            IncomingCallNotifier.dismiss(context, accept);
            if (running && sink != null) {
                sink.success(event("accepted", "call_id", accept));
            } else {
                acceptedCall = accept;
            }
        }
        return true;
    }

    private void showOverLockScreen() {
        if (activity == null || Build.VERSION.SDK_INT < Build.VERSION_CODES.O_MR1) {
            return;
        }
        Activity shown = activity.getActivity();
        shown.setShowWhenLocked(true);
        shown.setTurnScreenOn(true);
    }

    private static Map<String, String> event(String name, String key, String value) {
        Map<String, String> event = new HashMap<>();
        event.put("event", name);
        event.put(key, value);
        return event;
    }

    @Override
    public void onListen(Object arguments, EventChannel.EventSink events) {
        sink = events;
    }

    @Override
    public void onCancel(Object arguments) {
        sink = null;
    }
}
