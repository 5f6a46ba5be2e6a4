package org.crmvoip.flet_livekit;

import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.content.IntentFilter;
import android.media.AudioDeviceCallback;
import android.media.AudioDeviceInfo;
import android.media.AudioManager;
import android.os.Build;
import android.os.Handler;
import android.os.Looper;

import androidx.annotation.RequiresApi;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.flutter.plugin.common.EventChannel;

/**
 * The call's audio route, read from Android, and the choices the app can hold it to.
 *
 * <p>LiveKit's Flutter SDK owns the routing (its audioswitch re-picks Bluetooth, then a wired
 * headset, then the earpiece whenever devices come and go), so this class never routes: any
 * route set here would be undone by the next re-pick. The app's one lever is LiveKit's speaker
 * preference, set from Dart. So there are two choices: {@code speaker} (forced) and
 * {@code automatic} (what audioswitch picks; named after what it would pick now).
 *
 * <p>Routes are maps {@code {"id", "name", "kind"}}: id {@code speaker} or {@code automatic},
 * kind {@code speaker | earpiece | wired | bluetooth}. The watcher reports the route when it
 * starts and whenever it changes: from Android 12 (API 31) through the communication-device
 * listener; before that, on device changes and SCO changes, and again shortly after each (the
 * switch happens a moment after the device appears), since nothing reports speakerphone changes.
 * All of it runs on the main thread.
 */
final class AudioRoutes {
    static final String SPEAKER = "speaker";
    static final String AUTOMATIC = "automatic";
    private static final long[] RECHECK_DELAYS_MS = {300, 1500};

    private final Context context;
    private final AudioManager audio;
    private final Handler main = new Handler(Looper.getMainLooper());
    private EventChannel.EventSink sink;
    private Map<String, String> lastReported;
    private Object communicationListener; // AudioManager.OnCommunicationDeviceChangedListener
    private AudioDeviceCallback deviceCallback;
    private BroadcastReceiver scoReceiver;

    AudioRoutes(Context context) {
        this.context = context;
        this.audio = (AudioManager) context.getSystemService(Context.AUDIO_SERVICE);
    }

    /** What the app can choose: {@code automatic} (when any non-speaker output exists), speaker. */
    List<Map<String, String>> choices() {
        List<Map<String, String>> choices = new ArrayList<>();
        AudioDeviceInfo best = bestNonSpeaker();
        if (best != null) {
            choices.add(describe(best));
        }
        choices.add(speaker());
        return choices;
    }

