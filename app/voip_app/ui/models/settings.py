"""The settings screen's model: microphone and speaker, light or dark, and the about box."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import flet as ft

from voip_app.errors import VoipError
from voip_app.media.base import MediaError
from voip_app.ui.models.call import Fail
from voip_app.ui.ports import EnginePort

THEME_MODES = ("system", "light", "dark")


@ft.observable
@dataclass
class SettingsModel:
    engine: EnginePort
    fail: Fail
    inputs: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    input_id: str = ""
    output_id: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    theme_mode: str = "system"
    """``system``, ``light`` or ``dark``."""
    mic_testing: bool = False
    playing_test_sound: bool = False

    def load(self) -> None:
        """The machine's sound devices and the components' versions."""
        devices = self.engine.audio_devices()
        self.inputs = [(d.id, d.name) for d in devices.inputs]
        self.outputs = [(d.id, d.name) for d in devices.outputs]
        self.versions = dict(self.engine.versions())

    async def refresh_devices(self) -> None:
        """Read the sound devices again (opening Settings: one may have been plugged in); off
        the event loop, since PortAudio re-reads the system's list."""
        devices = await asyncio.to_thread(self.engine.audio_devices)
        self.inputs = [(d.id, d.name) for d in devices.inputs]
        self.outputs = [(d.id, d.name) for d in devices.outputs]

    async def select_input_device(self, device_id: str) -> None:
        self.input_id = device_id
        await self._apply_devices()

    async def select_output_device(self, device_id: str) -> None:
        self.output_id = device_id
        await self._apply_devices()

    async def _apply_devices(self) -> None:
        await self._run(
            lambda: self.engine.select_audio_devices(self.input_id or None, self.output_id or None)
        )

    # --- sound checks -----------------------------------------------------------------------

    async def toggle_mic_test(self) -> None:
        """Start measuring the chosen microphone (``settings.mic-level``), or stop."""
        if self.mic_testing:
            await self.stop_mic_test()
            return
        self.mic_testing = True
        try:
            await self.engine.start_mic_test(self.input_id or None)
        except (VoipError, MediaError) as exc:
            self.mic_testing = False
            await self.fail(exc)

    async def stop_mic_test(self) -> None:
        """Release the microphone (leaving Settings, or the button again)."""
        if self.mic_testing:
            self.mic_testing = False
            await self.engine.stop_mic_test()

    def mic_level(self) -> float:
        return self.engine.mic_test_level() if self.mic_testing else 0.0

    async def play_test_sound(self) -> None:
        """A short tone on the chosen speaker; the button waits until it has played."""
        if self.playing_test_sound:
            return
        self.playing_test_sound = True
        try:
            await self._run(lambda: self.engine.play_test_sound(self.output_id or None))
        finally:
            self.playing_test_sound = False

    def set_theme_mode(self, mode: str) -> None:
        if mode in THEME_MODES:
            self.theme_mode = mode

    async def _run(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
