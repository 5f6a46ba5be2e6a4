package com.google.firebase.messaging;

import com.google.android.gms.tasks.Task;

public class FirebaseMessaging {
    public static synchronized FirebaseMessaging getInstance() {
        throw new RuntimeException("Stub!");
    }

    public Task<String> getToken() {
        throw new RuntimeException("Stub!");
    }
}
