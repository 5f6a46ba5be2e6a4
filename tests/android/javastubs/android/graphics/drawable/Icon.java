package android.graphics.drawable;

import android.content.Context;

public final class Icon {
    private Icon() {}

    public static Icon createWithResource(Context context, int resId) {
        throw new RuntimeException("Stub!");
    }
}
