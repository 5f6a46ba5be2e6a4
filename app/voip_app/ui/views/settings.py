"""The settings screen: microphone and speaker, light or dark, the account, about
(``settings.*``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import flet as ft

from voip_app.ui.models import AppModel, SettingsModel
from voip_app.ui.views.common import avatar, screen, section, tagged, task, use_model
from voip_app.ui.views.meter import LevelMeter


def device_picker(
    identifier: str,
    label: str,
    devices: list[tuple[str, str]],
    value: str,
    choose: Callable[[str], Awaitable[None]],
) -> ft.Control:
    async def on_select(e: ft.Event[ft.Dropdown]) -> None:
        await choose(e.control.value or "")

    options = [ft.DropdownOption(key="", text="System default")] + [
        ft.DropdownOption(key=device_id, text=name) for device_id, name in devices
    ]
    picker = ft.Dropdown(
        label=label, value=value, options=options, on_select=on_select, expand=True
    )
    return tagged(identifier, picker)


def audio_section(settings: SettingsModel) -> ft.Control:
    microphone = device_picker(
        "settings.input",
        "Microphone",
        settings.inputs,
        settings.input_id,
        settings.select_input_device,
    )
    speaker = device_picker(
        "settings.output",
        "Speaker",
        settings.outputs,
        settings.output_id,
        settings.select_output_device,
    )
    test_mic = ft.OutlinedButton(
        "Stop the test" if settings.mic_testing else "Test microphone",
        icon=ft.Icons.STOP if settings.mic_testing else ft.Icons.MIC,
        on_click=task(settings.toggle_mic_test),
    )
    test_sound = ft.OutlinedButton(
        "Playing…" if settings.playing_test_sound else "Play test sound",
        icon=ft.Icons.VOLUME_UP,
        disabled=settings.playing_test_sound,
        on_click=task(settings.play_test_sound),
    )
    meter = LevelMeter("settings.mic-level", "Microphone", settings.mic_level, use_model().clock)
    checks = ft.Row(
        [tagged("settings.mic-test", test_mic), meter, tagged("settings.test-sound", test_sound)],
        wrap=True,
        spacing=16,
        run_spacing=8,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    return section("Audio", [microphone, speaker, checks])


def appearance_section(settings: SettingsModel) -> ft.Control:
    modes = ft.SegmentedButton(
        selected=[settings.theme_mode],
        segments=[
            ft.Segment("system", label="System", icon=ft.Icons.BRIGHTNESS_AUTO),
            ft.Segment("light", label="Light", icon=ft.Icons.LIGHT_MODE),
            ft.Segment("dark", label="Dark", icon=ft.Icons.DARK_MODE),
        ],
        on_change=lambda e: settings.set_theme_mode((e.control.selected or ["system"])[0]),
    )
    return section("Appearance", [modes])


def account_section(model: AppModel) -> ft.Control:
    user = model.user
    me = ft.ListTile(
        leading=avatar(user.display_name if user else "?", 40),
        title=ft.Text(user.display_name if user else ""),
        subtitle=ft.Text(f"{user.email if user else ''} · {model.server_url}"),
    )
    sign_out = ft.OutlinedButton("Sign out", icon=ft.Icons.LOGOUT, on_click=task(model.sign_out))
    return section("Account", [me, tagged("settings.signout", sign_out)])


def about_section(model: AppModel, settings: SettingsModel) -> ft.Control:
    versions = [("Server", model.server_url), *settings.versions.items()]
    lines: list[ft.Control] = [
        ft.Text(f"{name} {version}", color=ft.Colors.ON_SURFACE_VARIANT)
        for name, version in versions
    ]
    return section("About", lines)


@ft.component
def SettingsView(settings: SettingsModel) -> ft.Control:
    model = use_model()
    # the device lists are read afresh when Settings opens; the microphone test ends with the
    # screen: nothing keeps the device open behind it
    ft.use_effect(settings.refresh_devices, [], cleanup=settings.stop_mic_test)
    sections = [
        audio_section(settings),
        appearance_section(settings),
        account_section(model),
        about_section(model, settings),
    ]
    return screen("Settings", sections, scroll=True)
