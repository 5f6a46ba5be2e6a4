package io.flutter.plugin.common;

import androidx.annotation.NonNull;

public class MethodChannel {
    public interface MethodCallHandler {
        void onMethodCall(@NonNull MethodCall call, @NonNull Result result);
    }

    public interface Result {
        void success(Object result);

        void error(@NonNull String errorCode, String errorMessage, Object errorDetails);

        void notImplemented();
    }

    public MethodChannel(@NonNull BinaryMessenger messenger, @NonNull String name) {
        throw new RuntimeException("Stub!");
    }

    public void setMethodCallHandler(MethodCallHandler handler) {
        throw new RuntimeException("Stub!");
    }
}
