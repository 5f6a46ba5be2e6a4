"""The one error message on screen (``banner.error``), with its way forward, and how a failure
becomes one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import flet as ft

from voip_app.errors import (
    RequestRefused,
    ServerUnreachable,
    SignInThrottled,
    Unauthorized,
    VoipError,
)
from voip_app.media.base import MediaError
from voip_contract import ErrorCode

log = logging.getLogger("voip_app.ui.models")

SESSION_EXPIRED_SIGN_IN = "Your session has expired. Sign in again."
FULL_SCREEN_HINT = (
    "Calls that come in while the phone is locked show only as a notification. To have them "
    "fill the screen, allow full-screen notifications for this app in the settings."
)


class BannerAction(StrEnum):
    NONE = ""
    RETRY_SIGN_IN = "retry_sign_in"
    ALLOW_MICROPHONE = "allow_microphone"
    OPEN_SETTINGS = "open_settings"
    CALL_AGAIN = "call_again"
    SIGN_IN_AGAIN = "sign_in_again"
    ALLOW_FULL_SCREEN = "allow_full_screen"


_ACTION_LABELS = {
    BannerAction.RETRY_SIGN_IN: "Try again",
    BannerAction.ALLOW_MICROPHONE: "Allow microphone",
    BannerAction.OPEN_SETTINGS: "Open settings",
    BannerAction.CALL_AGAIN: "Call again",
    BannerAction.SIGN_IN_AGAIN: "Sign in",
    BannerAction.ALLOW_FULL_SCREEN: "Allow full screen",
}


@ft.observable
@dataclass
class Banner:
    """The one error message on screen, with its way forward."""

    message: str = ""
    action: BannerAction = BannerAction.NONE

    @property
    def visible(self) -> bool:
        return bool(self.message)

    @property
    def action_label(self) -> str:
        return _ACTION_LABELS.get(self.action, "")

    def show(self, message: str, action: BannerAction = BannerAction.NONE) -> None:
        self.message = message
        self.action = action

    def clear(self) -> None:
        self.message = ""
        self.action = BannerAction.NONE


def sign_in_error(exc: BaseException) -> tuple[str, BannerAction]:
    """A failed sign-in (other than a wrong password) as a message with a way forward."""
    if isinstance(exc, SignInThrottled):
        return str(exc), BannerAction.NONE
    if isinstance(exc, RequestRefused):
        return (
            "The call server could not sign you in right now. Try again in a moment.",
            BannerAction.RETRY_SIGN_IN,
        )
    return error_message(exc)


def error_message(exc: BaseException) -> tuple[str, BannerAction]:
    """Any failure as a message with a way forward."""
    if isinstance(exc, Unauthorized):
        return SESSION_EXPIRED_SIGN_IN, BannerAction.SIGN_IN_AGAIN
    if isinstance(exc, ServerUnreachable):
        return (
            f"{exc.message} Check the server address and your connection, then try again.",
            BannerAction.RETRY_SIGN_IN,
        )
    if isinstance(exc, RequestRefused) and exc.code is ErrorCode.UNAVAILABLE:
        return (
            "Calling is unavailable right now (the media server did not answer). "
            "Try again in a moment.",
            BannerAction.CALL_AGAIN,
        )
    if isinstance(exc, RequestRefused) and exc.code is ErrorCode.BUSY:
        return f"{exc.message} Try again in a few minutes.", BannerAction.CALL_AGAIN
    if isinstance(exc, VoipError | MediaError):
        return str(exc), BannerAction.NONE
    log.exception("unexpected failure", exc_info=exc)
    return f"Something went wrong: {exc}. Try again.", BannerAction.NONE
