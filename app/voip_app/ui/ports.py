"""What the view-models need from the rest of the app, as small protocols.

The view-models never talk to sockets, HTTP or audio devices: they call an :class:`EnginePort`
(the call engine, bound in :mod:`voip_app.ui.binding`), a :class:`Ringer` (ringtone plus
vibration, :mod:`voip_app.ui.ringer`), a :class:`SessionStore` (the remembered sign-in) and a
:class:`voip_app.platform.Platform` (runtime permissions). Unit tests hand them fakes
(``tests/ui/fakes.py``); ``app/main.py`` hands them the real ones.

Engine news reaches the view-models as :data:`EngineUpdate` values through one listener.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from voip_app.call import Phase
from voip_app.media.base import AudioOutput, ConnectionQuality
from voip_contract import Call, CallStatus, Contact, Direction, Presence, Reason, User


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """One call as this device sees it right now (``phase`` idle: no call)."""

    phase: Phase = Phase.IDLE
    call_id: str | None = None
    peer_id: str | None = None
    peer_name: str = ""
    direction: Direction | None = None
    status: CallStatus | None = None
    reason: Reason | None = None
    answered_at: datetime | None = None
    """When the call was answered (server clock, timezone-aware): the timer's zero."""
    muted: bool = False
    remote_muted: bool = False
    quality: ConnectionQuality = "unknown"
    output: AudioOutput | None = None
    error: str | None = None
    """A media or signaling failure of this call, fit to show a person."""


@dataclass(frozen=True, slots=True)
class CallChanged:
    snapshot: CallSnapshot


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    user_id: str
    presence: Presence


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The signaling link to the call server went down (``connected`` False) or came back."""

    connected: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class HistoryChanged:
    """The engine reloaded my call history (newest first) and recounted my missed calls."""

    calls: tuple[Call, ...]
    missed_count: int


@dataclass(frozen=True, slots=True)
class OutputsChanged:
    """Where the current call's audio can go changed (empty outside a call)."""

    outputs: tuple[AudioOutput, ...]


@dataclass(frozen=True, slots=True)
class EngineFailed:
    """Something went wrong outside any one call; ``session_expired``: sign in again."""

    message: str
    session_expired: bool = False


@dataclass(frozen=True, slots=True)
class SessionRenewed:
    """The engine renewed the access token: remember this one for the next resume."""

    access_token: str = field(repr=False)


EngineUpdate = (
    CallChanged
    | PresenceChanged
    | ConnectionChanged
    | HistoryChanged
    | OutputsChanged
    | EngineFailed
    | SessionRenewed
)
EngineListener = Callable[[EngineUpdate], None]


@dataclass(frozen=True, slots=True)
class AudioDevice:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class AudioDevices:
    inputs: list[AudioDevice] = field(default_factory=list)
    outputs: list[AudioDevice] = field(default_factory=list)


class EnginePort(Protocol):
    """The call engine as the UI uses it. Failures raise :mod:`voip_app.errors` /
    :class:`voip_app.media.base.MediaError`, whose ``str()`` is fit to show a person."""

    def set_listener(self, listener: EngineListener | None) -> None: ...

    async def sign_in(self, server_url: str, email: str, password: str) -> tuple[User, str]:
        """Sign in and connect signaling; returns the user and the access token to remember
        (empty when the engine cannot resume sessions)."""
        ...

    async def resume(self, server_url: str, access_token: str) -> User:
        """Sign in again with a remembered token (raises ``Unauthorized`` when it expired)."""
        ...

    async def sign_out(self) -> None: ...

    async def contacts(self, query: str = "") -> list[Contact]: ...

    async def history(self) -> list[Call]: ...

    def mark_missed_seen(self) -> None:
        """The person looked at the history: the missed-call badge goes to zero."""

    async def dial(self, contact: Contact) -> None: ...

    async def accept(self) -> None: ...

    async def decline(self) -> None: ...

    async def cancel(self) -> None: ...

    async def hang_up(self) -> None: ...

    def dismiss(self) -> None:
        """Forget an ended call (back to idle)."""

    async def set_muted(self, muted: bool) -> None: ...

    async def audio_outputs(self) -> list[AudioOutput]:
        """Where the current call's audio can go (speaker, earpiece, headset...)."""
        ...

    async def select_audio_output(self, output_id: str) -> None: ...

    def audio_devices(self) -> AudioDevices:
        """The machine's sound devices for the settings screen (empty on Android)."""
        ...

    async def select_audio_devices(self, input_id: str | None, output_id: str | None) -> None: ...

    def versions(self) -> dict[str, str]:
        """Component versions for the about box."""
        ...


class Ringer(Protocol):
    """Rings (looping ringtone, and vibration where there is a motor) until stopped."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class SessionStore(Protocol):
    """Where the signed-in session is remembered between launches."""

    async def load(self) -> tuple[str, str, str] | None:
        """``(server_url, email, access_token)`` or ``None``."""
        ...

    async def save(self, server_url: str, email: str, access_token: str) -> None: ...

    async def clear(self) -> None: ...


Post = Callable[[Callable[[], None]], None]
"""Runs a function on the UI's loop, in the page's context (``page.run_task`` in the app)."""
Spawn = Callable[[Callable[[], Awaitable[None]]], None]
"""Starts a coroutine function on the UI's loop, in the page's context."""
