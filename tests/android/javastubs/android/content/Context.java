package android.content;

import android.content.pm.PackageManager;

import java.util.concurrent.Executor;

public abstract class Context {
    public static final String AUDIO_SERVICE = "audio";
    public static final String POWER_SERVICE = "power";
    public static final int MODE_PRIVATE = 0;

    public abstract Object getSystemService(String name);

    public final <T> T getSystemService(Class<T> serviceClass) {
        throw new RuntimeException("Stub!");
    }

    public abstract int checkSelfPermission(String permission);

    public abstract ComponentName startService(Intent service);

    public abstract ComponentName startForegroundService(Intent service);

    public abstract boolean stopService(Intent service);

    public Executor getMainExecutor() {
        throw new RuntimeException("Stub!");
    }

    public abstract Intent registerReceiver(BroadcastReceiver receiver, IntentFilter filter);

    public abstract void unregisterReceiver(BroadcastReceiver receiver);

    public abstract PackageManager getPackageManager();

    public abstract String getPackageName();

    public abstract Context getApplicationContext();

    public abstract SharedPreferences getSharedPreferences(String name, int mode);
}
