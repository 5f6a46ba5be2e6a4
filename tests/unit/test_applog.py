"""The app's log file: one line per record, and no secret ever written (specification here)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from voip_app import applog

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"joining ws://10.0.0.1:7880 with {JWT}", JWT),
        ("headers {'Authorization': 'Bearer abc.def-123'}", "abc.def-123"),
        ("GET /rtc?access_token=s3cr3t-v4lue&auto_subscribe=1", "s3cr3t-v4lue"),
        ('{"token": "lk-room-token-xyz", "room_name": "r1"}', "lk-room-token-xyz"),
        ("{'password': 'demo-password', 'email': 'a@b.test'}", "demo-password"),
        ("push capability=cap_0123456789 for call c1", "cap_0123456789"),
    ],
)
def test_secrets_are_redacted_and_the_rest_kept(line: str, secret: str) -> None:
    out = applog.redact(line)
    assert secret not in out
    assert applog.REDACTED in out
    # what is not a secret stays readable
    for word in ("ws://10.0.0.1:7880", "auto_subscribe=1", "room_name", "a@b.test", "call c1"):
        if word in line:
            assert word in out


def test_a_plain_line_is_untouched() -> None:
    line = "call 0f3a: microphone missing, speaker ready (Error querying device -1)"
    assert applog.redact(line) == line


def test_records_become_single_redacted_lines_in_the_file(tmp_path: Path) -> None:
    handler = logging.FileHandler(tmp_path / "app.log", encoding="utf-8")
    handler.setFormatter(applog.RedactingFormatter())
    logger = logging.getLogger("voip_app.test_applog")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("event accepting %s", {"call_id": "c1", "token": JWT})
        try:
            raise RuntimeError(f"join failed with {JWT}")
        except RuntimeError:
            logger.exception("media failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = (tmp_path / "app.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2  # the traceback is folded onto its record's line
    assert "event accepting" in lines[0]
    assert "c1" in lines[0]
    assert "media failed" in lines[1]
    assert "RuntimeError" in lines[1]
    assert all(JWT not in line and "eyJ" not in line for line in lines)
    assert lines[0][:4].isdigit()
    assert "Z INFO voip_app.test_applog:" in lines[0]


def test_the_file_has_the_apps_lines_and_only_the_trouble_of_libraries(tmp_path: Path) -> None:
    handler = applog.install(tmp_path / "var" / "app.log")
    try:
        logging.getLogger("voip_app.audio.devices").info("audio device: speaker missing")
        logging.getLogger("httpx").warning("HTTP trouble")
        noisy = logging.getLogger("httpx")
        noisy.setLevel(logging.INFO)
        noisy.info("HTTP Request: GET /api/calls")
        handler.flush()
        text = (tmp_path / "var" / "app.log").read_text(encoding="utf-8")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
        applog._installed = None
    assert "speaker missing" in text
    assert "HTTP trouble" in text
    assert "GET /api/calls" not in text
