package io.flutter.embedding.engine.plugins.activity;

import androidx.annotation.NonNull;

public interface ActivityAware {
    void onAttachedToActivity(@NonNull ActivityPluginBinding binding);

    void onDetachedFromActivityForConfigChanges();

    void onReattachedToActivityForConfigChanges(@NonNull ActivityPluginBinding binding);

    void onDetachedFromActivity();
}
