"""The call server's settings by subject; :class:`server.config.Settings` combines them.

Field ``x`` is the environment variable ``VOIP_X``; ``docs/server.md`` documents each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class NodeSettings(BaseModel):
    """Where the server keeps its data and listens, how its nodes meet, how it logs."""

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

    redis_url: str | None = None
    presence_ttl_s: float = Field(default=90.0, gt=0)
    """A connection row not refreshed for this long counts as gone (a node died)."""

    log_format: str = "json"
    log_level: str = "INFO"


class AuthSettings(BaseModel):
    """Access tokens, the identity provider's tokens, and the sign-in guard's limits."""

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

    signin_window_s: int = Field(default=15 * 60, ge=1)
    signin_failures_per_account_address: int = Field(default=10, ge=1)
    signin_failures_per_address: int = Field(default=100, ge=1)
    signin_failures_per_account: int = Field(default=100, ge=1)
    """Failed sign-ins within ``signin_window_s`` after which sign-in waits
    (:mod:`server.signin_guard`)."""
    signin_successes_per_account: int = Field(default=30, ge=1)
    signin_successes_per_address: int = Field(default=300, ge=1)
    """Successful sign-ins within ``signin_window_s`` after which sign-in waits too."""


class CallSettings(BaseModel):
    """The media server (LiveKit) and the call's timers."""

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


class TransportSettings(BaseModel):
    """The event loop, websockets, presence fan-out, and what one client may send."""

    loop_watch: bool = True
    """Log the event loop's worst lag and the collector's worst pause every
    ``loop_watch_report_s`` (when over 5 ms): :mod:`server.loopwatch`."""
    loop_watch_report_s: float = Field(default=5.0, gt=0)

    ws_deflate: bool = False
    """Offer permessage-deflate on websockets (each socket then holds its own zlib streams)."""
    sqlite_inline: bool = True
    """SQLite statements on the loop's thread instead of aiosqlite's (:mod:`server.db.engine`)."""
    gc_freeze: bool = True
    """After start, freeze what exists (``gc.freeze``): full collections skip it."""
    gc_threshold0: int = Field(default=20_000, ge=0)
    """The collector's young-generation threshold (``gc.set_threshold``); 0 keeps Python's."""
    gc_threshold1: int = Field(default=0, ge=0)
    gc_threshold2: int = Field(default=0, ge=0)
    """How many collections of the younger generation come before one of the next (Python's:
    10 and 10); 0 keeps Python's. A generation-1 collection walks up to ``threshold0 x
    (threshold1 + 1)`` objects: about 100 ms for 10 while thousands of sockets connect."""
    gc_refreeze: bool = False
    """After each collection of generation 1 or 2, freeze its survivors (:mod:`server.gcpolicy`).
    Off by default: a socket that goes leaves its cycles frozen until a refresh, a full
    collection of everything (0.3-1.5 s with 5,000 sockets; docs/benchmarks.md)."""
    gc_check_s: float = Field(default=1.0, gt=0)
    gc_garbage_ratio: float = Field(default=1.0, gt=0)
    """Unfreeze and collect everything once the objects frozen since the last time reach this
    times the frozen population then: bounds the frozen garbage."""
    gc_refresh_min_s: float = Field(default=300.0, ge=0)
    """At most one such full collection per this many seconds (the first one after start)."""

    presence_fanout_max: int = Field(default=50, ge=0)
    """``presence`` events go to the whole tenant up to this many users (O(n²) otherwise); in
    bigger tenants only to the sockets that watch the user (``presence_watch``)."""

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


class OutboundSettings(BaseModel):
    """Requests the server makes: FCM pushes and call-event webhooks."""

    fcm_project_id: str | None = None
    """The Firebase project whose app the phones run; with ``fcm_credentials_file``, push is on."""
    fcm_credentials_file: Path | None = None
    """A service account's JSON key (Firebase Cloud Messaging API); its ``token_uri`` is where
    the OAuth token comes from."""
    fcm_endpoint: str = "https://fcm.googleapis.com"
    """FCM HTTP v1's base URL (tests point it at a fake on loopback)."""
    push_concurrency: int = Field(default=16, ge=1, le=256)
    """FCM requests one node has in flight at most."""
    push_context: bool = True
    """An incoming-call push shows the CRM record the caller called from (its label); off, the
    label stays off Google's FCM and only the app's own connection carries it."""
    push_timeout_s: float = Field(default=10.0, gt=0)
    """One FCM (or OAuth token) request's time limit."""
    push_poll_s: float = Field(default=1.0, gt=0)
    """How often each node looks for pushes it did not start itself (another node's that died
    after its commit, retries that came due)."""

    webhook_allow_private: bool = False
    """Deliver call-event webhooks to loopback, link-local and private addresses too (tests,
    a CRM on the same private network). Off: a tenant admin cannot make the server probe the
    internal network."""
    webhook_ca_file: Path | None = None
    """CA certificates (PEM) trusted for https webhook receivers besides the system's (a CRM on
    a private network with its own CA)."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    """One webhook request's time limit (its lease is a few times this)."""
    webhook_poll_s: float = Field(default=2.0, gt=0)
    """How often each node looks for webhook deliveries that came due (retries, another node's)."""
    webhook_concurrency: int = Field(default=8, ge=1, le=128)
    """Webhook requests one node has in flight at most."""


class RecordingSettings(BaseModel):
    """Call recording: policy, where the files are, retention, S3."""

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
