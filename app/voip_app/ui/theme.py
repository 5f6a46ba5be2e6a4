"""Material 3 themes (light and dark from one brand seed) and the app's fixed colours."""

from __future__ import annotations

import flet as ft

BRAND_SEED = "#1B5FD9"
"""The CRM's brand blue; Material 3 derives both colour schemes from it."""

ACCEPT_GREEN = "#1E8E3E"
HANG_UP_RED = "#D93025"
PRESENCE_COLORS = {"online": "#1E8E3E", "busy": "#E37400", "offline": "#9AA0A6"}
PRESENCE_LABELS = {"online": "Online", "busy": "In a call", "offline": "Offline"}

PHONE_MAX_WIDTH = 640
"""Narrower windows get the phone layout (bottom navigation), wider ones the desktop layout."""


def light_theme() -> ft.Theme:
    return ft.Theme(color_scheme_seed=BRAND_SEED, use_material3=True)


def dark_theme() -> ft.Theme:
    return ft.Theme(color_scheme_seed=BRAND_SEED, use_material3=True)


def apply(page: ft.Page, mode: str = "system") -> None:
    """Install both themes on ``page`` and pick ``mode`` (``system``, ``light`` or ``dark``)."""
    page.theme = light_theme()
    page.dark_theme = dark_theme()
    page.theme_mode = {
        "light": ft.ThemeMode.LIGHT,
        "dark": ft.ThemeMode.DARK,
    }.get(mode, ft.ThemeMode.SYSTEM)
