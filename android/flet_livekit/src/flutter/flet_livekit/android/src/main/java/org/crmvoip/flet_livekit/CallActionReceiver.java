package org.crmvoip.flet_livekit;

import android.app.PendingIntent;
import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.util.Log;

import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/**
 * The incoming-call notification's Decline: stops the ringing at once and declines the call at
 * the server without opening the app and without the session's token, with the capability the
 * push carried ({@code POST {server}/api/calls/{call_id}/push-decline {"capability"}}), which
 * can decline that one call for this callee until the ring ends, and nothing else.
 */
public final class CallActionReceiver extends BroadcastReceiver {
    static final String ACTION_DECLINE = "org.crmvoip.flet_livekit.DECLINE_CALL";
    static final String EXTRA_CALL_ID = "org.crmvoip.flet_livekit.CALL_ID";
    static final String EXTRA_CAPABILITY = "org.crmvoip.flet_livekit.CAPABILITY";
    private static final String TAG = "flet_livekit";
    private static final int TIMEOUT_MS = 10_000;

    static PendingIntent declineIntent(Context context, String callId, String capability) {
        Intent intent = new Intent(context, CallActionReceiver.class);
        intent.setAction(ACTION_DECLINE);
        intent.putExtra(EXTRA_CALL_ID, callId);
        intent.putExtra(EXTRA_CAPABILITY, capability);
        return PendingIntent.getBroadcast(
                context,
                IncomingCallNotifier.requestCode(callId, 3),
                intent,
                PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT);
    }

    @Override
    public void onReceive(Context context, Intent intent) {
        if (!ACTION_DECLINE.equals(intent.getAction())) {
            return;
        }
        String callId = intent.getStringExtra(EXTRA_CALL_ID);
        String capability = intent.getStringExtra(EXTRA_CAPABILITY);
        if (callId == null) {
            return;
        }
        IncomingCallNotifier.stop(context, callId);
        String server = PushStore.serverUrl(context);
        if (server == null || capability == null) {
            return; // signed out: the call rings out at the server
        }
        PendingResult pending = goAsync();
        new Thread(
                        () -> {
                            try {
                                int status = decline(server, callId, capability);
                                if (status != 204) {
                                    Log.w(TAG, "the call server answered the decline with " + status);
                                }
                            } finally {
                                pending.finish();
                            }
                        },
                        "flet_livekit-decline")
                .start();
    }

    /**
     * Declines {@code callId} at {@code server} with {@code capability}; the HTTP status, or -1
     * when the server could not be reached. Plain JDK networking: no Android API on this path.
     */
    static int decline(String server, String callId, String capability) {
        if (!callId.matches("[A-Za-z0-9_-]{1,64}") || !capability.matches("[A-Za-z0-9_.-]+")) {
            return -1; // never put anything but an id and a JWT into the request
        }
        HttpURLConnection connection = null;
        try {
            URL url = new URL(server + "/api/calls/" + callId + "/push-decline");
            connection = (HttpURLConnection) url.openConnection();
            connection.setRequestMethod("POST");
            connection.setConnectTimeout(TIMEOUT_MS);
            connection.setReadTimeout(TIMEOUT_MS);
            connection.setDoOutput(true);
            connection.setRequestProperty("Content-Type", "application/json");
            byte[] body = ("{\"capability\":\"" + capability + "\"}").getBytes(StandardCharsets.UTF_8);
            try (OutputStream out = connection.getOutputStream()) {
                out.write(body);
            }
            return connection.getResponseCode();
        } catch (IOException e) {
            return -1;
        } finally {
            if (connection != null) {
                connection.disconnect();
            }
        }
    }
}
