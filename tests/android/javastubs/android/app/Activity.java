package android.app;

import android.content.ContextWrapper;
import android.content.Intent;

public class Activity extends ContextWrapper {
    public Activity() {
        super(null);
    }

    public Intent getIntent() {
        throw new RuntimeException("Stub!");
    }

    public void setShowWhenLocked(boolean showWhenLocked) {
        throw new RuntimeException("Stub!");
    }

    public void setTurnScreenOn(boolean turnScreenOn) {
        throw new RuntimeException("Stub!");
    }
}
