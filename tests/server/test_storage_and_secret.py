"""The server's secrets at rest: ``var/`` is 0700 and the SQLite database 0600 (like the dev
JWT secret beside it), and a configured JWT secret under 32 bytes is refused at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.config import Settings
from tests.support.servers import CallServer


def test_var_and_the_database_are_private(tmp_path: Path) -> None:
    with CallServer.start(tmp_path, env={"VOIP_JWT_SECRET": ""}) as server:
        var = Path(server.env["VOIP_VAR_DIR"])
        database = Path(server.env["VOIP_DATABASE_URL"].partition(":///")[2])
        assert var.stat().st_mode & 0o777 == 0o700
        assert database.stat().st_mode & 0o777 == 0o600
        assert (var / "dev-jwt-secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("secret", ["secret", "x" * 31])
def test_a_short_jwt_secret_is_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(jwt_secret=secret, var_dir=tmp_path)
    assert Settings(jwt_secret="x" * 32, var_dir=tmp_path).jwt_key() == "x" * 32
    started = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env={"VOIP_JWT_SECRET": secret, "VOIP_VAR_DIR": str(tmp_path / "var"), "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "32 bytes" in started.stderr
