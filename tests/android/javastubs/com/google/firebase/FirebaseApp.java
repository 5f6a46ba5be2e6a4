package com.google.firebase;

import android.content.Context;

import java.util.List;

public class FirebaseApp {
    public static List<FirebaseApp> getApps(Context context) {
        throw new RuntimeException("Stub!");
    }
}
