package io.flutter.plugin.common;

public final class EventChannel {
    public interface StreamHandler {
        void onListen(Object arguments, EventSink events);

        void onCancel(Object arguments);
    }

    public interface EventSink {
        void success(Object event);

        void error(String errorCode, String errorMessage, Object errorDetails);

        void endOfStream();
    }

    public EventChannel(BinaryMessenger messenger, String name) {
        throw new RuntimeException("Stub!");
    }

    public void setStreamHandler(StreamHandler handler) {
        throw new RuntimeException("Stub!");
    }
}
