package android.media;

import android.os.Handler;

import java.util.concurrent.Executor;

public class AudioManager {
    public static final int GET_DEVICES_OUTPUTS = 2;
    public static final String ACTION_SCO_AUDIO_STATE_UPDATED =
            "android.media.ACTION_SCO_AUDIO_STATE_UPDATED";

    public interface OnCommunicationDeviceChangedListener {
        void onCommunicationDeviceChanged(AudioDeviceInfo device);
    }

    public AudioDeviceInfo[] getDevices(int flags) {
        throw new RuntimeException("Stub!");
    }

    public AudioDeviceInfo getCommunicationDevice() {
        throw new RuntimeException("Stub!");
    }

    public boolean isSpeakerphoneOn() {
        throw new RuntimeException("Stub!");
    }

    public boolean isBluetoothScoOn() {
        throw new RuntimeException("Stub!");
    }

    public void registerAudioDeviceCallback(AudioDeviceCallback callback, Handler handler) {
        throw new RuntimeException("Stub!");
    }

    public void unregisterAudioDeviceCallback(AudioDeviceCallback callback) {
        throw new RuntimeException("Stub!");
    }

    public void addOnCommunicationDeviceChangedListener(
            Executor executor, OnCommunicationDeviceChangedListener listener) {
        throw new RuntimeException("Stub!");
    }

    public void removeOnCommunicationDeviceChangedListener(
            OnCommunicationDeviceChangedListener listener) {
        throw new RuntimeException("Stub!");
    }
}
