package io.flutter.embedding.engine.plugins;

import android.content.Context;

import androidx.annotation.NonNull;

import io.flutter.plugin.common.BinaryMessenger;

public interface FlutterPlugin {
    void onAttachedToEngine(@NonNull FlutterPluginBinding binding);

    void onDetachedFromEngine(@NonNull FlutterPluginBinding binding);

    class FlutterPluginBinding {
        private FlutterPluginBinding() {}

        @NonNull
        public Context getApplicationContext() {
            throw new RuntimeException("Stub!");
        }

        @NonNull
        public BinaryMessenger getBinaryMessenger() {
            throw new RuntimeException("Stub!");
        }
    }
}
