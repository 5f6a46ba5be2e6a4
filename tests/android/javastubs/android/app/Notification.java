package android.app;

import android.content.Context;
import android.graphics.drawable.Icon;
import android.net.Uri;

public class Notification {
    public static final String CATEGORY_CALL = "call";
    public static final int FOREGROUND_SERVICE_IMMEDIATE = 1;
    public static final int FLAG_INSISTENT = 4;
    public static final int PRIORITY_MAX = 2;

    public int flags;

    public abstract static class Style {
        public Style() {
            throw new RuntimeException("Stub!");
        }
    }

    public static class CallStyle extends Style {
        public static CallStyle forIncomingCall(
                Person person, PendingIntent declineIntent, PendingIntent answerIntent) {
            throw new RuntimeException("Stub!");
        }
    }

    public static class Action {
        public static final class Builder {
            public Builder(Icon icon, CharSequence title, PendingIntent intent) {
                throw new RuntimeException("Stub!");
            }

            public Action build() {
                throw new RuntimeException("Stub!");
            }
        }
    }

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

        public Builder setAutoCancel(boolean autoCancel) {
            throw new RuntimeException("Stub!");
        }

        public Builder setFullScreenIntent(PendingIntent intent, boolean highPriority) {
            throw new RuntimeException("Stub!");
        }

        public Builder setTimeoutAfter(long durationMs) {
            throw new RuntimeException("Stub!");
        }

        public Builder setStyle(Style style) {
            throw new RuntimeException("Stub!");
        }

        @Deprecated
        public Builder setPriority(int pri) {
            throw new RuntimeException("Stub!");
        }

        public Builder addAction(Action action) {
            throw new RuntimeException("Stub!");
        }

        @Deprecated
        public Builder setSound(Uri sound) {
            throw new RuntimeException("Stub!");
        }

        public Notification build() {
            throw new RuntimeException("Stub!");
        }
    }
}
