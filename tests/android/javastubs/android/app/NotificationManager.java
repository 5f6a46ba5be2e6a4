package android.app;

public class NotificationManager {
    public static final int IMPORTANCE_LOW = 2;
    public static final int IMPORTANCE_HIGH = 4;

    public void createNotificationChannel(NotificationChannel channel) {
        throw new RuntimeException("Stub!");
    }

    public void notify(String tag, int id, Notification notification) {
        throw new RuntimeException("Stub!");
    }

    public void cancel(String tag, int id) {
        throw new RuntimeException("Stub!");
    }

    public boolean canUseFullScreenIntent() {
        throw new RuntimeException("Stub!");
    }
}
