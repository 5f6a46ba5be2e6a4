package io.flutter.plugin.common;

import android.content.Intent;

import androidx.annotation.NonNull;

public interface PluginRegistry {
    interface NewIntentListener {
        boolean onNewIntent(@NonNull Intent intent);
    }
}
