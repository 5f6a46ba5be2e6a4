"""Firebase's configuration for an Android build, from the deployment's ``google-services.json``.

The Google Services Gradle plugin would read ``google-services.json`` in the app's Gradle
project, which ``flet build`` generates anew each time. Instead, this writes the same string
resources that plugin generates (``google_app_id``, ``gcm_defaultSenderId``, ``google_api_key``,
``project_id``, ...) into the extension's Android resources, from where the Android build merges
them into the app and Firebase initialises itself (``FirebaseOptions.fromResource``). The file
it writes is ignored by git: the configuration is a deployment input, never in the repository.

    python scripts/google_services.py path/to/google-services.json [--package <the APK's>]

Run it before ``flet build apk``; without it the APK has no push (the app registers nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
TARGET = (
    REPO
    / "android/flet_livekit/src/flutter/flet_livekit/android/src/main/res/values"
    / "google_services.xml"
)
DEFAULT_PACKAGE = "test.acme.crm.crm_voip"
"""``[tool.flet].org`` + the project name: the APK's package (android/README.md)."""


class ConfigError(Exception):
    """The JSON is not a usable ``google-services.json`` for this package."""


def resources(config: dict[str, Any], package: str) -> dict[str, str]:
    """The string resources the Google Services plugin makes for ``package``."""
    project = config.get("project_info") or {}
    clients = [
        c
        for c in config.get("client", [])
        if c.get("client_info", {}).get("android_client_info", {}).get("package_name") == package
    ]
    if not clients:
        raise ConfigError(f"google-services.json has no Android app with package {package!r}")
    client = clients[0]
    keys = [k.get("current_key") for k in client.get("api_key", []) if k.get("current_key")]
    values = {
        "google_app_id": client.get("client_info", {}).get("mobilesdk_app_id"),
        "gcm_defaultSenderId": project.get("project_number"),
        "google_api_key": keys[0] if keys else None,
        "google_crash_reporting_api_key": keys[0] if keys else None,
        "project_id": project.get("project_id"),
        "google_storage_bucket": project.get("storage_bucket"),
        "firebase_database_url": project.get("firebase_url"),
    }
    missing = [
        k
        for k in ("google_app_id", "gcm_defaultSenderId", "google_api_key", "project_id")
        if not values[k]
    ]
    if missing:
        raise ConfigError(f"google-services.json lacks {', '.join(missing)}")
    return {name: str(value) for name, value in values.items() if value}


def values_xml(strings: dict[str, str]) -> str:
    """An Android ``values`` resource file with these strings (not to be translated)."""
    lines = [
        f'    <string name="{name}" translatable="false">{escape(value)}</string>'
        for name, value in sorted(strings.items())
    ]
    body = "\n".join(lines)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!-- Written by scripts/google_services.py from google-services.json: do not commit. -->\n"
        f"<resources>\n{body}\n</resources>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("google_services_json", type=Path)
    parser.add_argument("--package", default=DEFAULT_PACKAGE)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    try:
        strings = resources(json.loads(args.google_services_json.read_text()), args.package)
    except (OSError, ValueError, ConfigError) as exc:
        print(f"google_services: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(values_xml(strings))
    print(f"wrote {args.out} for {args.package} (project {strings['project_id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
