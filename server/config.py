"""Settings of the call server, read from the environment (prefix ``VOIP_``) or a ``.env`` file.

``docs/server.md`` documents every variable. The defaults run one node on one machine: SQLite
under ``./var/``, a JWT secret generated into ``./var/`` (dev only), no Redis.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.config_fields import (
    AuthSettings,
    CallSettings,
    NodeSettings,
    OutboundSettings,
    RecordingSettings,
    TransportSettings,
)
from server.s3presign import S3Bucket

log = logging.getLogger(__name__)
_DEV_SECRETS: dict[Path, str] = {}
_hostname = functools.cache(socket.gethostname)
"""The host's name, asked once: ``node`` is read at every socket's connect (a system call each
time, 1 % of a connect's CPU), and a process does not change hosts."""


class Settings(
    NodeSettings,
    AuthSettings,
    CallSettings,
    TransportSettings,
    OutboundSettings,
    RecordingSettings,
    BaseSettings,
):
    """Every knob of the server (:mod:`server.config_fields`, by subject); field ``x`` is the
    environment variable ``VOIP_X``."""

    model_config = SettingsConfigDict(env_prefix="VOIP_", env_file=".env", extra="ignore")

    @field_validator(
        "database_url",
        "jwt_secret",
        "idp_jwt_secret",
        "idp_issuer",
        "livekit_url",
        "livekit_api_url",
        "livekit_api_key",
        "livekit_api_secret",
        "redis_url",
        "node_id",
        "fcm_project_id",
        "fcm_credentials_file",
        "recording_dir",
        "webhook_ca_file",
        "recording_s3_endpoint",
        "recording_s3_bucket",
        "recording_s3_access_key",
        "recording_s3_secret_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _push_both_or_neither(self) -> Settings:
        if (self.fcm_project_id is None) != (self.fcm_credentials_file is None):
            raise ValueError(
                "push needs both VOIP_FCM_PROJECT_ID and VOIP_FCM_CREDENTIALS_FILE (or neither)"
            )
        return self

    @model_validator(mode="after")
    def _strong_jwt_secret(self) -> Settings:
        # Unset is dev (a strong one is generated); a set one is what production runs with.
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("VOIP_JWT_SECRET must be at least 32 bytes (unset: dev secret)")
        return self

    @model_validator(mode="after")
    def _shared_port_names_its_node(self) -> Settings:
        if self.reuse_port and self.node_id is None:
            raise ValueError(
                "VOIP_REUSE_PORT shares the port between processes: give each its own"
                " VOIP_NODE_ID (the default, <hostname>:<port>, would be the same for all)"
            )
        return self

    def prepare_storage(self) -> None:
        """``var_dir`` readable by the server's user alone (0700), and a SQLite database file
        created 0600 (its journal files take the same mode) before SQLite makes it 0644."""
        self.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.var_dir.chmod(0o700)
        path = self.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            path.chmod(0o600)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, if the database is one (not in memory)."""
        _, sep, rest = self.db_url.partition(":///")
        if not self.is_sqlite or not sep or not rest or rest.startswith(":memory:"):
            return None
        return Path(rest.split("?", 1)[0])

    @property
    def push_enabled(self) -> bool:
        """FCM is configured: callees with a push device ring, and pushes go out."""
        return self.fcm_project_id is not None

    @property
    def recording_s3(self) -> S3Bucket | None:
        """The bucket egress uploads recordings to, if configured."""
        key, secret = self.recording_s3_access_key, self.recording_s3_secret_key
        if not (self.recording_s3_endpoint and self.recording_s3_bucket and key and secret):
            return None
        return S3Bucket(
            endpoint=self.recording_s3_endpoint,
            region=self.recording_s3_region,
            bucket=self.recording_s3_bucket,
            access_key=key,
            secret_key=secret.get_secret_value(),
        )

    @property
    def recordings_path(self) -> Path:
        return self.recording_dir or self.var_dir / "recordings"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'voip.db').as_posix()}"

    @property
    def node(self) -> str:
        return self.node_id or f"{_hostname()}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def heartbeat_s(self) -> float:
        return self.presence_ttl_s / 3

    def jwt_key(self) -> str:
        """The access-token secret; in dev (unset) one generated once into ``var_dir``."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.var_dir / "dev-jwt-secret"
        cached = _DEV_SECRETS.get(path)
        if cached is not None:
            return cached
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
            log.warning(
                "generated a dev-only JWT secret; set VOIP_JWT_SECRET in production",
                extra={"path": str(path)},
            )
        _DEV_SECRETS[path] = path.read_text().strip()
        return _DEV_SECRETS[path]
