package org.crmvoip.flet_livekit;

import android.app.Notification;
import android.app.NotificationChannel;
import android.app.NotificationManager;
import android.app.PendingIntent;
import android.app.Person;
import android.content.Context;
import android.content.Intent;
import android.graphics.drawable.Icon;
import android.media.AudioAttributes;
import android.media.RingtoneManager;
import android.os.Build;

import java.text.ParseException;
import java.text.SimpleDateFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

/**
 * The incoming-call notification: on Android 12+ a {@code Notification.CallStyle} with the
 * caller's name, Accept and Decline; before, a high-priority notification with the same two
 * actions. Both ring with the phone's ringtone until answered, declined, cancelled or the ring's
 * end, and carry a full-screen intent (shown over the lock screen when Android allows it: from
 * Android 14 only with the "full-screen notifications" permission, which the app checks and
 * explains).
 *
 * <p>Accept opens the app with the call's id ({@link #EXTRA_ACCEPT_CALL_ID}): the app connects,
 * finds the call ringing and answers it. Decline goes to {@link CallActionReceiver}. One
 * notification per call: tag = call id.
 */
final class IncomingCallNotifier {
    static final String EXTRA_ACCEPT_CALL_ID = "org.crmvoip.flet_livekit.ACCEPT_CALL_ID";
    static final String EXTRA_SHOW_CALL_ID = "org.crmvoip.flet_livekit.SHOW_CALL_ID";
    private static final String CHANNEL_ID = "flet_livekit_incoming_call";
    private static final int NOTIFICATION_ID = 7302;

    private IncomingCallNotifier() {}

    /** Posts the notification of an {@code incoming} push, unless its call stopped or its ring ended. */
    static void show(Context context, Map<String, String> data) {
        String callId = data.get("call_id");
        String caller = data.getOrDefault("caller_name", "");
        String about = aboutText(data.getOrDefault("context_label", ""));
        String capability = data.get("decline_capability");
        long ringLeftMs = millisUntil(data.get("ring_expires_at"));
        if (callId == null || ringLeftMs <= 0 || PushStore.stopped(context, callId)) {
            return;
        }
        NotificationManager manager = context.getSystemService(NotificationManager.class);
        if (manager == null) {
            return;
        }
        createChannel(manager);
        manager.notify(callId, NOTIFICATION_ID, build(context, callId, caller, about, capability, ringLeftMs));
    }

    /** The call stopped ringing (a cancel push, or declined here): the notification goes. */
    static void stop(Context context, String callId) {
        PushStore.markStopped(context, callId);
        dismiss(context, callId);
    }

    /** The notification goes (the call was accepted on it: the app takes over). */
    static void dismiss(Context context, String callId) {
        NotificationManager manager = context.getSystemService(NotificationManager.class);
        if (manager != null) {
            manager.cancel(callId, NOTIFICATION_ID);
        }
    }

    static int requestCode(String callId, int action) {
        return callId.hashCode() * 4 + action;
    }

    private static Notification build(
            Context context,
            String callId,
            String caller,
            String about,
            String capability,
            long ringLeftMs) {
        PendingIntent open = openApp(context, callId, EXTRA_SHOW_CALL_ID, 1);
        PendingIntent accept = openApp(context, callId, EXTRA_ACCEPT_CALL_ID, 2);
        PendingIntent decline = CallActionReceiver.declineIntent(context, callId, capability);
        Notification.Builder builder =
                Build.VERSION.SDK_INT >= Build.VERSION_CODES.O
                        ? new Notification.Builder(context, CHANNEL_ID)
                        : new Notification.Builder(context);
        builder.setSmallIcon(R.drawable.flet_livekit_ic_call)
                .setContentTitle(caller)
                .setContentText(about)
                .setCategory(Notification.CATEGORY_CALL)
                .setOngoing(true)
                .setAutoCancel(false)
                .setContentIntent(open)
                .setFullScreenIntent(open, true);
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            builder.setTimeoutAfter(ringLeftMs); // a lost cancel leaves nothing behind
        }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            Person person = new Person.Builder().setName(caller).setImportant(true).build();
            builder.setStyle(Notification.CallStyle.forIncomingCall(person, decline, accept));
        } else {
            beforeCallStyle(context, builder, accept, decline);
        }
        Notification notification = builder.build();
        notification.flags |= Notification.FLAG_INSISTENT; // the ringtone loops, as a call's does
        return notification;
    }

    /** "Incoming call", and the CRM record the caller called from when the push names one. */
    static String aboutText(String contextLabel) {
        String label = contextLabel == null ? "" : contextLabel.trim();
        return label.isEmpty() ? "Incoming call" : "Incoming call · " + label;
    }

    @SuppressWarnings("deprecation") // priority and sound per notification: before channels
    private static void beforeCallStyle(
            Context context, Notification.Builder builder, PendingIntent accept, PendingIntent decline) {
        Icon icon = Icon.createWithResource(context, R.drawable.flet_livekit_ic_call);
        builder.setPriority(Notification.PRIORITY_MAX)
                .addAction(new Notification.Action.Builder(icon, "Decline", decline).build())
                .addAction(new Notification.Action.Builder(icon, "Accept", accept).build());
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O) {
            builder.setSound(RingtoneManager.getDefaultUri(RingtoneManager.TYPE_RINGTONE));
        }
    }

    private static PendingIntent openApp(Context context, String callId, String extra, int action) {
        Intent launch = context.getPackageManager().getLaunchIntentForPackage(context.getPackageName());
        if (launch == null) {
            launch = new Intent();
        }
        launch.putExtra(extra, callId);
        launch.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK | Intent.FLAG_ACTIVITY_SINGLE_TOP);
        return PendingIntent.getActivity(
                context,
                requestCode(callId, action),
                launch,
                PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT);
    }

    private static void createChannel(NotificationManager manager) {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O) {
            return;
        }
        NotificationChannel channel =
                new NotificationChannel(
                        CHANNEL_ID, "Incoming calls", NotificationManager.IMPORTANCE_HIGH);
        channel.setDescription("Rings when a call comes in and the app is not open");
        AudioAttributes ringtone =
                new AudioAttributes.Builder()
                        .setUsage(AudioAttributes.USAGE_NOTIFICATION_RINGTONE)
                        .setContentType(AudioAttributes.CONTENT_TYPE_SONIFICATION)
                        .build();
        channel.setSound(RingtoneManager.getDefaultUri(RingtoneManager.TYPE_RINGTONE), ringtone);
        channel.enableVibration(true);
        manager.createNotificationChannel(channel);
    }

    /** Milliseconds from now until an ISO-8601 UTC time (seconds precision); 0 if unreadable. */
    static long millisUntil(String iso) {
        if (iso == null || iso.length() < 19) {
            return 0;
        }
        SimpleDateFormat format = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss", Locale.ROOT);
        format.setTimeZone(TimeZone.getTimeZone("UTC"));
        try {
            return format.parse(iso.substring(0, 19)).getTime() - System.currentTimeMillis();
        } catch (ParseException e) {
            return 0;
        }
    }
}
