package android.content;

public class Intent {
    public static final int FLAG_ACTIVITY_NEW_TASK = 268435456;
    public static final int FLAG_ACTIVITY_SINGLE_TOP = 536870912;

    public Intent() {
        throw new RuntimeException("Stub!");
    }

    public Intent(Context packageContext, Class<?> cls) {
        throw new RuntimeException("Stub!");
    }

    public Intent putExtra(String name, String value) {
        throw new RuntimeException("Stub!");
    }

    public String getStringExtra(String name) {
        throw new RuntimeException("Stub!");
    }

    public Intent setFlags(int flags) {
        throw new RuntimeException("Stub!");
    }

    public Intent addFlags(int flags) {
        throw new RuntimeException("Stub!");
    }

    public Intent setAction(String action) {
        throw new RuntimeException("Stub!");
    }

    public String getAction() {
        throw new RuntimeException("Stub!");
    }

    public void removeExtra(String name) {
        throw new RuntimeException("Stub!");
    }
}
