package org.crmvoip.flet_livekit;

import android.content.Context;
import android.content.SharedPreferences;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What push keeps across process deaths (FCM starts the process for each message): the call
 * server the notification's Decline goes to (set at sign-in, cleared at sign-out), and the
 * calls whose ringing stopped, since FCM does not keep a cancel behind its incoming.
 */
final class PushStore {
    private static final String FILE = "flet_livekit_push";
    private static final String SERVER_URL = "server_url";
    private static final String STOPPED = "stopped_calls";
    private static final int STOPPED_KEPT = 32;

    private PushStore() {}

    private static SharedPreferences prefs(Context context) {
        return context.getSharedPreferences(FILE, Context.MODE_PRIVATE);
    }

    static void setServerUrl(Context context, String url) {
        prefs(context).edit().putString(SERVER_URL, url).apply();
    }

    static void clearServerUrl(Context context) {
        prefs(context).edit().remove(SERVER_URL).apply();
    }

    static String serverUrl(Context context) {
        return prefs(context).getString(SERVER_URL, null);
    }

    /** The ringing of {@code callId} stopped: an incoming for it that comes late shows nothing. */
    static void markStopped(Context context, String callId) {
        List<String> ids = stoppedIds(context);
        ids.remove(callId);
        ids.add(callId);
        while (ids.size() > STOPPED_KEPT) {
            ids.remove(0);
        }
        prefs(context).edit().putString(STOPPED, String.join(",", ids)).apply();
    }

    static boolean stopped(Context context, String callId) {
        return stoppedIds(context).contains(callId);
    }

    private static List<String> stoppedIds(Context context) {
        String kept = prefs(context).getString(STOPPED, "");
        List<String> ids = new ArrayList<>(Arrays.asList(kept.split(",")));
        ids.remove("");
        return ids;
    }
}
