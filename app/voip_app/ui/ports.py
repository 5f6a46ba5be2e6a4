"""What the models need from the rest of the app, as small protocols.

The models never talk to sockets, HTTP or audio devices: they call an :class:`EnginePort`
(the call engine, bound in :mod:`voip_app.ui.binding`), a :class:`Ringer` (ringtone plus
vibration, :mod:`voip_app.ui.ringer`), a :class:`SessionStore` (the remembered sign-in) and a
:class:`voip_app.platform.Platform` (runtime permissions). Unit tests hand them fakes
(``tests/ui/fakes.py``); ``app/main.py`` hands them the real ones.

Engine news reaches the models as :data:`EngineUpdate` values through one listener.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from voip_app.call.model import ActiveCall
from voip_app.media.base import AudioOutput
from voip_contract import Call, Contact, Presence, User
from voip_contract.admin import (
    AdminUser,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)


@dataclass(frozen=True, slots=True)
class CallChanged:
    """The call on this device changed (``None``: no call any more)."""

    call: ActiveCall | None


@dataclass(frozen=True, slots=True)
class ContactPresenceChanged:
    """A contact's presence changed (online, busy, offline)."""

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
    | ContactPresenceChanged
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
    :class:`voip_app.media.base.MediaError`, whose ``str()`` is fit to show a person; a call
    action that makes no sense any more (the call moved on since the screen was drawn) raises
    :class:`voip_app.call.machine.IllegalTrigger`."""

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

    def watch_visible(self, user_ids: list[str]) -> None:
        """These contacts are on screen (with a margin): keep their presence live."""
        ...

    async def history(self) -> list[Call]: ...

    async def note_call(self, call_id: str, outcome: str | None, text: str | None) -> Call:
        """My outcome and note on a finished call of mine; the call with it."""
        ...

    async def outcomes(self) -> list[str]:
        """The outcomes my tenant offers for a call's note."""
        ...

    async def webhooks(self) -> tuple[list[WebhookEndpointOut], list[WebhookDeliveryOut]]:
        """My tenant's webhook endpoints and its latest deliveries."""
        ...

    async def add_webhook(self, url: str) -> WebhookEndpointCreated:
        """A new endpoint for every call event (its secret is shown this once)."""
        ...

    async def resend(self, delivery_id: int) -> None:
        """Send a delivery's event once more."""
        ...

    async def change_webhook(self, endpoint_id: str, change: str) -> None:
        """``enable``, ``disable`` or ``delete`` an endpoint."""
        ...

    async def admin_users(self) -> list[AdminUser]:
        """My tenant's users (I am its admin)."""
        ...

    async def admin_change(self, user_id: str, change: str) -> AdminUser:
        """``disable``, ``enable``, ``admin`` or ``member`` one of them; it as it is now."""
        ...

    async def admin_add(self, email: str, display_name: str) -> AdminUser:
        """A new member of my tenant."""
        ...

    def mark_missed_seen(self) -> None:
        """The person looked at the history: the missed-call badge goes to zero."""

    async def recording_url(self, recording_id: str) -> str:
        """A short-lived URL that plays this recording of my call (for a URL-only player)."""
        ...

    async def dial(self, contact: Contact) -> None: ...

    async def accept(self) -> None: ...

    async def decline(self) -> None: ...

    async def cancel(self) -> None: ...

    async def hang_up(self) -> None: ...

    async def set_muted(self, muted: bool) -> None: ...

    async def audio_outputs(self) -> list[AudioOutput]:
        """Where the current call's audio can go (speaker, earpiece, headset...)."""
        ...

    async def select_audio_output(self, output_id: str) -> None: ...

    def audio_devices(self) -> AudioDevices:
        """The machine's sound devices for the settings screen (empty on Android)."""
        ...

    async def select_audio_devices(self, input_id: str | None, output_id: str | None) -> None: ...

    def audio_levels(self) -> tuple[float, float]:
        """The call's (sent, heard) levels, 0..1 (sent is 0 while muted); zeros without one."""
        ...

    async def start_mic_test(self, input_id: str | None) -> None:
        """Open the microphone (``None``: the default) and measure it until stopped."""
        ...

    def mic_test_level(self) -> float:
        """The microphone test's level now, 0..1 (0 when not running)."""
        ...

    async def stop_mic_test(self) -> None: ...

    async def play_test_sound(self, output_id: str | None) -> None:
        """Play a short tone on the speaker (``None``: the default); returns when done."""
        ...

    def versions(self) -> dict[str, str]:
        """Component versions for the about box."""
        ...


class Ringer(Protocol):
    """Rings (looping ringtone, and vibration where there is a motor) while told to."""

    def set_ringing(self, ringing: bool) -> None:
        """Ring from now on, or stop; telling it what it already does changes nothing."""
        ...


class Player(Protocol):
    """Plays a call recording from a URL (flet-audio in the app)."""

    def play(self, url: str) -> None:
        """Play ``url`` from its start, instead of whatever played before."""
        ...


class NoPlayer:
    """Nothing plays (a page without audio)."""

    def play(self, url: str) -> None:
        return None


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
