"""The call engine (:class:`voip_app.engine.CallEngine`) as the models' :class:`EnginePort`.

The engine publishes one immutable snapshot per change; this binding compares each snapshot with
the previous one and tells the models only what changed (:data:`EngineUpdate`); the call is
passed on as the engine's own :class:`~voip_app.call.model.ActiveCall`. It is the
one place that knows both the engine's surface and the UI's port, so either can move without the
other. ``app/main.py`` builds it; views never see it.

Audio for the app's calls comes from :func:`media_factory_for`: the machine's sound devices by
default, or (``VOIP_APP_AUDIO``) a test tone into a null sink, which is how the browser tests run
the app's media inside the Python process with no sound card.
"""

from __future__ import annotations

import logging
import platform as pyplatform
from dataclasses import dataclass
from importlib import metadata

from voip_app.audio.base import AudioInput
from voip_app.audio.base import AudioOutput as AudioOutputEndpoint
from voip_app.audio.check import MicCheck, play_test_sound
from voip_app.engine import CallEngine, EngineSnapshot, MediaFactory, MediaPrefs
from voip_app.media.base import AudioOutput, MediaError, MediaSession
from voip_app.ui.ports import (
    AudioDevice,
    AudioDevices,
    CallChanged,
    ConnectionChanged,
    ContactPresenceChanged,
    EngineFailed,
    EngineListener,
    EngineUpdate,
    HistoryChanged,
    OutputsChanged,
    SessionRenewed,
)
from voip_contract import Call, Contact, User
from voip_contract.admin import (
    AdminUser,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)

log = logging.getLogger(__name__)


def snapshot_updates(old: EngineSnapshot, new: EngineSnapshot) -> list[EngineUpdate]:
    """What changed from ``old`` to ``new``, as model updates (pure, unit-tested)."""
    updates: list[EngineUpdate] = []
    if new.call != old.call:
        updates.append(CallChanged(new.call))
    if new.contacts != old.contacts:
        before = {c.id: c.presence for c in old.contacts}
        updates.extend(
            ContactPresenceChanged(c.id, c.presence)
            for c in new.contacts
            if c.id in before and before[c.id] != c.presence
        )
    if new.connection != old.connection and new.user is not None:
        if new.connection == "reconnecting":
            updates.append(ConnectionChanged(False))
        elif new.connection == "online" and old.connection == "reconnecting":
            updates.append(ConnectionChanged(True))
    if new.history != old.history or new.missed_count != old.missed_count:
        updates.append(HistoryChanged(new.history, new.missed_count))
    if new.outputs != old.outputs:
        updates.append(OutputsChanged(new.outputs))
    call_error = new.call.error if new.call is not None else None
    if new.error and new.error != old.error and new.error != call_error:
        updates.append(EngineFailed(new.error, session_expired=new.session_expired))
    if old.access_token and new.access_token and new.access_token != old.access_token:
        updates.append(SessionRenewed(new.access_token))
    return updates


