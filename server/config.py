"""Settings of the call server, read from the environment (prefix ``VOIP_``) or a ``.env`` file.

``docs/server.md`` documents every variable. The defaults run one node on one machine: SQLite
under ``./var/``, a JWT secret generated into ``./var/`` (dev only), no Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.s3presign import S3Bucket

log = logging.getLogger(__name__)
_DEV_SECRETS: dict[Path, str] = {}


class Settings(BaseSettings):
    """Every knob of the server; field ``x`` is the environment variable ``VOIP_X``."""

    model_config = SettingsConfigDict(env_prefix="VOIP_", env_file=".env", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str | None = None
    """SQLAlchemy async URL; unset = ``sqlite+aiosqlite:///<var_dir>/voip.db``."""
    auto_migrate: bool | None = None
    """Run migrations at serve start; unset = only for SQLite."""

    host: str = "127.0.0.1"
    port: int = 8000
    reuse_port: bool = False
    """Bind with ``SO_REUSEPORT``: several processes (each a node, with Redis) share one port and
    the kernel spreads connections over them. Each then needs its own ``node_id``."""
    node_id: str | None = None
    """Names this process's sockets in the database; unset = ``<hostname>:<port>``, so a
    restarted node recognises (and drops) the sockets of its previous run."""

    jwt_secret: SecretStr | None = None
    jwt_ttl_s: int = Field(default=12 * 3600, ge=60)
    session_max_s: int = Field(default=30 * 24 * 3600, ge=60)
    """How long after the password sign-in ``POST /api/auth/refresh`` still renews a token."""

    idp_jwt_secret: SecretStr | None = None
    idp_issuer: str | None = None
    idp_audience: str | None = "authenticated"
    idp_auto_provision: bool = False
    """An IdP token with an unknown ``sub`` creates its member (with ``idp_tenant_claim``)."""
    idp_tenant_claim: str | None = None
    """The dotted path of the claim naming the tenant (its id or slug), e.g.
    ``app_metadata.tenant_id``."""

    livekit_url: str | None = None
    """What clients dial (``wss://…``); the server's API calls use it too unless set below."""
    livekit_api_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None
    livekit_timeout_s: float = Field(default=5.0, gt=0)
    livekit_empty_timeout_s: int = Field(default=20, ge=1)
    room_audit_s: float = Field(default=30.0, gt=0)
    """How often each node asks LiveKit whether the rooms of answered calls still exist."""
    room_audit_min_age_s: float = Field(default=30.0, ge=0)
    """Calls answered more recently than this are not audited (their room may be in the making)."""
    livekit_token_ttl_s: int = Field(default=300, ge=30, le=300)

    ring_timeout_s: float = Field(default=30.0, gt=0)
    sweep_interval_s: float = Field(default=1.0, gt=0)
    rejoin_grace_s: float = Field(default=20.0, ge=0)
    """How long a party whose media dropped (``participant_left``) has to rejoin the room
    before the call ends ``COMPLETED`` / ``participant_left``."""
    invite_limit_per_min: int = Field(default=30, ge=1)
    signin_window_s: int = Field(default=15 * 60, ge=1)
    signin_failures_per_account_address: int = Field(default=10, ge=1)
    signin_failures_per_address: int = Field(default=100, ge=1)
    signin_failures_per_account: int = Field(default=100, ge=1)
    """Failed sign-ins within ``signin_window_s`` after which sign-in waits
    (:mod:`server.signin_guard`)."""
    signin_successes_per_account: int = Field(default=30, ge=1)
    signin_successes_per_address: int = Field(default=300, ge=1)
    """Successful sign-ins within ``signin_window_s`` after which sign-in waits too."""

    redis_url: str | None = None
    presence_ttl_s: float = Field(default=90.0, gt=0)
    """A connection row not refreshed for this long counts as gone (a node died)."""

    loop_watch: bool = True
    """Log the event loop's worst lag and the collector's worst pause every 5 s (when over
    5 ms): :mod:`server.loopwatch`."""

    ws_deflate: bool = False
    """Offer permessage-deflate on websockets (each socket then holds its own zlib streams)."""
    sqlite_inline: bool = True
    """SQLite statements on the loop's thread instead of aiosqlite's (:mod:`server.db.engine`)."""
    gc_freeze: bool = True
    """After start, freeze what exists (``gc.freeze``): full collections skip it."""
    gc_threshold0: int = Field(default=20_000, ge=0)
    """The collector's young-generation threshold (``gc.set_threshold``); 0 keeps Python's."""

    presence_fanout_max: int = Field(default=50, ge=0)
    """``presence`` events go to the whole tenant up to this many users (O(n²) otherwise); in
    bigger tenants only to the sockets that watch the user (``presence_watch``)."""

    fcm_project_id: str | None = None
    """The Firebase project whose app the phones run; with ``fcm_credentials_file``, push is on."""
    fcm_credentials_file: Path | None = None
    """A service account's JSON key (Firebase Cloud Messaging API); its ``token_uri`` is where
    the OAuth token comes from."""
    fcm_endpoint: str = "https://fcm.googleapis.com"
    """FCM HTTP v1's base URL (tests point it at a fake on loopback)."""
    push_concurrency: int = Field(default=16, ge=1, le=256)
    """FCM requests one node has in flight at most."""
    push_timeout_s: float = Field(default=10.0, gt=0)
    """One FCM (or OAuth token) request's time limit."""
    push_poll_s: float = Field(default=1.0, gt=0)
    """How often each node looks for pushes it did not start itself (another node's that died
    after its commit, retries that came due)."""

    socket_events_per_s: float = Field(default=10.0, gt=0)
    socket_event_burst: int = Field(default=40, ge=1)
    """Events one socket may send at once, and on average per second; beyond: ``rate_limited``
    (:mod:`server.sio.ratelimit`)."""
    socket_flood_limit: int = Field(default=200, ge=1)
    """Refused events in a row after which the socket is disconnected."""
    max_sockets_per_user: int = Field(default=10, ge=1)
    """Connected sockets one user may hold across all nodes; one more is refused."""

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    """The largest HTTP request body any route takes (413 beyond, :mod:`server.bodylimit`)."""
    max_webhook_body_bytes: int = Field(default=256 * 1024, ge=1024)
    """The same for ``POST /api/livekit/webhook``."""

    webhook_allow_private: bool = False
    """Deliver call-event webhooks to loopback, link-local and private addresses too (tests,
    a CRM on the same private network). Off: a tenant admin cannot make the server probe the
    internal network."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    """One webhook request's time limit (its lease is a few times this)."""
    webhook_poll_s: float = Field(default=2.0, gt=0)
    """How often each node looks for webhook deliveries that came due (retries, another node's)."""
    webhook_concurrency: int = Field(default=8, ge=1, le=128)
    """Webhook requests one node has in flight at most."""

    recording_default: Literal["off", "all", "on_demand"] = "off"
    """The recording policy of a tenant that has none of its own (``tenants.recording_policy``):
    ``off``, ``all`` calls once answered, or ``on_demand`` (either party starts and stops it)."""
    recording_dir: Path | None = None
    """Where LiveKit Egress's files are read from (the egress's own output directory, shared);
    unset = ``<var_dir>/recordings``. With S3 storage the rows hold the object's location."""
    recording_retention_days: float = Field(default=90.0, ge=0)
    """Recordings older than this are deleted (file and row) by every node's sweep; 0 = kept."""
    recording_url_ttl_s: int = Field(default=300, ge=10, le=3600)
    """How long a signed recording URL (``POST /api/recordings/{id}/url``) plays."""
    recording_sweep_s: float = Field(default=3600.0, gt=0)
    """How often each node looks for recordings past their retention."""
    recording_s3_endpoint: str | None = None
    """Set (with the bucket and keys below) when LiveKit Egress uploads to S3-compatible storage:
    recordings are then served by redirect to a pre-signed URL and deleted there."""
    recording_s3_region: str = "us-east-1"
    recording_s3_bucket: str | None = None
    recording_s3_access_key: str | None = None
    recording_s3_secret_key: SecretStr | None = None

    log_format: str = "json"
    log_level: str = "INFO"

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
        return self.node_id or f"{socket.gethostname()}:{self.port}"

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
