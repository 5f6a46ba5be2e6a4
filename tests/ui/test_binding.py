"""The engine binding's translation of engine snapshots into model updates (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.ui.fakes import ALICE, BOB, CAROL, make_call
from voip_app.call import Phase
from voip_app.engine import SESSION_EXPIRED, ActiveCall, EngineSnapshot
from voip_app.media.base import AudioOutput
from voip_app.ui.binding import AudioMode, media_factory_for, snapshot_updates
from voip_app.ui.ports import (
    CallChanged,
    ConnectionChanged,
    ContactPresenceChanged,
    EngineFailed,
    HistoryChanged,
    OutputsChanged,
    SessionRenewed,
)
from voip_contract import Party

ONLINE = EngineSnapshot(connection="online", user=ALICE, contacts=(BOB, CAROL))


def test_nothing_changed_nothing_sent() -> None:
    assert snapshot_updates(ONLINE, replace(ONLINE)) == []


def test_presence_changes_only() -> None:
    new = replace(ONLINE, contacts=(BOB.model_copy(update={"presence": "busy"}), CAROL))
    assert snapshot_updates(ONLINE, new) == [ContactPresenceChanged(BOB.id, "busy")]


def test_the_call_is_passed_on_as_the_engine_has_it() -> None:
    answered = datetime(2026, 1, 1, tzinfo=UTC)
    call = ActiveCall(
        id="c1",
        peer=Party(id=BOB.id, display_name=BOB.display_name),
        direction="outgoing",
        phase=Phase.ACTIVE,
        muted=True,
        connected_at=answered,
        quality="good",
    )
    with_call = replace(ONLINE, call=call)
    assert snapshot_updates(ONLINE, with_call) == [CallChanged(call)]
    assert snapshot_updates(with_call, ONLINE) == [CallChanged(None)]


def test_connection_down_and_back() -> None:
    down = replace(ONLINE, connection="reconnecting")
    assert snapshot_updates(ONLINE, down) == [ConnectionChanged(False)]
    assert snapshot_updates(down, ONLINE) == [ConnectionChanged(True)]


def test_history_outputs_and_errors() -> None:
    calls = (make_call("h1"),)
    outputs = (AudioOutput("spk", "Speaker", "speaker"),)
    new = replace(ONLINE, history=calls, missed_count=2, outputs=outputs, error="boom")
    assert snapshot_updates(ONLINE, new) == [
        HistoryChanged(calls, 2),
        OutputsChanged(outputs),
        EngineFailed("boom"),
    ]
    expired = replace(ONLINE, error=SESSION_EXPIRED, session_expired=True)
    assert snapshot_updates(ONLINE, expired) == [
        EngineFailed(SESSION_EXPIRED, session_expired=True)
    ]


def test_a_renewed_token_is_passed_on_to_be_remembered() -> None:
    signed_in = replace(ONLINE, access_token="first")
    assert snapshot_updates(signed_in, replace(signed_in, access_token="second")) == [
        SessionRenewed("second")
    ]
    # signing in and out is not a renewal
    assert snapshot_updates(ONLINE, signed_in) == []
    assert snapshot_updates(signed_in, replace(signed_in, access_token=None)) == []


def test_call_error_is_not_repeated_as_engine_error() -> None:
    call = ActiveCall(
        id="c1",
        peer=Party(id=BOB.id, display_name=BOB.display_name),
        direction="outgoing",
        phase=Phase.ENDED,
        error="media down",
    )
    updates = snapshot_updates(ONLINE, replace(ONLINE, call=call, error="media down"))
    assert [type(u) for u in updates] == [CallChanged]


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (None, AudioMode()),
        ("devices", AudioMode()),
        ("tone", AudioMode("tone")),
        ("tone:880", AudioMode("tone", 880.0)),
    ],
)
def test_audio_mode(text: str | None, mode: AudioMode) -> None:
    assert AudioMode.parse(text) == mode


def test_audio_mode_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="VOIP_APP_AUDIO"):
        AudioMode.parse("speakers")
    assert media_factory_for(AudioMode()) is None
    assert media_factory_for(AudioMode("tone")) is not None
