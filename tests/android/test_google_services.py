"""``scripts/google_services.py``: the deployment's ``google-services.json`` (here one of the
shape Firebase's console hands out, with made-up values) becomes the string resources Firebase
initialises from, for the APK's package only; a file for another app is refused."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from scripts import google_services

PACKAGE = "test.acme.crm.crm_voip"


def console_json(package: str = PACKAGE) -> dict[str, object]:
    return {
        "project_info": {
            "project_number": "123456789012",
            "project_id": "acme-calls",
            "storage_bucket": "acme-calls.appspot.com",
        },
        "client": [
            {
                "client_info": {
                    "mobilesdk_app_id": "1:123456789012:android:0a1b2c3d4e5f",
                    "android_client_info": {"package_name": "com.other.app"},
                },
                "api_key": [{"current_key": "not-this-one"}],
            },
            {
                "client_info": {
                    "mobilesdk_app_id": "1:123456789012:android:f0e1d2c3b4a5",
                    "android_client_info": {"package_name": package},
                },
                "oauth_client": [],
                "api_key": [{"current_key": "AIza-made-up-key"}],
                "services": {"appinvite_service": {"other_platform_oauth_client": []}},
            },
        ],
        "configuration_version": "1",
    }


def test_the_resources_firebase_reads_are_written_for_the_apks_package(tmp_path: Path) -> None:
    source, out = tmp_path / "google-services.json", tmp_path / "res" / "google_services.xml"
    source.write_text(json.dumps(console_json()))
    assert google_services.main([str(source), "--out", str(out)]) == 0
    strings = {e.get("name"): e.text for e in ET.parse(out).getroot().iter("string")}
    assert strings == {
        "google_app_id": "1:123456789012:android:f0e1d2c3b4a5",
        "gcm_defaultSenderId": "123456789012",
        "google_api_key": "AIza-made-up-key",
        "google_crash_reporting_api_key": "AIza-made-up-key",
        "project_id": "acme-calls",
        "google_storage_bucket": "acme-calls.appspot.com",
    }


def test_a_file_for_another_app_or_without_its_keys_is_refused(tmp_path: Path) -> None:
    source, out = tmp_path / "google-services.json", tmp_path / "google_services.xml"
    source.write_text(json.dumps(console_json("com.someone.else")))
    assert google_services.main([str(source), "--out", str(out)]) == 1
    broken = console_json()
    broken["project_info"] = {}
    source.write_text(json.dumps(broken))
    assert google_services.main([str(source), "--out", str(out)]) == 1
    assert not out.exists()


def test_the_default_output_is_the_extensions_ignored_values_file() -> None:
    assert google_services.TARGET.name == "google_services.xml"
    assert google_services.TARGET.parent.name == "values"
    assert "flet_livekit/android/src/main/res" in google_services.TARGET.as_posix()
