"""Fakes for the models' tests: an engine, a ringer, a session store and a platform.

The fake engine records every call and lets the test push engine updates; it holds no logic
beyond what the models rely on (it is a stand-in for the engine's boundary, not a model of
the call flow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from voip_app.media.base import AudioOutput
from voip_app.platform import Permission, PermissionState
from voip_app.ui.models import AppModel
from voip_app.ui.ports import AudioDevice, AudioDevices, EngineListener, EngineUpdate
from voip_contract import Call, Contact, Party, User
from voip_contract.admin import (
    AdminUser,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
)

ALICE = User(id="u-alice", tenant_id="t-acme", email="alice@acme.test", display_name="Alice Adams")
BOB = Contact(id="u-bob", display_name="Bob Brown", email="bob@acme.test", presence="online")
CAROL = Contact(
    id="u-carol", display_name="Carol Chen", email="carol@acme.test", presence="offline"
)


def make_call(
    call_id: str,
    *,
    direction: str = "outgoing",
    status: str = "COMPLETED",
    reason: str | None = "hangup",
    duration_s: float | None = 65.0,
) -> Call:
    me, peer = (
        Party(id=ALICE.id, display_name=ALICE.display_name),
        Party(id=BOB.id, display_name=BOB.display_name),
    )
    caller, callee = (me, peer) if direction == "outgoing" else (peer, me)
    return Call.model_validate(
        {
            "id": call_id,
            "caller": caller.model_dump(),
            "callee": callee.model_dump(),
            "direction": direction,
            "status": status,
            "reason": reason,
            "created_at": datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
            "duration_s": duration_s,
        }
    )


@dataclass
class FakeEngine:
    """Records what the models ask; raises what the test tells it to."""

    contacts_result: list[Contact] = field(default_factory=lambda: [BOB, CAROL])
    history_result: list[Call] = field(default_factory=list)
    admin_result: list[AdminUser] = field(default_factory=list)
    webhook_result: list[WebhookEndpointOut] = field(default_factory=list)
    delivery_result: list[WebhookDeliveryOut] = field(default_factory=list)
    fail: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    listener: EngineListener | None = None
    levels: tuple[float, float] = (0.0, 0.0)
    mic_level: float = 0.0
    extra_outputs: list[tuple[str, str]] = field(default_factory=list)

    def set_listener(self, listener: EngineListener | None) -> None:
        self.listener = listener

    def emit(self, update: EngineUpdate) -> None:
        assert self.listener is not None
        self.listener(update)

    def _record(self, name: str, *args: object) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def called(self, name: str) -> list[tuple[object, ...]]:
        return [args for n, args in self.calls if n == name]

    async def sign_in(self, server_url: str, email: str, password: str) -> tuple[User, str]:
        self._record("sign_in", server_url, email, password)
        return ALICE, "token-1"

    async def resume(self, server_url: str, access_token: str) -> User:
        self._record("resume", server_url, access_token)
        return ALICE

    async def sign_out(self) -> None:
        self._record("sign_out")

    async def contacts(self, query: str = "") -> list[Contact]:
        self._record("contacts", query)
        return [c for c in self.contacts_result if query.lower() in c.display_name.lower()]

    def watch_visible(self, user_ids: list[str]) -> None:
        self._record("watch_visible", list(user_ids))

    async def history(self) -> list[Call]:
        self._record("history")
        return list(self.history_result)

    async def recording_url(self, recording_id: str) -> str:
        self._record("recording_url", recording_id)
        return f"http://calls.test/api/recordings/{recording_id}/play?sig=x"

    async def note_call(self, call_id: str, outcome: str | None, text: str | None) -> Call:
        self._record("note_call", call_id, outcome, text)
        found = next(c for c in self.history_result if c.id == call_id)
        note = {"outcome": outcome, "text": text, "by": ALICE.id, "at": found.created_at}
        noted = Call.model_validate({**found.model_dump(), "note": note})
        self.history_result = [noted if c.id == call_id else c for c in self.history_result]
        return noted

    async def outcomes(self) -> list[str]:
        self._record("outcomes")
        return ["connected", "no_answer"]

    async def webhooks(self) -> tuple[list[WebhookEndpointOut], list[WebhookDeliveryOut]]:
        self._record("webhooks")
        return list(self.webhook_result), list(self.delivery_result)

    async def add_webhook(self, url: str) -> WebhookEndpointCreated:
        self._record("add_webhook", url)
        at = datetime(2026, 11, 24, tzinfo=UTC)
        made = WebhookEndpointCreated(
            id="e1",
            url=url,
            event_types=["call.ended"],
            enabled=True,
            created_at=at,
            secret="whsec_x",
        )
        self.webhook_result.append(made)
        return made

    async def resend(self, delivery_id: int) -> None:
        self._record("resend", delivery_id)

    async def change_webhook(self, endpoint_id: str, change: str) -> None:
        self._record("change_webhook", endpoint_id, change)
        if change == "delete":
            self.webhook_result = [e for e in self.webhook_result if e.id != endpoint_id]
            return
        self.webhook_result = [
            e.model_copy(update={"enabled": change == "enable"}) if e.id == endpoint_id else e
            for e in self.webhook_result
        ]

    async def admin_users(self) -> list[AdminUser]:
        self._record("admin_users")
        return list(self.admin_result)

    async def admin_change(self, user_id: str, change: str) -> AdminUser:
        self._record("admin_change", user_id, change)
        user = next(u for u in self.admin_result if u.id == user_id)
        if change in ("disable", "enable"):
            changed = user.model_copy(update={"disabled": change == "disable"})
        else:
            changed = user.model_copy(update={"role": change})
        self.admin_result = [changed if u.id == user_id else u for u in self.admin_result]
        return changed

    async def admin_add(self, email: str, display_name: str) -> AdminUser:
        self._record("admin_add", email, display_name)
        added = AdminUser(
            id="new",
            email=email,
            display_name=display_name,
            role="member",
            disabled=False,
            created_at=datetime(2026, 11, 24, tzinfo=UTC),
        )
        self.admin_result.append(added)
        return added

    async def dial(self, contact: Contact) -> None:
        self._record("dial", contact.id)

    async def accept(self) -> None:
        self._record("accept")

    async def decline(self) -> None:
        self._record("decline")

    async def cancel(self) -> None:
        self._record("cancel")

    async def hang_up(self) -> None:
        self._record("hang_up")

    def mark_missed_seen(self) -> None:
        self._record("mark_missed_seen")

    async def set_muted(self, muted: bool) -> None:
        self._record("set_muted", muted)

    async def audio_outputs(self) -> list[AudioOutput]:
        self._record("audio_outputs")
        return [AudioOutput("spk", "Speaker", "speaker"), AudioOutput("ear", "Phone", "earpiece")]

    async def select_audio_output(self, output_id: str) -> None:
        self._record("select_audio_output", output_id)

    def audio_devices(self) -> AudioDevices:
        outputs = [AudioDevice("spk0", "Speakers")]
        outputs += [AudioDevice(device_id, name) for device_id, name in self.extra_outputs]
        return AudioDevices([AudioDevice("mic0", "Built-in mic")], outputs)

    async def select_audio_devices(self, input_id: str | None, output_id: str | None) -> None:
        self._record("select_audio_devices", input_id, output_id)

    def audio_levels(self) -> tuple[float, float]:
        return self.levels

    async def start_mic_test(self, input_id: str | None) -> None:
        self._record("start_mic_test", input_id)
        self.mic_level = 0.25

    def mic_test_level(self) -> float:
        return self.mic_level

    async def stop_mic_test(self) -> None:
        self._record("stop_mic_test")
        self.mic_level = 0.0

    async def play_test_sound(self, output_id: str | None) -> None:
        self._record("play_test_sound", output_id)

    def versions(self) -> dict[str, str]:
        return {"app": "0.1.0"}


@dataclass
class FakePlayer:
    played: list[str] = field(default_factory=list)

    def play(self, url: str) -> None:
        self.played.append(url)


@dataclass
class FakeRinger:
    ringing: bool = False
    starts: int = 0

    def set_ringing(self, ringing: bool) -> None:
        if ringing and not self.ringing:
            self.starts += 1
        self.ringing = ringing


@dataclass
class MemoryStore:
    saved: tuple[str, str, str] | None = None

    async def load(self) -> tuple[str, str, str] | None:
        return self.saved

    async def save(self, server_url: str, email: str, access_token: str) -> None:
        self.saved = (server_url, email, access_token)

    async def clear(self) -> None:
        self.saved = None


@dataclass
class FakePlatform:
    name: str = "fake"
    states: dict[Permission, PermissionState] = field(default_factory=dict)
    answer: PermissionState = PermissionState.GRANTED
    requests: list[Permission] = field(default_factory=list)
    settings_opened: int = 0
    full_screen: bool = True
    full_screen_settings_opened: int = 0

    def permission_state(self, permission: Permission) -> PermissionState:
        return self.states.get(permission, PermissionState.GRANTED)

    async def request_permission(self, permission: Permission) -> PermissionState:
        self.requests.append(permission)
        if self.states.get(permission, PermissionState.GRANTED) is PermissionState.DENIED:
            self.states[permission] = self.answer
        return self.permission_state(permission)

    def open_app_settings(self) -> None:
        self.settings_opened += 1

    def start_ring_vibration(self) -> None:
        return None

    def stop_vibration(self) -> None:
        return None

    def can_ring_full_screen(self) -> bool:
        return self.full_screen

    def open_full_screen_settings(self) -> None:
        self.full_screen_settings_opened += 1


@dataclass
class Loop:
    """The models' ``post``/``spawn``: runs posted functions at once, queues coroutines."""

    queued: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def post(self, fn: Callable[[], None]) -> None:
        fn()

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.queued.append(fn)

    async def drain(self) -> None:
        for _ in range(20):
            if not self.queued:
                return
            await self.queued.pop(0)()
        raise AssertionError("spawned work keeps spawning")


def model_on_fakes(engine: FakeEngine | None = None) -> tuple[FakeEngine, AppModel]:
    """The app's model on the fake engine (``engine``, or a new one) and platform, its spawned
    work queued."""
    engine, loop = engine or FakeEngine(), Loop()
    model = AppModel(
        engine=engine,
        ringer=FakeRinger(),
        store=MemoryStore(),
        platform=FakePlatform(),
        post=loop.post,
        spawn=loop.spawn,
    )
    return engine, model