    /** The route the call's audio takes right now. */
    Map<String, String> current() {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            AudioDeviceInfo device = audio.getCommunicationDevice();
            if (device != null && kindOf(device.getType()) != null) {
                return describe(device);
            }
        } else if (audio.isSpeakerphoneOn()) {
            return speaker();
        } else if (audio.isBluetoothScoOn()) {
            AudioDeviceInfo headset = firstOfKind("bluetooth");
            if (headset != null) {
                return describe(headset);
            }
        }
        AudioDeviceInfo best = bestNonSpeaker();
        return best != null ? describe(best) : speaker();
    }

    /** Reports the current route to {@code events} now and on every change. */
    void watch(EventChannel.EventSink events) {
        unwatch();
        sink = events;
        lastReported = null;
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            communicationListener = Api31.listen(this);
        } else {
            scoReceiver =
                    new BroadcastReceiver() {
                        @Override
                        public void onReceive(Context c, Intent intent) {
                            checkSoon();
                        }
                    };
            context.registerReceiver(
                    scoReceiver, new IntentFilter(AudioManager.ACTION_SCO_AUDIO_STATE_UPDATED));
        }
        deviceCallback =
                new AudioDeviceCallback() {
                    @Override
                    public void onAudioDevicesAdded(AudioDeviceInfo[] added) {
                        checkSoon();
                    }

                    @Override
                    public void onAudioDevicesRemoved(AudioDeviceInfo[] removed) {
                        checkSoon();
                    }
                };
        audio.registerAudioDeviceCallback(deviceCallback, main);
        report();
    }

    void unwatch() {
        if (communicationListener != null && Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            Api31.unlisten(this, communicationListener);
        }
        communicationListener = null;
        if (deviceCallback != null) {
            audio.unregisterAudioDeviceCallback(deviceCallback);
            deviceCallback = null;
        }
        if (scoReceiver != null) {
            context.unregisterReceiver(scoReceiver);
            scoReceiver = null;
        }
        main.removeCallbacksAndMessages(null);
        sink = null;
    }

    /** Looks again now and a little later (the app chose, or a device came or went). */
    void checkSoon() {
        report();
        for (long delay : RECHECK_DELAYS_MS) {
            main.postDelayed(this::report, delay);
        }
    }

    private void report() {
        if (sink == null) {
            return;
        }
        Map<String, String> route = current();
        if (!route.equals(lastReported)) {
            lastReported = route;
            sink.success(route);
        }
    }

    /** What audioswitch picks when the speaker is not forced: Bluetooth, wired, earpiece. */
    private AudioDeviceInfo bestNonSpeaker() {
        AudioDeviceInfo best = null;
        int bestRank = 0;
        for (AudioDeviceInfo device : audio.getDevices(AudioManager.GET_DEVICES_OUTPUTS)) {
            int rank = rank(kindOf(device.getType()));
            if (rank > bestRank) {
                best = device;
                bestRank = rank;
            }
        }
        return best;
    }

    private AudioDeviceInfo firstOfKind(String kind) {
        for (AudioDeviceInfo device : audio.getDevices(AudioManager.GET_DEVICES_OUTPUTS)) {
            if (kind.equals(kindOf(device.getType()))) {
                return device;
            }
        }
        return null;
    }

    private static int rank(String kind) {
        if (kind == null) {
            return 0;
        }
        switch (kind) {
            case "bluetooth":
                return 3;
            case "wired":
                return 2;
            case "earpiece":
                return 1;
            default:
                return 0;
        }
    }

    static String kindOf(int type) {
        switch (type) {
            case AudioDeviceInfo.TYPE_BUILTIN_EARPIECE:
                return "earpiece";
            case AudioDeviceInfo.TYPE_BUILTIN_SPEAKER:
                return "speaker";
            case AudioDeviceInfo.TYPE_WIRED_HEADSET:
            case AudioDeviceInfo.TYPE_WIRED_HEADPHONES:
            case AudioDeviceInfo.TYPE_USB_HEADSET:
                return "wired";
            case AudioDeviceInfo.TYPE_BLUETOOTH_SCO:
            case AudioDeviceInfo.TYPE_BLE_HEADSET:
                return "bluetooth";
            default:
                return null;
        }
    }

    static Map<String, String> speaker() {
        return route(SPEAKER, "Speaker", "speaker");
    }

    /** A device as a route: the speaker is the {@code speaker} choice, anything else automatic. */
    static Map<String, String> describe(AudioDeviceInfo device) {
        String kind = kindOf(device.getType());
        if ("speaker".equals(kind)) {
            return speaker();
        }
        if ("earpiece".equals(kind)) {
            return route(AUTOMATIC, "Phone", kind);
        }
        CharSequence product = device.getProductName();
        String fallback = "wired".equals(kind) ? "Headset" : "Bluetooth";
        String name = product != null && product.length() > 0 ? product.toString() : fallback;
        return route(AUTOMATIC, name, kind);
    }

    private static Map<String, String> route(String id, String name, String kind) {
        Map<String, String> route = new HashMap<>();
        route.put("id", id);
        route.put("name", name);
        route.put("kind", kind);
        return route;
    }

    /** Android 12+ (communication devices); kept apart so older devices never load it. */
    @RequiresApi(Build.VERSION_CODES.S)
    private static final class Api31 {
        static Object listen(AudioRoutes routes) {
            AudioManager.OnCommunicationDeviceChangedListener listener =
                    device -> routes.checkSoon();
            routes.audio.addOnCommunicationDeviceChangedListener(
                    routes.context.getMainExecutor(), listener);
            return listener;
        }

        static void unlisten(AudioRoutes routes, Object listener) {
            routes.audio.removeOnCommunicationDeviceChangedListener(
                    (AudioManager.OnCommunicationDeviceChangedListener) listener);
        }
    }
}
