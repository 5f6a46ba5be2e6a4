package org.crmvoip.flet_livekit;

import android.app.Notification;
import android.app.NotificationChannel;
import android.app.NotificationManager;
import android.app.PendingIntent;
import android.app.Service;
import android.content.Context;
import android.content.Intent;
import android.content.pm.ServiceInfo;
import android.os.Build;
import android.os.IBinder;

import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the app's process in the foreground while a call is active, so the call survives the
 * screen turning off and the app going to the background. Declared in the plugin's manifest with
 * {@code foregroundServiceType="microphone"}; shows an ongoing-call notification that brings the
 * app back to the front.
 *
 * <p>Starting it can fail: Android 12+ refuses a foreground start from the background
 * ({@code ForegroundServiceStartNotAllowedException}), Android 14+ refuses type microphone
 * without RECORD_AUDIO ({@code SecurityException}). Both are caught, the service stops itself,
 * and whoever asked is told through its {@link StartReport}, never by a crash. And a service
 * started with {@code startForegroundService} must reach {@code startForeground} before it is
 * stopped (else Android kills the app), so a stop asked for while a start is pending waits for
 * it. Everything static here is touched on the main thread only.
 */
public final class CallForegroundService extends Service {
    static final String EXTRA_TITLE = "title";
    static final String EXTRA_TEXT = "text";
    private static final String CHANNEL_ID = "flet_livekit_call";
    private static final int NOTIFICATION_ID = 7301;

    /** Told once Android has put the service in the foreground, or refused to. */
    interface StartReport {
        void started();

        void failed(String message);
    }

    private static final List<StartReport> pendingStarts = new ArrayList<>();
    private static boolean stopWhenStarted;

    /** Starts (or updates) the service; {@code report} hears how it went. */
    static void start(Context context, String title, String text, StartReport report) {
        Intent intent = new Intent(context, CallForegroundService.class);
        intent.putExtra(EXTRA_TITLE, title);
        intent.putExtra(EXTRA_TEXT, text);
        pendingStarts.add(report);
        stopWhenStarted = false;
        try {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
                context.startForegroundService(intent);
            } else {
                context.startService(intent);
            }
        } catch (RuntimeException e) { // Android 12+: not allowed from the background
            pendingStarts.remove(report);
            report.failed(describe(e));
        }
    }

    /** Stops the service, or, while a start is pending, as soon as it has started. */
    static void stop(Context context) {
        if (!pendingStarts.isEmpty()) {
            stopWhenStarted = true;
            return;
        }
        context.stopService(new Intent(context, CallForegroundService.class));
    }

    @Override
    public IBinder onBind(Intent intent) {
        return null;
    }

    @Override
    public int onStartCommand(Intent intent, int flags, int startId) {
        String title = intent != null ? intent.getStringExtra(EXTRA_TITLE) : null;
        String text = intent != null ? intent.getStringExtra(EXTRA_TEXT) : null;
        String failure = null;
        try {
            Notification notification =
                    buildNotification(
                            title != null ? title : "Call in progress", text != null ? text : "");
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                startForeground(
                        NOTIFICATION_ID,
                        notification,
                        ServiceInfo.FOREGROUND_SERVICE_TYPE_MICROPHONE);
            } else {
                startForeground(NOTIFICATION_ID, notification);
            }
        } catch (RuntimeException e) {
            failure = describe(e);
        }
        boolean stop = failure != null || stopWhenStarted;
        stopWhenStarted = false;
        List<StartReport> reports = new ArrayList<>(pendingStarts);
        pendingStarts.clear();
        for (StartReport report : reports) {
            if (failure != null) {
                report.failed(failure);
            } else {
                report.started();
            }
        }
        if (stop) {
            stopSelf(startId); // a newer start, if any, keeps it running
        }
        // A call that was killed with the process is over: the app rejoins through the server.
        return START_NOT_STICKY;
    }

    @Override
    public void onDestroy() {
        List<StartReport> reports = new ArrayList<>(pendingStarts);
        pendingStarts.clear();
        for (StartReport report : reports) {
            report.failed("the call service stopped before it could start");
        }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.N) {
            stopForeground(STOP_FOREGROUND_REMOVE);
        } else {
            stopForeground(true);
        }
        super.onDestroy();
    }

    private static String describe(RuntimeException e) {
        return "Android refused the call's foreground service: "
                + e.getClass().getSimpleName()
                + (e.getMessage() != null ? ": " + e.getMessage() : "");
    }

    private Notification buildNotification(String title, String text) {
        Notification.Builder builder;
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            NotificationChannel channel =
                    new NotificationChannel(
                            CHANNEL_ID, "Ongoing calls", NotificationManager.IMPORTANCE_LOW);
            channel.setDescription("Shown while a call is active");
            NotificationManager manager = getSystemService(NotificationManager.class);
            if (manager != null) {
                manager.createNotificationChannel(channel);
            }
            builder = new Notification.Builder(this, CHANNEL_ID);
        } else {
            builder = new Notification.Builder(this);
        }
        Intent launch = getPackageManager().getLaunchIntentForPackage(getPackageName());
        if (launch != null) {
            launch.setFlags(Intent.FLAG_ACTIVITY_NEW_TASK | Intent.FLAG_ACTIVITY_SINGLE_TOP);
            builder.setContentIntent(
                    PendingIntent.getActivity(
                            this,
                            0,
                            launch,
                            PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT));
        }
        // A monochrome drawable of the plugin's own: a status-bar icon must be white-on-clear
        // (the app's adaptive launcher icon crashes SystemUI on 8.0 and is a white square later).
        builder.setContentTitle(title)
                .setContentText(text)
                .setSmallIcon(R.drawable.flet_livekit_ic_call)
                .setOngoing(true)
                .setCategory(Notification.CATEGORY_CALL)
                .setShowWhen(true)
                .setUsesChronometer(true);
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            builder.setForegroundServiceBehavior(Notification.FOREGROUND_SERVICE_IMMEDIATE);
        }
        return builder.build();
    }
}
