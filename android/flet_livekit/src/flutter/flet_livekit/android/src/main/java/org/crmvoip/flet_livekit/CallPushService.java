package org.crmvoip.flet_livekit;

import android.app.ActivityManager;

import com.google.firebase.messaging.FirebaseMessagingService;
import com.google.firebase.messaging.RemoteMessage;

import java.util.Map;

/**
 * Receives the call server's FCM data messages, with the app in the foreground, in the
 * background or killed: Android starts the process for a high-priority message and runs this
 * service, with no Flutter engine and no Python. So the notification is posted here, natively.
 *
 * <p>{@code incoming} ({@code call_id, caller_id, caller_name, ring_expires_at,
 * decline_capability, context_label}) posts the incoming-call notification, unless the app is in front (its
 * own connection rings it there: the server rings a socket again when it connects while a call
 * rings for it). {@code cancel} ({@code call_id, status}) removes it.
 */
public final class CallPushService extends FirebaseMessagingService {
    static final String INCOMING = "incoming";
    static final String CANCEL = "cancel";

    @Override
    public void onMessageReceived(RemoteMessage message) {
        Map<String, String> data = message.getData();
        String callId = data.get("call_id");
        if (callId == null) {
            return;
        }
        String type = data.get("type");
        if (INCOMING.equals(type) && !appInFront()) {
            IncomingCallNotifier.show(this, data);
        } else if (CANCEL.equals(type)) {
            IncomingCallNotifier.stop(this, callId);
        }
    }

    @Override
    public void onNewToken(String token) {
        CallPushChannel.tokenRefreshed(token);
    }

    private static boolean appInFront() {
        ActivityManager.RunningAppProcessInfo info = new ActivityManager.RunningAppProcessInfo();
        ActivityManager.getMyMemoryState(info);
        return info.importance == ActivityManager.RunningAppProcessInfo.IMPORTANCE_FOREGROUND;
    }
}
