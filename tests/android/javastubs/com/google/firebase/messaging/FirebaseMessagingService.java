package com.google.firebase.messaging;

import android.app.Service;
import android.content.Intent;
import android.os.IBinder;

public class FirebaseMessagingService extends Service {
    @Override
    public final synchronized IBinder onBind(Intent intent) {
        throw new RuntimeException("Stub!");
    }

    public void onMessageReceived(RemoteMessage message) {
        throw new RuntimeException("Stub!");
    }

    public void onNewToken(String token) {
        throw new RuntimeException("Stub!");
    }
}
