package io.flutter.embedding.engine.plugins.activity;

import android.app.Activity;

import androidx.annotation.NonNull;

import io.flutter.plugin.common.PluginRegistry;

public interface ActivityPluginBinding {
    @NonNull
    Activity getActivity();

    void addOnNewIntentListener(@NonNull PluginRegistry.NewIntentListener listener);

    void removeOnNewIntentListener(@NonNull PluginRegistry.NewIntentListener listener);
}
