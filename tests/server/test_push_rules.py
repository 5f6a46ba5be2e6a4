"""The push's rules without I/O, each against what it should be, written here: the decline
capability (valid until the ring's end and not a second more, for one call, unforgeable, never
an access token), what FCM's answers mean, ``Retry-After``, the backoff, the message shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from server.auth import issue_token
from server.config import Settings
from server.db.models import User
from server.db.push import CANCEL, INCOMING, OutboxItem
from server.errors import ServiceError
from server.push import messages
from server.push.capability import DeclineGrant, mint_decline, verify_decline
from server.push.fcm import outcome_of, retry_after_s
from server.push.sender import backoff_s
from tests.support.fake_fcm import fcm_error
from voip_contract import ErrorCode

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RING_END = NOW + timedelta(seconds=30)
SETTINGS = Settings(jwt_secret="unit-test-secret-0123456789-0123456789-abcdef")
GRANT = DeclineGrant("call-1", "bob", "phone")


def refused(capability: str, *, call_id: str = "call-1", now: datetime = NOW) -> ErrorCode:
    with pytest.raises(ServiceError) as error:
        verify_decline(SETTINGS, capability, call_id=call_id, now=now)
    return error.value.code


def test_a_capability_declines_its_call_until_the_ring_ends_and_no_longer() -> None:
    capability = mint_decline(SETTINGS, GRANT, expires_at=RING_END)
    assert verify_decline(SETTINGS, capability, call_id="call-1", now=NOW) == GRANT
    just_before = RING_END - timedelta(milliseconds=1)
    assert verify_decline(SETTINGS, capability, call_id="call-1", now=just_before) == GRANT
    assert refused(capability, now=RING_END) is ErrorCode.UNAUTHORIZED


def test_a_capability_for_another_call_or_altered_or_foreign_is_refused() -> None:
    capability = mint_decline(SETTINGS, GRANT, expires_at=RING_END)
    assert refused(capability, call_id="call-2") is ErrorCode.FORBIDDEN
    header, claims, signature = capability.split(".")
    assert refused(f"{header}.{claims}.{signature[::-1]}") is ErrorCode.UNAUTHORIZED
    other_server = Settings(jwt_secret="another-servers-secret-0123456789-abcdefgh")
    assert refused(mint_decline(other_server, GRANT, expires_at=RING_END)) is (
        ErrorCode.UNAUTHORIZED
    )
    # the same claims signed with the access-token key (not the capability's own key)
    forged = jwt.encode(
        jwt.decode(capability, options={"verify_signature": False}),
        SETTINGS.jwt_key(),
        algorithm="HS256",
    )
    assert refused(forged) is ErrorCode.UNAUTHORIZED
    assert refused("") is ErrorCode.UNAUTHORIZED


def test_an_access_token_is_no_capability() -> None:
    bob = User(id="bob", tenant_id="t", email="bob@t.test", display_name="Bob")
    token, _ = issue_token(SETTINGS, bob, now=NOW)
    assert refused(token) is ErrorCode.UNAUTHORIZED


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (answer(200, {"name": "projects/p/messages/1"}), "sent"),
        (answer(404, fcm_error(404, "UNREGISTERED", "not found")), "token_gone"),
        (answer(403, fcm_error(403, "SENDER_ID_MISMATCH", "other project")), "token_gone"),
        (
            answer(400, fcm_error(400, "INVALID_ARGUMENT", "The registration token is not valid")),
            "token_gone",
        ),
        (answer(400, fcm_error(400, "INVALID_ARGUMENT", "ttl must be positive")), "refused"),
        (answer(429, fcm_error(429, "QUOTA_EXCEEDED", "slow down")), "retry"),
        (answer(500, fcm_error(500, "INTERNAL", "oops")), "retry"),
        (answer(503, fcm_error(503, "UNAVAILABLE", "later")), "retry"),
        (answer(401, fcm_error(401, "UNAUTHENTICATED", "bad token")), "retry"),
        (httpx.Response(502, text="<html>bad gateway</html>"), "retry"),
        (answer(403, fcm_error(403, "PERMISSION_DENIED", "no")), "refused"),
    ],
)
def test_what_an_fcm_answer_means(response: httpx.Response, kind: str) -> None:
    assert outcome_of(response).kind == kind


def test_retry_after_in_seconds_or_as_a_date_is_read_on_the_given_clock() -> None:
    assert retry_after_s("7", now=NOW) == 7.0
    assert retry_after_s("Sun, 01 Mar 2026 12:00:30 GMT", now=NOW) == 30.0
    assert retry_after_s("Sun, 01 Mar 2026 11:00:00 GMT", now=NOW) == 0.0  # in the past
    assert retry_after_s("999999", now=NOW) == 3600.0  # bounded
    assert retry_after_s(None, now=NOW) is None
    assert retry_after_s("soon", now=NOW) is None
    got = outcome_of(answer(429, fcm_error(429, "QUOTA_EXCEEDED", "x"), **{"Retry-After": "12"}))
    assert got.retry_after == "12"


def test_the_backoff_doubles_from_one_second_to_sixteen_unless_fcm_says() -> None:
    assert [backoff_s(n, None) for n in range(1, 8)] == [1, 2, 4, 8, 16, 16, 16]
    assert backoff_s(3, 0.5) == 0.5


def item(kind: str, status: str | None = None, context: str | None = None) -> OutboxItem:
    return OutboxItem(
        1, "call-1", "bob", "phone", kind, status, RING_END, 1, "tok", "alice", "Alice A.", context
    )


def test_an_incoming_message_carries_the_call_and_its_ring_and_nothing_else() -> None:
    data = messages.incoming_data(item(INCOMING), decline_capability="cap")
    assert data == {
        "type": "incoming",
        "call_id": "call-1",
        "caller_id": "alice",
        "caller_name": "Alice A.",
        "ring_expires_at": "2026-03-01T12:00:30Z",
        "decline_capability": "cap",
        "context_label": "",
    }
    body = messages.fcm_message(item(INCOMING), data, now=NOW + timedelta(seconds=10.2))
    assert body == {
        "message": {
            "token": "tok",
            "data": data,
            "android": {"priority": "HIGH", "ttl": "20s", "collapse_key": "call-1"},
        }
    }


def test_an_incoming_message_names_the_crm_record_unless_the_server_keeps_it_off() -> None:
    deal = item(INCOMING, context="ACME renewal")
    assert messages.incoming_data(deal, decline_capability="c")["context_label"] == "ACME renewal"
    kept_off = messages.incoming_data(deal, decline_capability="c", with_context=False)
    assert kept_off["context_label"] == ""


def test_a_cancel_message_says_the_status_and_lives_at_least_a_second() -> None:
    data = messages.cancel_data(item(CANCEL, "MISSED"))
    assert data == {"type": "cancel", "call_id": "call-1", "status": "MISSED"}
    late = messages.fcm_message(item(CANCEL, "MISSED"), data, now=RING_END + timedelta(hours=1))
    assert late["message"]["android"]["ttl"] == "1s"
