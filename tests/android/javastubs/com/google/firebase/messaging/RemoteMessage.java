package com.google.firebase.messaging;

import java.util.Map;

public final class RemoteMessage {
    private RemoteMessage() {}

    public Map<String, String> getData() {
        throw new RuntimeException("Stub!");
    }
}
