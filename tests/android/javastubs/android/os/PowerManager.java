package android.os;

public final class PowerManager {
    public static final int PROXIMITY_SCREEN_OFF_WAKE_LOCK = 32;
    public static final int RELEASE_FLAG_WAIT_FOR_NO_PROXIMITY = 1;

    private PowerManager() {}

    public boolean isWakeLockLevelSupported(int level) {
        throw new RuntimeException("Stub!");
    }

    public WakeLock newWakeLock(int levelAndFlags, String tag) {
        throw new RuntimeException("Stub!");
    }

    public final class WakeLock {
        private WakeLock() {}

        public void setReferenceCounted(boolean value) {
            throw new RuntimeException("Stub!");
        }

        public void acquire(long timeout) {
            throw new RuntimeException("Stub!");
        }

        public boolean isHeld() {
            throw new RuntimeException("Stub!");
        }

        public void release(int flags) {
            throw new RuntimeException("Stub!");
        }
    }
}
