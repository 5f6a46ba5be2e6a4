"""The sign-in screen's model: the form, and signing in with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import flet as ft

from voip_app.errors import Unauthorized, VoipError
from voip_app.media.base import MediaError
from voip_app.ui.models.banner import Banner, sign_in_error
from voip_app.ui.ports import EnginePort, SessionStore
from voip_contract import User

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
TEXT_FIELDS = ("server_url", "email", "password")

SignedIn = Callable[[User, str], Awaitable[None]]
"""What happens once signed in (``user``, ``server_url``): the app's start."""


@ft.observable
@dataclass
class SignInForm:
    engine: EnginePort
    store: SessionStore
    banner: Banner
    signed_in: SignedIn
    server_url: str = DEFAULT_SERVER_URL
    email: str = ""
    password: str = ""
    busy: bool = False
    error: str = ""

    def type(self, field_name: str, value: str) -> None:
        """A keystroke in a text field: kept, but no re-render (the field already shows it, and
        pushing it back could overwrite keys typed since)."""
        if field_name not in TEXT_FIELDS:
            raise ValueError(f"no text field {field_name!r}")
        object.__setattr__(self, field_name, value)

    @property
    def filled(self) -> bool:
        """Every field has something in it."""
        return bool(self.server_url.strip() and self.email.strip() and self.password)

    async def submit(self) -> None:
        """Sign in with the form; remember the session (never the password)."""
        if self.busy:
            return  # (a second press while the first is on its way)
        if not self.filled:
            self.error = "Enter the server address, your email and your password."
            self.banner.show(self.error)
            return
        self.busy, self.error = True, ""
        self.banner.clear()
        server_url = self.server_url.strip().rstrip("/")
        try:
            user, token = await self.engine.sign_in(server_url, self.email.strip(), self.password)
        except Unauthorized:
            self.error = "Wrong email or password. Check them and try again."
            self.banner.show(self.error)
            return
        except (VoipError, MediaError) as exc:
            self.error, action = sign_in_error(exc)
            self.banner.show(self.error, action)
            return
        finally:
            self.busy = False
        self.password = ""
        await self.store.save(server_url, user.email, token)
        await self.signed_in(user, server_url)
