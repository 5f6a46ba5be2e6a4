"""The screens' models against fakes: no page, no server, no event loop beyond the test's own,
and a fake clock where time shows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from tests.ui.fakes import (
    ALICE,
    BOB,
    FakeEngine,
    FakePlatform,
    FakePlayer,
    FakeRinger,
    Loop,
    MemoryStore,
    make_call,
)
from voip_app.call import ActiveCall, IllegalTrigger, Phase
from voip_app.clock import FakeClock
from voip_app.errors import RequestRefused, ServerUnreachable, SignInThrottled, Unauthorized
from voip_app.platform import Permission, PermissionState
from voip_app.ui.models import AppModel, BannerAction
from voip_app.ui.models.text import (
    elapsed_text,
    format_duration,
    history_status_text,
    initials,
    level_fraction,
    level_text,
)
from voip_app.ui.ports import (
    CallChanged,
    ConnectionChanged,
    ContactPresenceChanged,
    EngineFailed,
    HistoryChanged,
    SessionRenewed,
)
from voip_app.ui.views.incall import tick
from voip_app.ui.views.shell import TABS, badge
from voip_contract import CallStatus, ErrorCode, Party, Reason, Recording, RecordingStatus


@pytest.fixture
def loop() -> Loop:
    return Loop()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def ringer() -> FakeRinger:
    return FakeRinger()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def model(
    engine: FakeEngine, platform: FakePlatform, loop: Loop, ringer: FakeRinger, store: MemoryStore
) -> AppModel:
    return AppModel(
        engine=engine,
        ringer=ringer,
        store=store,
        platform=platform,
        post=loop.post,
        spawn=loop.spawn,
    )


T = TypeVar("T")


def current(value: T) -> T:
    """Read a value mypy would otherwise keep narrowed from an earlier assert."""
    return value


def is_signed_in(model: AppModel) -> bool:
    """``model.signed_in`` without mypy narrowing it between two awaits."""
    return bool(model.signed_in)


async def signed_in(model: AppModel) -> AppModel:
    model.signin.server_url, model.signin.email, model.signin.password = (
        "http://127.0.0.1:9/",
        "alice@acme.test",
        "demo-password",
    )
    await model.signin.submit()
    assert is_signed_in(model)
    return model


BOB_PARTY = Party(id=BOB.id, display_name=BOB.display_name)


def incoming(call_id: str = "c1", phase: Phase = Phase.INCOMING, **kw: Any) -> CallChanged:
    return CallChanged(
        ActiveCall(id=call_id, peer=BOB_PARTY, direction="incoming", phase=phase, **kw)
    )


def outgoing(phase: Phase, call_id: str | None = "c2", **kw: Any) -> CallChanged:
    return CallChanged(
        ActiveCall(id=call_id, peer=BOB_PARTY, direction="outgoing", phase=phase, **kw)
    )


# --- pure helpers ------------------------------------------------------------------------------


def test_formatting() -> None:
    assert format_duration(None) == ""
    assert format_duration(5.9) == "0:05"
    assert format_duration(65) == "1:05"
    assert format_duration(3725) == "1:02:05"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert elapsed_text(None, start) == "0:00"
    assert elapsed_text(start, start + timedelta(seconds=83)) == "1:23"
    assert initials("Bob Brown") == "BB"
    assert initials("") == "?"


@pytest.mark.parametrize(
    ("direction", "status", "reason", "text"),
    [
        ("outgoing", "COMPLETED", "hangup", "Outgoing"),
        ("incoming", "COMPLETED", "hangup", "Incoming"),
        ("incoming", "MISSED", "ring_timeout", "Missed"),
        ("outgoing", "MISSED", "ring_timeout", "No answer"),
        ("outgoing", "MISSED", "callee_offline", "Not reached (offline)"),
        ("outgoing", "DECLINED", "declined", "Declined"),
        ("outgoing", "CANCELED", "canceled", "Cancelled"),
        ("incoming", "CANCELED", "canceled", "Missed (cancelled)"),
        ("outgoing", "BUSY", "callee_busy", "Busy"),
    ],
)
def test_history_status_text(direction: str, status: str, reason: str, text: str) -> None:
    call = make_call("c", direction=direction, status=status, reason=reason)
    assert history_status_text(call) == text


# --- sign in -----------------------------------------------------------------------------------


async def test_sign_in_loads_contacts_and_history_and_remembers(
    model: AppModel, engine: FakeEngine, store: MemoryStore
) -> None:
    engine.history_result = [make_call("h1")]
    await signed_in(model)
    assert engine.called("sign_in") == [("http://127.0.0.1:9", "alice@acme.test", "demo-password")]
    assert [r.email for r in model.contacts.rows] == ["bob@acme.test", "carol@acme.test"]
    assert [r.id for r in model.history.rows] == ["h1"]
    assert model.history.rows[0].duration_text == "1:05"
    assert store.saved == ("http://127.0.0.1:9", "alice@acme.test", "token-1")
    assert model.signin.password == ""
    assert not model.banner.visible


async def test_wrong_password_shows_error_and_stays_on_sign_in(
    model: AppModel, engine: FakeEngine, store: MemoryStore
) -> None:
    engine.fail["sign_in"] = Unauthorized("bad credentials")
    model.signin.server_url, model.signin.email, model.signin.password = "http://x", "a@b.c", "no"
    await model.signin.submit()
    assert not is_signed_in(model)
    assert "Wrong email or password" in model.banner.message
    assert model.signin.busy is False
    assert current(store.saved) is None


async def test_a_form_with_a_field_left_empty_says_so_and_asks_nothing(
    model: AppModel, engine: FakeEngine
) -> None:
    model.signin.server_url, model.signin.email, model.signin.password = "http://x", "a@b.c", ""
    await model.signin.submit()
    assert model.banner.message == "Enter the server address, your email and your password."
    assert engine.called("sign_in") == []
    assert not is_signed_in(model)


async def test_a_second_press_while_signing_in_asks_nothing_more(
    model: AppModel, engine: FakeEngine
) -> None:
    model.signin.server_url, model.signin.email, model.signin.password = "http://x", "a@b.c", "pw"
    model.signin.busy = True  # (the first press is on its way)
    await model.signin.submit()
    assert engine.called("sign_in") == []
    assert not model.banner.visible


async def test_server_down_offers_retry_which_signs_in(model: AppModel, engine: FakeEngine) -> None:
    engine.fail["sign_in"] = ServerUnreachable("http://127.0.0.1:9", "connection refused")
    model.signin.server_url, model.signin.email, model.signin.password = (
        "http://127.0.0.1:9",
        "alice@acme.test",
        "pw",
    )
    await model.signin.submit()
    assert "Cannot reach the call server" in model.banner.message
    assert model.banner.action is BannerAction.RETRY_SIGN_IN
    assert model.banner.action_label == "Try again"
    del engine.fail["sign_in"]
    await model.banner_action()
    assert is_signed_in(model)


async def submit(model: AppModel, password: str) -> None:
    """Fill in the sign-in form as Alice and send it."""
    model.signin.server_url, model.signin.email = "http://s", "alice@acme.test"
    model.signin.password = password
    await model.signin.submit()


async def test_too_many_failed_sign_ins_say_when_to_try_again(
    model: AppModel, engine: FakeEngine
) -> None:
    engine.fail["sign_in"] = SignInThrottled("too many failed sign-ins; try again in 15 minutes")
    await submit(model, "guess")
    assert not is_signed_in(model)
    assert model.signin.error == "Too many failed sign-ins; try again in 15 minutes."
    assert model.banner.message == model.signin.error


async def test_a_server_failing_at_sign_in_offers_to_retry(
    model: AppModel, engine: FakeEngine
) -> None:
    engine.fail["sign_in"] = RequestRefused(ErrorCode.UNAVAILABLE, "internal error")
    await submit(model, "demo-password")
    assert "could not sign you in" in model.signin.error
    assert model.banner.action is BannerAction.RETRY_SIGN_IN


async def test_incomplete_form_is_not_sent(model: AppModel, engine: FakeEngine) -> None:
    model.signin.email = "alice@acme.test"
    await model.signin.submit()
    assert engine.called("sign_in") == []
    assert model.signin.error


async def test_remembered_session_resumes_and_expired_one_is_forgotten(
    model: AppModel, engine: FakeEngine, store: MemoryStore
) -> None:
    store.saved = ("http://s", "alice@acme.test", "tok")
    await model.start()
    assert is_signed_in(model)
    assert engine.called("resume") == [("http://s", "tok")]
    assert model.starting is False

    await model.sign_out()
    assert not is_signed_in(model)
    assert current(store.saved) is None
    store.saved = ("http://s", "alice@acme.test", "old")
    engine.fail["resume"] = Unauthorized()
    await model.start()
    assert not is_signed_in(model)
    assert current(store.saved) is None
    assert "Sign in again" in model.banner.message
    assert model.signin.email == "alice@acme.test"


# --- contacts and presence -----------------------------------------------------------------


async def test_search_and_live_presence(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    await model.contacts.search("car")
    assert [r.name for r in model.contacts.rows] == ["Carol Chen"]
    await model.contacts.search("")
    engine.emit(ContactPresenceChanged("u-carol", "online"))
    engine.emit(ContactPresenceChanged("u-nobody", "online"))
    assert {r.id: r.presence for r in model.contacts.rows} == {
        "u-bob": "online",
        "u-carol": "online",
    }


async def test_own_user_is_not_listed(model: AppModel, engine: FakeEngine) -> None:
    engine.contacts_result.append(
        BOB.model_copy(update={"id": ALICE.id, "display_name": "Alice Adams"})
    )
    await signed_in(model)
    assert ALICE.id not in [r.id for r in model.contacts.rows]


# --- outgoing ----------------------------------------------------------------------------------


async def test_outgoing_call_screens_follow_the_engine(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    await model.contacts.call(BOB.id)
    assert engine.called("dial") == [(BOB.id,)]
    assert model.call.screen == ""  # the engine says when it dials
    engine.emit(outgoing(Phase.DIALING, call_id=None))
    assert model.call.screen == "outgoing"
    assert model.call.status_text == "Calling…"
    engine.emit(outgoing(Phase.RINGING_OUT))
    assert model.call.status_text == "Ringing…"
    engine.emit(outgoing(Phase.CONNECTING))
    assert (model.call.screen, model.call.status_text) == ("outgoing", "Connecting…")
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    engine.emit(outgoing(Phase.ACTIVE, connected_at=answered, quality="good"))
    assert model.call.screen == "incall"
    assert model.call.quality_text == "Good connection"
    await model.call.toggle_mute()
    assert engine.called("set_muted") == [(True,)]
    engine.emit(outgoing(Phase.ACTIVE, connected_at=answered, muted=True))
    await model.call.toggle_mute()
    assert engine.called("set_muted")[-1] == (False,)
    engine.emit(outgoing(Phase.RECONNECTING, connected_at=answered))
    assert model.call.quality_text == "Reconnecting…"
    await model.call.hang_up()
    assert engine.called("hang_up") == [()]
    engine.emit(outgoing(Phase.ENDED, status=CallStatus.COMPLETED, reason=Reason.HANGUP))
    assert model.call.screen == ""
    assert not model.banner.visible


async def test_an_action_the_call_has_moved_past_changes_nothing(
    model: AppModel, engine: FakeEngine
) -> None:
    await signed_in(model)
    await model.contacts.call(BOB.id)
    engine.emit(outgoing(Phase.RINGING_OUT))
    await model.call.cancel()
    assert engine.called("cancel") == [()]
    # pressed again on a screen drawn before the call ended: the engine refuses, nothing shows
    engine.fail["cancel"] = IllegalTrigger(Phase.ENDED, "user_cancel")
    await model.call.cancel()
    assert not model.banner.visible
    assert engine.called("cancel") == [(), ()]


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (CallStatus.DECLINED, Reason.DECLINED, "declined"),
        (CallStatus.MISSED, Reason.RING_TIMEOUT, "did not answer"),
        (CallStatus.MISSED, Reason.CALLEE_OFFLINE, "offline"),
        (CallStatus.BUSY, Reason.CALLEE_BUSY, "on another call"),
        (CallStatus.FAILED, Reason.MEDIA_UNAVAILABLE, "media server"),
    ],
)
async def test_unsuccessful_outgoing_call_explains_and_offers_call_again(
    model: AppModel, engine: FakeEngine, loop: Loop, status: CallStatus, reason: Reason, words: str
) -> None:
    await signed_in(model)
    await model.contacts.call(BOB.id)
    engine.emit(outgoing(Phase.DIALING, call_id=None))
    engine.emit(outgoing(Phase.ENDED, status=status, reason=reason))
    assert words in model.banner.message
    assert model.banner.action is BannerAction.CALL_AGAIN
    await model.banner_action()
    assert engine.called("dial") == [(BOB.id,), (BOB.id,)]


async def test_media_unavailable_on_dial(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    engine.fail["dial"] = RequestRefused(ErrorCode.UNAVAILABLE, "livekit down")
    await model.contacts.call(BOB.id)
    assert model.call.screen == ""
    assert "unavailable" in model.banner.message
    assert model.banner.action is BannerAction.CALL_AGAIN


# --- incoming ----------------------------------------------------------------------------------


async def test_incoming_rings_until_accepted(
    model: AppModel, engine: FakeEngine, ringer: FakeRinger
) -> None:
    await signed_in(model)
    engine.emit(incoming())
    engine.emit(incoming())  # sent again after a reconnect: still one ring
    assert model.call.screen == "incoming"
    assert current(ringer.ringing)
    assert ringer.starts == 1
    await model.call.accept()
    assert engine.called("accept") == [()]
    engine.emit(incoming(phase=Phase.CONNECTING))
    assert not current(ringer.ringing)
    assert model.call.screen == "incall"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(CallStatus.CANCELED, Reason.CANCELED), (CallStatus.MISSED, Reason.RING_TIMEOUT)],
)
async def test_incoming_that_ends_unanswered_stops_ringing_and_counts_as_missed(
    model: AppModel, engine: FakeEngine, status: CallStatus, reason: Reason, ringer: FakeRinger
) -> None:
    await signed_in(model)
    engine.emit(incoming())
    engine.emit(incoming(phase=Phase.ENDED, status=status, reason=reason))
    assert not current(ringer.ringing)
    assert model.call.screen == ""
    assert not model.banner.visible
    engine.emit(HistoryChanged((make_call("c1", direction="incoming", status=status.value),), 1))
    assert model.contacts.missed_count == 1
    await model.history.opened()
    assert model.contacts.missed_count == 0
    assert engine.called("mark_missed_seen") == [()]


async def test_incoming_call_that_fails_to_connect_is_explained(
    model: AppModel, engine: FakeEngine
) -> None:
    await signed_in(model)
    engine.emit(incoming())
    engine.emit(
        incoming(phase=Phase.ENDED, status=CallStatus.FAILED, reason=Reason.MEDIA_UNAVAILABLE)
    )
    assert "media server is unavailable" in model.banner.message
    assert model.banner.action is BannerAction.NONE


async def test_answered_elsewhere_stops_ringing_without_missed_badge(
    model: AppModel, engine: FakeEngine, ringer: FakeRinger
) -> None:
    await signed_in(model)
    engine.emit(incoming())
    engine.emit(incoming(phase=Phase.ENDED, status=None, reason=None))
    assert not current(ringer.ringing)
    assert model.contacts.missed_count == 0


async def test_decline(model: AppModel, engine: FakeEngine, ringer: FakeRinger) -> None:
    await signed_in(model)
    engine.emit(incoming())
    await model.call.decline()
    assert engine.called("decline") == [()]
    engine.emit(incoming(phase=Phase.ENDED, status=CallStatus.DECLINED, reason=Reason.DECLINED))
    assert not current(ringer.ringing)


# --- microphone permission ---------------------------------------------------------------------


async def test_microphone_denied_then_allowed(
    model: AppModel, engine: FakeEngine, platform: FakePlatform
) -> None:
    await signed_in(model)
    platform.states[Permission.MICROPHONE] = PermissionState.DENIED
    platform.answer = PermissionState.DENIED
    await model.contacts.call(BOB.id)
    assert engine.called("dial") == []
    assert model.banner.action is BannerAction.ALLOW_MICROPHONE
    platform.answer = PermissionState.GRANTED
    await model.banner_action()
    await model.contacts.call(BOB.id)
    assert engine.called("dial") == [(BOB.id,)]


async def test_microphone_blocked_offers_settings(
    model: AppModel, engine: FakeEngine, platform: FakePlatform, ringer: FakeRinger
) -> None:
    await signed_in(model)
    engine.emit(incoming())
    platform.states[Permission.MICROPHONE] = PermissionState.BLOCKED
    await model.call.accept()
    assert engine.called("accept") == []
    assert model.banner.action is BannerAction.OPEN_SETTINGS
    assert current(ringer.ringing)  # still ringing: the person can fix it and answer
    await model.banner_action()
    assert platform.settings_opened == 1


# --- history, settings, connection -------------------------------------------------------------


async def test_history_call_back(model: AppModel, engine: FakeEngine, loop: Loop) -> None:
    engine.history_result = [make_call("h1", direction="incoming", status="MISSED")]
    await signed_in(model)
    assert model.history.rows[0].missed
    await model.history.call_back("h1")
    assert engine.called("dial") == [(BOB.id,)]
    engine.emit(HistoryChanged((make_call("h2"),), missed_count=0))
    assert [r.id for r in model.history.rows] == ["h2"]


async def test_settings_devices_and_versions(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    assert model.settings.inputs == [("mic0", "Built-in mic")]
    assert model.settings.versions["app"] == "0.1.0"
    await model.settings.select_output_device("spk0")
    await model.settings.select_input_device("mic0")
    assert engine.called("select_audio_devices") == [(None, "spk0"), ("mic0", "spk0")]
    await model.call.load_outputs()
    assert [o.kind for o in model.call.outputs] == ["speaker", "earpiece"]


async def test_connection_lost_and_back(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    engine.emit(ConnectionChanged(False))
    assert not current(model.connected)
    assert "Reconnecting" in model.banner.message
    engine.emit(ConnectionChanged(True))
    assert current(model.connected)
    assert not model.banner.visible


async def test_expired_session_during_use_signs_out(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    engine.fail["contacts"] = Unauthorized()
    await model.contacts.search("b")
    assert not is_signed_in(model)
    assert "Sign in again" in model.banner.message


async def test_a_renewed_token_is_remembered_for_the_next_start(
    model: AppModel, engine: FakeEngine, store: MemoryStore, loop: Loop
) -> None:
    await signed_in(model)
    engine.emit(SessionRenewed("tok-renewed"))
    await loop.drain()
    assert store.saved == ("http://127.0.0.1:9", "alice@acme.test", "tok-renewed")


async def test_a_session_that_expires_in_a_call_signs_out_when_the_call_ends(
    model: AppModel, engine: FakeEngine, loop: Loop
) -> None:
    await signed_in(model)
    engine.emit(incoming(phase=Phase.ACTIVE))
    engine.emit(EngineFailed("Your session expired; sign in again.", session_expired=True))
    await loop.drain()
    assert is_signed_in(model)  # the call goes on
    assert engine.called("sign_out") == []
    assert "sign in again" in model.banner.message
    engine.emit(incoming(phase=Phase.ENDED, status=CallStatus.COMPLETED, reason=Reason.HANGUP))
    await loop.drain()
    assert not is_signed_in(model)
    assert engine.called("sign_out") == [()]
    assert "sign in again" in model.banner.message


def test_typing_is_kept_without_notifying(model: AppModel) -> None:
    seen: list[str | None] = []

    def listener(_sender: object, name: str | None) -> None:
        seen.append(name)

    observable: Any = model.signin  # @ft.observable adds subscribe() at runtime
    observable.subscribe(listener)
    model.signin.type("email", "a@b.c")
    assert model.signin.email == "a@b.c"
    assert seen == []
    model.signin.busy = True
    assert seen == ["busy"]
    with pytest.raises(ValueError, match="no text field"):
        model.signin.type("busy", "x")


# --- the ringer, the timer, the route --------------------------------------------------------


async def test_the_ringer_rings_exactly_while_a_call_is_incoming(
    model: AppModel, engine: FakeEngine, ringer: FakeRinger
) -> None:
    await signed_in(model)
    heard = []
    for phase in (Phase.INCOMING, Phase.INCOMING, Phase.CONNECTING, Phase.ACTIVE, Phase.ENDED):
        engine.emit(incoming(phase=phase))
        heard.append(ringer.ringing)
    assert heard == [True, True, False, False, False]
    engine.emit(incoming("c2"))  # the next call rings again
    assert current(ringer.ringing)
    await model.sign_out()
    assert not current(ringer.ringing)
    assert ringer.starts == 2


async def test_the_call_timer_ticks_on_the_clock_it_is_given() -> None:
    clock = FakeClock()
    answered = clock.now()
    shown: list[str] = []
    ticking = asyncio.create_task(
        tick(clock, lambda now: shown.append(elapsed_text(answered, now)), ticks=3)
    )
    for _ in range(3):
        await clock.until_sleeping(1)
        clock.advance(1)
    await ticking
    assert shown == ["0:01", "0:02", "0:03"]


def test_the_history_tab_shows_the_missed_calls_unless_it_is_open(
    model: AppModel,
) -> None:
    history_tab = next(t for t in TABS if t.name == "history")
    contacts_tab = next(t for t in TABS if t.name == "contacts")
    model.contacts.missed_count = 2
    assert badge(history_tab, "/", model.contacts) == 2
    assert badge(history_tab, "/settings", model.contacts) == 2
    assert badge(history_tab, "/history", model.contacts) == 0
    assert badge(contacts_tab, "/", model.contacts) == 0


async def test_leaving_the_history_counts_its_missed_calls_as_seen(
    model: AppModel, engine: FakeEngine
) -> None:
    await signed_in(model)
    engine.emit(HistoryChanged((make_call("m1", direction="incoming", status="MISSED"),), 1))
    assert model.contacts.missed_count == 1
    model.history.seen()
    assert model.contacts.missed_count == 0
    assert engine.called("mark_missed_seen") == [()]


@pytest.mark.parametrize(
    ("microphone", "speaker", "starts"),
    [
        (True, True, None),
        (False, True, "No microphone: the other person cannot hear you."),
        (True, False, "No speaker: you cannot hear the other person."),
        (False, False, "No microphone and no speaker"),
    ],
)
async def test_a_missing_device_is_named_with_the_way_forward_and_the_call_stays(
    model: AppModel, engine: FakeEngine, microphone: bool, speaker: bool, starts: str | None
) -> None:
    await signed_in(model)
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    engine.emit(
        outgoing(
            Phase.ACTIVE, connected_at=answered, has_microphone=microphone, has_speaker=speaker
        )
    )
    assert model.call.screen == "incall"
    text = model.call.devices_text
    if starts is None:
        assert text == ""
    else:
        assert text.startswith(starts)
        assert "Plug one in" in text
        assert "Settings" in text
    assert engine.called("hang_up") == []


@pytest.mark.parametrize(
    ("level", "text"),
    [(0.0, "silent"), (0.0005, "silent"), (0.01, "-40 dB"), (0.125, "-18 dB"), (1.0, "0 dB")],
)
def test_a_meter_reads_silent_below_minus_60_db_and_the_level_above(
    level: float, text: str
) -> None:
    assert level_text(level) == text
    assert 0.0 <= level_fraction(level) <= 1.0


async def test_settings_microphone_test_and_test_sound(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    assert model.settings.mic_level() == 0.0
    await model.settings.select_input_device("mic0")
    await model.settings.toggle_mic_test()
    assert engine.called("start_mic_test") == [("mic0",)]
    assert model.settings.mic_testing
    assert model.settings.mic_level() == 0.25
    await model.settings.toggle_mic_test()
    assert engine.called("stop_mic_test") == [()]
    assert model.settings.mic_level() == 0.0
    await model.settings.stop_mic_test()  # leaving Settings with no test running: nothing to do
    assert engine.called("stop_mic_test") == [()]
    await model.settings.play_test_sound()
    assert engine.called("play_test_sound") == [(None,)]
    assert not model.settings.playing_test_sound


async def test_in_call_meters_read_the_engines_levels(model: AppModel, engine: FakeEngine) -> None:
    await signed_in(model)
    engine.levels = (0.1, 0.02)
    assert (model.call.local_level(), model.call.remote_level()) == (0.1, 0.02)


async def test_a_recorded_call_plays_from_its_history_row(
    engine: FakeEngine, platform: FakePlatform, loop: Loop, ringer: FakeRinger, store: MemoryStore
) -> None:
    player = FakePlayer()
    model = AppModel(
        engine=engine,
        ringer=ringer,
        store=store,
        platform=platform,
        post=loop.post,
        spawn=loop.spawn,
        player=player,
    )
    recorded = make_call("h1").model_copy(
        update={"recording": Recording(id="r1", status="complete", duration_s=64.0)}
    )
    running = make_call("h2").model_copy(update={"recording": Recording(id="r2", status="active")})
    engine.history_result = [recorded, running, make_call("h3")]
    await signed_in(model)
    assert [r.recording_id for r in model.history.rows] == ["r1", None, None]
    await model.history.play("h2")  # not complete: nothing to play
    assert engine.called("recording_url") == []
    await model.history.play("h1")
    assert engine.called("recording_url") == [("r1",)]
    assert player.played == ["http://calls.test/api/recordings/r1/play?sig=x"]
    assert model.history.playing == "h1"
    engine.fail["recording_url"] = RequestRefused(ErrorCode.NOT_FOUND, "no such recording")
    await model.history.play("h1")
    assert len(player.played) == 1
    assert model.banner.visible


def test_the_call_tells_whether_it_is_recorded() -> None:
    ringing = ActiveCall(id="c1", peer=BOB_PARTY, direction="incoming", phase=Phase.INCOMING)
    assert not ringing.recorded
    assert not ringing.recording_now
    statuses: list[tuple[RecordingStatus, bool]] = [
        ("starting", True),
        ("active", True),
        ("complete", False),
        ("failed", False),
    ]
    for status, now in statuses:
        assert (
            ActiveCall(
                id="c1", peer=BOB_PARTY, direction="incoming", phase=Phase.ACTIVE, recording=status
            ).recording_now
            is now
        )


async def test_a_call_that_took_place_offers_its_note_and_others_do_not(
    model: AppModel, engine: FakeEngine, loop: Loop
) -> None:
    await signed_in(model)
    engine.emit(outgoing(Phase.ENDED, status=CallStatus.MISSED, reason=Reason.RING_TIMEOUT))
    engine.emit(outgoing(Phase.ENDED, status=CallStatus.DECLINED, reason=Reason.DECLINED))
    await loop.drain()
    unanswered_noting = model.history.noting  # (read apart: mypy narrows an asserted attribute)
    assert unanswered_noting is None
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    engine.emit(outgoing(Phase.ACTIVE, connected_at=answered))
    engine.emit(outgoing(Phase.ENDED, status=CallStatus.COMPLETED, reason=Reason.HANGUP))
    await loop.drain()
    answered_noting = model.history.noting
    assert answered_noting == "c2"
    assert model.history.note_outcomes == ["connected", "no_answer"]
    model.history.cancel_note()  # skippable: nothing is sent
    assert model.history.noting is None
    assert engine.called("note_call") == []


async def test_opening_settings_reads_the_devices_again(
    model: AppModel, engine: FakeEngine
) -> None:
    await signed_in(model)
    assert model.settings.outputs == [("spk0", "Speakers")]
    engine.extra_outputs = [("usb1", "USB headset")]
    await model.settings.refresh_devices()
    assert model.settings.outputs == [("spk0", "Speakers"), ("usb1", "USB headset")]
