"""``flet_livekit.CallPush`` and the app's :class:`AndroidPushSource` over it, against the fake
Dart side and phone (``fake_push.py``): what each method sends and makes of the answer, the
token's rotation and an Accept on the notification as typed events, and the engine's
``PushSource`` contract kept by the adapter."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flet_livekit import AcceptedCallEvent, CallPush, LiveKitError, PushTokenEvent

from tests.android.fake_dart import DartError, FakeFletClient
from tests.android.fake_push import FakeCallPushDart, FakePushPhone
from voip_app.push import PushSource
from voip_app.push.android import AndroidPushSource
from voip_app.ui.app import _answer_from_notification

SERVER = "https://calls.acme.test"


def phone(client: FakeFletClient) -> FakePushPhone:
    return client.process_state(FakePushPhone)


async def test_start_names_the_server_and_answers_the_token(client: FakeFletClient) -> None:
    push = client.build(CallPush)
    assert await push.start(SERVER + "/") == "fcm-token-1"
    assert [(c.name, c.args) for c in client.calls] == [("start", {"server_url": SERVER})]
    assert phone(client).server_url == SERVER
    await push.stop()
    assert phone(client).server_url is None


async def test_a_build_without_firebase_has_no_token(client: FakeFletClient) -> None:
    phone(client).firebase_configured = False
    assert await client.build(CallPush).start(SERVER) is None


@pytest.mark.parametrize("url", ["calls.acme.test", "ftp://x", "https://" + "a" * 2048])
async def test_a_bad_server_url_is_refused_before_anything_is_sent(
    client: FakeFletClient, url: str
) -> None:
    with pytest.raises(ValueError, match="server_url"):
        await client.build(CallPush).start(url)
    assert client.calls == []


async def test_the_accepted_call_is_taken_once(client: FakeFletClient) -> None:
    await phone(client).accept_on_notification("c1")  # before the app's service exists
    push = client.build(CallPush)
    assert await push.take_accepted_call() == "c1"
    assert await push.take_accepted_call() is None


async def test_rotations_and_accepts_while_running_arrive_as_typed_events(
    client: FakeFletClient,
) -> None:
    seen: list[object] = []
    push = client.build(
        lambda: CallPush(on_token_refreshed=seen.append, on_call_accepted=seen.append)
    )
    await push.start(SERVER)
    await phone(client).rotate("fcm-token-2")
    await phone(client).accept_on_notification("c2")
    token, accepted = seen
    assert isinstance(token, PushTokenEvent)
    assert (token.token, token.control) == ("fcm-token-2", push)
    assert isinstance(accepted, AcceptedCallEvent)
    assert accepted.call_id == "c2"
    assert phone(client).accepted_call is None  # delivered, not kept for later


async def test_a_dart_failure_is_a_livekit_error(client: FakeFletClient) -> None:
    push = client.build(CallPush)

    async def broken(name: str, args: object) -> object:
        raise DartError("Exception: FirebaseMessaging failed")

    await push.start(SERVER)
    service = client.dart_service(push._i)
    assert isinstance(service, FakeCallPushDart)
    service.invoke = broken  # type: ignore[method-assign]
    with pytest.raises(LiveKitError, match="stop: FirebaseMessaging failed"):
        await push.stop()


async def test_the_apps_source_keeps_the_engines_contract(client: FakeFletClient) -> None:
    source = client.build(AndroidPushSource)
    contract: PushSource = source
    tokens: list[str] = []
    accepted: list[str] = []
    contract.set_token_listener(tokens.append)
    source.set_accept_listener(accepted.append)
    assert await contract.start(SERVER) == "fcm-token-1"
    await phone(client).rotate("fcm-token-3")
    await phone(client).accept_on_notification("c3")
    assert (tokens, accepted) == (["fcm-token-3"], ["c3"])
    contract.set_token_listener(None)
    await phone(client).rotate("fcm-token-4")
    assert tokens == ["fcm-token-3"]
    await contract.stop()
    assert phone(client).server_url is None


async def test_the_app_answers_the_call_accepted_on_its_notification(
    client: FakeFletClient,
) -> None:
    await phone(client).accept_on_notification("c9")  # the Accept started the app
    source = client.build(AndroidPushSource)
    wanted: list[str] = []
    engine = SimpleNamespace(answer_from_notification=wanted.append)
    await _answer_from_notification(source, engine)  # type: ignore[arg-type]
    await phone(client).accept_on_notification("c10")  # an Accept while it runs
    assert wanted == ["c9", "c10"]
