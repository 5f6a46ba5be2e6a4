"""The settings screen's model: microphone and speaker, light or dark, and the about box."""

from __future__ import annotations

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

    def load(self) -> None:
        """The machine's sound devices and the components' versions."""
        devices = self.engine.audio_devices()
        self.inputs = [(d.id, d.name) for d in devices.inputs]
        self.outputs = [(d.id, d.name) for d in devices.outputs]
        self.versions = dict(self.engine.versions())

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

    def set_theme_mode(self, mode: str) -> None:
        if mode in THEME_MODES:
            self.theme_mode = mode

    async def _run(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except (VoipError, MediaError) as exc:
            await self.fail(exc)
