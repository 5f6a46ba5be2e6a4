package android.content;

public abstract class BroadcastReceiver {
    public static class PendingResult {
        public PendingResult() {
            throw new RuntimeException("Stub!");
        }

        public final void finish() {
            throw new RuntimeException("Stub!");
        }
    }

    public BroadcastReceiver() {}

    public abstract void onReceive(Context context, Intent intent);

    public final PendingResult goAsync() {
        throw new RuntimeException("Stub!");
    }
}
