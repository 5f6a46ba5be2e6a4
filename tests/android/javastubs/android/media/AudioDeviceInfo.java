package android.media;

public final class AudioDeviceInfo {
    public static final int TYPE_BUILTIN_EARPIECE = 1;
    public static final int TYPE_BUILTIN_SPEAKER = 2;
    public static final int TYPE_WIRED_HEADSET = 3;
    public static final int TYPE_WIRED_HEADPHONES = 4;
    public static final int TYPE_BLUETOOTH_SCO = 7;
    public static final int TYPE_USB_HEADSET = 22;
    public static final int TYPE_BLE_HEADSET = 26;

    private AudioDeviceInfo() {}

    public int getId() {
        throw new RuntimeException("Stub!");
    }

    public int getType() {
        throw new RuntimeException("Stub!");
    }

    public CharSequence getProductName() {
        throw new RuntimeException("Stub!");
    }
}
