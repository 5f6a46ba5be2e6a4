"""Reading a bearer token (:mod:`server.tokens`), one layer: which tokens are ours and valid,
which are someone else's (an identity provider's, left to :mod:`server.auth`), and which are
refused. The specification is the contract's: ours are HS256 with ``iss=voip-server``,
``aud=voip`` and ``exp``, ``iat``, ``sub`` required, checked at the injected time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from server.config import Settings
from server.errors import ServiceError
from server.tokens import our_claims
from voip_contract import ErrorCode

SECRET = "unit-test-secret-0123456789-0123456789-abcdef"
SETTINGS = Settings(jwt_secret=SECRET)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _token(key: str = SECRET, **changes: Any) -> str:
    claims = {
        "iss": "voip-server",
        "aud": "voip",
        "sub": "u1",
        "iat": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 60,
        **changes,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, "HS256")


def _refusal(token: str | None, settings: Settings = SETTINGS) -> str:
    with pytest.raises(ServiceError) as caught:
        our_claims(settings, token, NOW)
    assert caught.value.code is ErrorCode.UNAUTHORIZED
    return caught.value.message


def test_a_valid_token_of_ours_gives_its_claims() -> None:
    claims = our_claims(SETTINGS, _token(sid="s1"), NOW)
    assert claims is not None
    assert (claims["sub"], claims["sid"]) == ("u1", "s1")


def test_a_token_of_another_issuer_is_not_ours_whatever_its_key() -> None:
    idp = {"iss": "https://idp.example/auth/v1", "aud": "authenticated"}
    assert (
        our_claims(SETTINGS, _token("the-idps-own-secret-0123456789-abcdefgh", **idp), NOW) is None
    )
    assert our_claims(SETTINGS, _token(**idp), NOW) is None


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "missing or oversized token"),
        ("x" * 4097, "missing or oversized token"),
        ("garbage", "malformed token"),
        (_token("another-servers-secret-0123456789-abcdefgh"), "invalid token: Signature"),
        (_token(aud="someone-else"), "invalid token: Audience"),
        (_token(sub=None), 'invalid token: Token is missing the "sub" claim'),
        (_token(exp=int(NOW.timestamp())), "invalid token: Signature has expired"),
        (_token(iat=int(NOW.timestamp()) + 1), "invalid token: The token is not yet valid"),
        (_token(nbf=int(NOW.timestamp()) + 1), "invalid token: The token is not yet valid"),
    ],
)
def test_refused_tokens_of_ours(token: str | None, message: str) -> None:
    assert _refusal(token).startswith(message)


def test_another_algorithm_is_refused_even_when_it_claims_to_be_ours() -> None:
    token = jwt.encode(
        {"iss": "voip-server", "aud": "voip", "sub": "u1", "iat": 1, "exp": 2**40},
        SECRET * 2,  # long enough for HS512
        "HS512",
    )
    assert _refusal(token).startswith("invalid token: The specified alg value is not allowed")


def test_an_asymmetric_key_is_still_refused_as_the_secret() -> None:
    """The key's checks are made once per key now, not skipped: a PEM key as the HMAC secret
    (the algorithm-confusion risk PyJWT guards against) still refuses every token."""
    pem = (
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
    )
    settings = Settings(jwt_secret=pem)
    token = _token()  # PyJWT will not sign with such a key either: signed here by hand
    signing_input = token.rsplit(".", 1)[0].encode()
    mac = hmac.new(pem.encode(), signing_input, hashlib.sha256).digest()
    forged = f"{signing_input.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    for _ in range(2):
        assert "asymmetric key" in _refusal(forged, settings)


def test_the_claims_are_read_at_the_injected_time() -> None:
    token = _token()
    assert our_claims(SETTINGS, token, NOW + timedelta(seconds=59)) is not None
    with pytest.raises(ServiceError):
        our_claims(SETTINGS, token, NOW + timedelta(seconds=60))
