package android.media;

public final class AudioAttributes {
    public static final int USAGE_NOTIFICATION_RINGTONE = 6;
    public static final int CONTENT_TYPE_SONIFICATION = 4;

    public static class Builder {
        public Builder() {
            throw new RuntimeException("Stub!");
        }

        public Builder setUsage(int usage) {
            throw new RuntimeException("Stub!");
        }

        public Builder setContentType(int contentType) {
            throw new RuntimeException("Stub!");
        }

        public AudioAttributes build() {
            throw new RuntimeException("Stub!");
        }
    }
}
