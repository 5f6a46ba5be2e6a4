package io.flutter.plugin.common;

public final class MethodCall {
    public final String method;

    public MethodCall(String method, Object arguments) {
        throw new RuntimeException("Stub!");
    }

    public <T> T argument(String key) {
        throw new RuntimeException("Stub!");
    }
}
