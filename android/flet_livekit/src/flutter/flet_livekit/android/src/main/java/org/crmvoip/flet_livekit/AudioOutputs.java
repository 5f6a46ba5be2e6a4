package org.crmvoip.flet_livekit;

import android.content.Context;
import android.media.AudioDeviceInfo;
import android.media.AudioManager;
import android.os.Build;

import androidx.annotation.RequiresApi;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.flutter.plugin.common.EventChannel;

/**
 * The phone's call outputs as {@code {"id", "name", "kind"}} maps (kind: speaker, earpiece,
 * wired, bluetooth), routing to one of them, and the route as it changes.
 *
 * <p>From Android 12 (API 31) this is the communication-device API, the same one LiveKit's audio
 * switch uses underneath; before that, the speakerphone and Bluetooth SCO switches. LiveKit's
 * {@code AudioManager.setSpeakerOutputPreferred} is set in line by the Dart side so that its audio
 * switch keeps the choice.
 */
final class AudioOutputs {
    private final Context context;
    private final AudioManager audio;
    private Object routeListener; // AudioManager.OnCommunicationDeviceChangedListener (API 31+)

    AudioOutputs(Context context) {
        this.context = context;
        this.audio = (AudioManager) context.getSystemService(Context.AUDIO_SERVICE);
    }

    List<Map<String, String>> list() {
        List<Map<String, String>> outputs = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        for (AudioDeviceInfo device : candidates()) {
            Map<String, String> output = describe(device);
            if (output != null && !seen.contains(output.get("id"))) {
                seen.add(output.get("id"));
                outputs.add(output);
            }
        }
        return outputs;
    }

    /** Routes the call to {@code id}; returns it, or {@code null} for an unknown id. */
    Map<String, String> select(String id) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            return Api31.select(this, id);
        }
        Map<String, String> chosen = null;
        for (Map<String, String> output : list()) {
            if (output.get("id").equals(id)) {
                chosen = output;
            }
        }
        if (chosen == null) {
            return null;
        }
        switch (chosen.get("kind")) {
            case "speaker":
                stopSco();
                audio.setSpeakerphoneOn(true);
                break;
            case "bluetooth":
                audio.setSpeakerphoneOn(false);
                audio.startBluetoothSco();
                audio.setBluetoothScoOn(true);
                break;
            default: // the earpiece, or a wired headset, which Android prefers to the earpiece
                stopSco();
                audio.setSpeakerphoneOn(false);
        }
        return chosen;
    }

    void startListening(EventChannel.EventSink sink) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S && routeListener == null) {
            routeListener = Api31.listen(this, sink);
        }
    }

    void stopListening() {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S && routeListener != null) {
            Api31.unlisten(this, routeListener);
        }
        routeListener = null;
    }

    private void stopSco() {
        if (audio.isBluetoothScoOn()) {
            audio.setBluetoothScoOn(false);
            audio.stopBluetoothSco();
        }
    }

    private List<AudioDeviceInfo> candidates() {
        List<AudioDeviceInfo> devices = new ArrayList<>();
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            devices.addAll(audio.getAvailableCommunicationDevices());
        } else {
            for (AudioDeviceInfo device : audio.getDevices(AudioManager.GET_DEVICES_OUTPUTS)) {
                devices.add(device);
            }
        }
        return devices;
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

    static Map<String, String> describe(AudioDeviceInfo device) {
        String kind = kindOf(device.getType());
        if (kind == null) {
            return null;
        }
        Map<String, String> output = new HashMap<>();
        output.put("kind", kind);
        switch (kind) {
            case "earpiece":
                output.put("id", "earpiece");
                output.put("name", "Phone");
                break;
            case "speaker":
                output.put("id", "speaker");
                output.put("name", "Speaker");
                break;
            default:
                CharSequence product = device.getProductName();
                output.put("id", kind + ":" + device.getId());
                output.put(
                        "name",
                        product != null && product.length() > 0
                                ? product.toString()
                                : kind.equals("wired") ? "Headset" : "Bluetooth");
        }
        return output;
    }

    /** Android 12+ (communication devices); kept apart so older devices never load it. */
    @RequiresApi(Build.VERSION_CODES.S)
    private static final class Api31 {
        static Map<String, String> select(AudioOutputs outputs, String id) {
            for (AudioDeviceInfo device : outputs.audio.getAvailableCommunicationDevices()) {
                Map<String, String> output = describe(device);
                if (output != null && output.get("id").equals(id)) {
                    if (!outputs.audio.setCommunicationDevice(device)) {
                        throw new IllegalStateException(
                                "Android refused to route the call to " + output.get("name"));
                    }
                    return output;
                }
            }
            return null;
        }

        static Object listen(AudioOutputs outputs, EventChannel.EventSink sink) {
            AudioManager.OnCommunicationDeviceChangedListener listener =
                    device -> {
                        Map<String, String> output = device != null ? describe(device) : null;
                        if (output != null) {
                            sink.success(output);
                        }
                    };
            outputs.audio.addOnCommunicationDeviceChangedListener(
                    outputs.context.getMainExecutor(), listener);
            return listener;
        }

        static void unlisten(AudioOutputs outputs, Object listener) {
            outputs.audio.removeOnCommunicationDeviceChangedListener(
                    (AudioManager.OnCommunicationDeviceChangedListener) listener);
        }
    }
}
