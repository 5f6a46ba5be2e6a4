"""CRM Calls: the app's entry point (``flet run app/main.py``, ``flet build``, ``make demo``).

The same file serves the desktop window, the Android APK (``flet build`` packs ``app/``) and the
web mode the browser tests drive. Everything lives in :mod:`voip_app.ui.app`.
"""

from __future__ import annotations

import os
from pathlib import Path

import flet as ft

from voip_app.ui.app import main

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
"""``app/assets`` links to the repository's ``assets/``; ``flet build`` finds it there too."""

WEB_SESSION_TIMEOUT_S = "30"
"""In web mode, how long a closed or disconnected tab keeps its session (Flet's default is an
hour: an hour of a signed-in engine that rings for nobody)."""

if __name__ == "__main__":
    os.environ.setdefault("FLET_SESSION_TIMEOUT", WEB_SESSION_TIMEOUT_S)
    ft.run(main, assets_dir=str(ASSETS_DIR))