class EngineBinding:
    """:class:`voip_app.ui.ports.EnginePort` over a :class:`CallEngine`."""

    def __init__(self, engine: CallEngine, audio_mode: AudioMode | None = None) -> None:
        self._audio_mode = audio_mode or AudioMode()
        self._mic_check: MicCheck | None = None
        self._engine = engine
        self._last = engine.snapshot
        self._listener: EngineListener | None = None
        self._unsubscribe = engine.subscribe(self._on_snapshot)

    @property
    def engine(self) -> CallEngine:
        return self._engine

    def set_listener(self, listener: EngineListener | None) -> None:
        self._listener = listener

    def _on_snapshot(self, snapshot: EngineSnapshot) -> None:
        old, self._last = self._last, snapshot
        listener = self._listener
        if listener is None:
            return
        for update in snapshot_updates(old, snapshot):
            listener(update)

    async def close(self) -> None:
        self._unsubscribe()
        await self._engine.close()

    # --- session ---------------------------------------------------------------------------------

    async def sign_in(self, server_url: str, email: str, password: str) -> tuple[User, str]:
        log.info(
            "signing in %r at %s (a password of %d characters)", email, server_url, len(password)
        )
        user = await self._engine.sign_in(server_url, email, password)
        return user, self._engine.access_token or ""

    async def resume(self, server_url: str, access_token: str) -> User:
        return await self._engine.resume(server_url, access_token)

    async def sign_out(self) -> None:
        await self._engine.sign_out()

    # --- directory -------------------------------------------------------------------------------

    async def contacts(self, query: str = "") -> list[Contact]:
        return list(await self._engine.refresh_contacts(query))

    def watch_visible(self, user_ids: list[str]) -> None:
        self._engine.watch_visible(user_ids)

    async def history(self) -> list[Call]:
        return list(await self._engine.refresh_history())

    def mark_missed_seen(self) -> None:
        self._engine.mark_missed_seen()

    async def recording_url(self, recording_id: str) -> str:
        return await self._engine.recording_url(recording_id)

    async def note_call(self, call_id: str, outcome: str | None, text: str | None) -> Call:
        return await self._engine.note_call(call_id, outcome, text)

    async def outcomes(self) -> list[str]:
        return await self._engine.outcomes()

    async def webhooks(self) -> tuple[list[WebhookEndpointOut], list[WebhookDeliveryOut]]:
        return await self._engine.admin.webhooks()

    async def add_webhook(self, url: str) -> WebhookEndpointCreated:
        return await self._engine.admin.add_webhook(url)

    async def resend(self, delivery_id: int) -> None:
        await self._engine.admin.resend(delivery_id)

    async def change_webhook(self, endpoint_id: str, change: str) -> None:
        await self._engine.admin.change_webhook(endpoint_id, change)

    async def admin_users(self) -> list[AdminUser]:
        return await self._engine.admin.users()

    async def admin_change(self, user_id: str, change: str) -> AdminUser:
        return await self._engine.admin.change_user(user_id, change)

    async def admin_add(self, email: str, display_name: str) -> AdminUser:
        return await self._engine.admin.add_user(email, display_name)

    # --- calls -----------------------------------------------------------------------------------

    async def dial(self, contact: Contact) -> None:
        await self._engine.call(contact.id)

    async def accept(self) -> None:
        await self._engine.accept()

    async def decline(self) -> None:
        await self._engine.decline()

    async def cancel(self) -> None:
        await self._engine.cancel()

    async def hang_up(self) -> None:
        await self._engine.hang_up()

    async def set_muted(self, muted: bool) -> None:
        await self._engine.set_muted(muted)

    async def audio_outputs(self) -> list[AudioOutput]:
        return list(await self._engine.list_outputs())

    async def select_audio_output(self, output_id: str) -> None:
        await self._engine.select_output(output_id)

    # --- devices and about -----------------------------------------------------------------------

    def audio_devices(self) -> AudioDevices:
        try:
            from voip_app.audio.devices import list_devices
        except ImportError:  # no sounddevice on this platform (Android)
            return AudioDevices()
        try:
            inputs, outputs = list_devices("input"), list_devices("output")
        except (MediaError, OSError) as exc:
            log.info("no sound devices: %s", exc)
            return AudioDevices()
        return AudioDevices(
            inputs=[AudioDevice(d.id, d.name) for d in inputs],
            outputs=[AudioDevice(d.id, d.name) for d in outputs],
        )

    async def select_audio_devices(self, input_id: str | None, output_id: str | None) -> None:
        self._engine.set_input_device(input_id)
        if output_id is not None:
            await self._engine.select_output(output_id)

    # --- sound you can see ----------------------------------------------------------------------

    def audio_levels(self) -> tuple[float, float]:
        return self._engine.audio_levels()

    async def start_mic_test(self, input_id: str | None) -> None:
        await self.stop_mic_test()
        check = MicCheck(self._audio_mode.microphone(input_id))
        self._mic_check = check
        await check.start()

    def mic_test_level(self) -> float:
        return self._mic_check.level if self._mic_check is not None else 0.0

    async def stop_mic_test(self) -> None:
        check, self._mic_check = self._mic_check, None
        if check is not None:
            await check.stop()

    async def play_test_sound(self, output_id: str | None) -> None:
        await play_test_sound(self._audio_mode.speaker(output_id))

    def versions(self) -> dict[str, str]:
        found = {"Python": pyplatform.python_version()}
        for label, dist in (("CRM Calls", "crm-voip"), ("Flet", "flet"), ("LiveKit", "livekit")):
            try:
                found[label] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return found


@dataclass(frozen=True, slots=True)
class AudioMode:
    """How the app's calls get their audio: ``devices``, or ``tone`` (a sine, nothing played)."""

    kind: str = "devices"
    tone_hz: float = 440.0

    @classmethod
    def parse(cls, value: str | None) -> AudioMode:
        """``"devices"`` (default), ``"tone"`` or ``"tone:<hz>"``; anything else is an error."""
        text = (value or "devices").strip().lower()
        if text == "devices":
            return cls()
        if text == "tone":
            return cls("tone")
        if text.startswith("tone:"):
            return cls("tone", float(text.removeprefix("tone:")))
        raise ValueError(f"VOIP_APP_AUDIO must be 'devices', 'tone' or 'tone:<hz>', not {value!r}")

    def microphone(self, input_id: str | None) -> AudioInput:
        """The microphone Settings tests (no echo canceller: the raw device)."""
        if self.kind == "tone":
            from voip_app.audio.sources import ToneSource

            return ToneSource(self.tone_hz)
        from voip_app.audio.devices import DeviceInput

        return DeviceInput(input_id, None)

    def speaker(self, output_id: str | None) -> AudioOutputEndpoint:
        """The speaker Settings plays its test sound on."""
        if self.kind == "tone":
            from voip_app.audio.sources import NullSink

            return NullSink()
        from voip_app.audio.devices import DeviceOutput

        return DeviceOutput(output_id, None)


def media_factory_for(mode: AudioMode) -> MediaFactory | None:
    """The engine's media factory for ``mode`` (``None``: the engine's default, the devices)."""
    if mode.kind == "devices":
        return None
    hz = mode.tone_hz

    def tone_media(prefs: MediaPrefs) -> MediaSession:
        from voip_app.audio.sources import NullSink, ToneSource
        from voip_app.media.livekit_session import LiveKitMediaSession

        return LiveKitMediaSession(audio_input=ToneSource(hz), audio_output=NullSink())

    return tone_media
