"""The app's one exception tree: what the engine raises, each with a message fit to show a person.

::

    VoipError                 anything the call server or the network did wrong
    ├── ServerUnreachable     no answer at all (DNS, refused, timeout, TLS)
    ├── BadResponse           the server answered something the contract does not allow
    └── RequestRefused        the server refused with a contract error code (``.code``)
        ├── Unauthorized      no, bad or expired credentials (HTTP 401): sign in again
        └── SignInThrottled   too many wrong passwords lately: sign-in waits a while

Media errors are :class:`voip_app.media.base.MediaError`; call-flow mistakes (accepting with no
incoming call) are :class:`voip_app.call.machine.IllegalTrigger`.
"""

from __future__ import annotations

from voip_contract import ErrorCode

_FRIENDLY: dict[ErrorCode, str] = {
    ErrorCode.INVALID_PAYLOAD: "The request was not valid.",
    ErrorCode.NOT_FOUND: "That was not found.",
    ErrorCode.FORBIDDEN: "You are not allowed to do that.",
    ErrorCode.BUSY: "They are on another call.",
    ErrorCode.SELF_CALL: "You cannot call yourself.",
    ErrorCode.INVALID_STATE: "That call has already moved on.",
    ErrorCode.RATE_LIMITED: "Too many calls in a short time; wait a minute and try again.",
    ErrorCode.UNAVAILABLE: "Calling is unavailable right now; try again shortly.",
    ErrorCode.UNAUTHORIZED: "Your email or password is wrong, or your session expired.",
}


class VoipError(Exception):
    """Base of every error the engine's I/O raises; ``str(err)`` is fit to show a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerUnreachable(VoipError):
    """The call server did not answer (connection refused, DNS, timeout)."""

    def __init__(self, server_url: str, detail: str = "") -> None:
        message = f"Cannot reach the call server at {server_url}."
        super().__init__(f"{message} ({detail})" if detail else message)
        self.server_url = server_url


class BadResponse(VoipError):
    """The server answered outside the contract (wrong shape, unexpected status)."""


class RequestRefused(VoipError):
    """The server refused with one of the contract's error codes."""

    def __init__(self, code: ErrorCode, server_message: str = "", *, shown: str = "") -> None:
        super().__init__(shown or _FRIENDLY.get(code, server_message or code.value))
        self.code = code
        self.server_message = server_message


class Unauthorized(RequestRefused):
    """No, bad or expired credentials: sign in again."""

    def __init__(self, server_message: str = "") -> None:
        super().__init__(ErrorCode.UNAUTHORIZED, server_message)


class SignInThrottled(RequestRefused):
    """Too many failed sign-ins lately (``rate_limited`` at login): wait, then try again."""

    def __init__(self, server_message: str = "") -> None:
        # the server says how long, as in "too many failed sign-ins; try again in 15 minutes"
        shown = (
            f"{server_message[:1].upper()}{server_message[1:].rstrip('.')}."
            if server_message
            else "Too many failed sign-ins; wait a few minutes and try again."
        )
        super().__init__(ErrorCode.RATE_LIMITED, server_message, shown=shown)


def refused(code: str, server_message: str = "") -> RequestRefused:
    """The exception for a contract error body; an unknown code reads as ``unavailable``."""
    try:
        known = ErrorCode(code)
    except ValueError:
        return RequestRefused(ErrorCode.UNAVAILABLE, server_message or f"unknown error {code!r}")
    if known is ErrorCode.UNAUTHORIZED:
        return Unauthorized(server_message)
    return RequestRefused(known, server_message)
