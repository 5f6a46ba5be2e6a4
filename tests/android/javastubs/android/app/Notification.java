package android.app;

import android.content.Context;

public class Notification {
    public static final String CATEGORY_CALL = "call";
    public static final int FOREGROUND_SERVICE_IMMEDIATE = 1;

    public static class Builder {
        public Builder(Context context, String channelId) {
            throw new RuntimeException("Stub!");
        }

        public Builder(Context context) {
            throw new RuntimeException("Stub!");
        }

        public Builder setContentIntent(PendingIntent intent) {
            throw new RuntimeException("Stub!");
        }

        public Builder setContentTitle(CharSequence title) {
            throw new RuntimeException("Stub!");
        }

        public Builder setContentText(CharSequence text) {
            throw new RuntimeException("Stub!");
        }

        public Builder setSmallIcon(int icon) {
            throw new RuntimeException("Stub!");
        }

        public Builder setOngoing(boolean ongoing) {
            throw new RuntimeException("Stub!");
        }

        public Builder setCategory(String category) {
            throw new RuntimeException("Stub!");
        }

        public Builder setShowWhen(boolean show) {
            throw new RuntimeException("Stub!");
        }

        public Builder setUsesChronometer(boolean useChronometer) {
            throw new RuntimeException("Stub!");
        }

        public Builder setForegroundServiceBehavior(int behavior) {
            throw new RuntimeException("Stub!");
        }

        public Notification build() {
            throw new RuntimeException("Stub!");
        }
    }
}
