"""The Users screen's model (``admin.*``): a tenant admin lists its users, disables and enables
them, makes them admin or member, and adds a member. Only admins see the screen; the server
refuses everyone else all the same."""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft

from voip_app.errors import VoipError
from voip_app.ui.models.call import Fail
from voip_app.ui.ports import EnginePort
from voip_contract.admin import AdminUser


@ft.observable
@dataclass
class AdminModel:
    engine: EnginePort
    fail: Fail
    users: list[AdminUser] = field(default_factory=list)
    loading: bool = False
    new_email: str = ""
    new_name: str = ""

    async def opened(self) -> None:
        self.loading = True
        try:
            self.users = await self.engine.admin_users()
        except VoipError as exc:
            await self.fail(exc)
        finally:
            self.loading = False

    async def toggle_disabled(self, user_id: str) -> None:
        user = next(u for u in self.users if u.id == user_id)
        await self._change(user_id, "enable" if user.disabled else "disable")

    async def toggle_role(self, user_id: str) -> None:
        user = next(u for u in self.users if u.id == user_id)
        await self._change(user_id, "member" if user.role == "admin" else "admin")

    async def _change(self, user_id: str, change: str) -> None:
        try:
            changed = await self.engine.admin_change(user_id, change)
        except VoipError as exc:  # the last admin, for one: the banner says why
            await self.fail(exc)
            return
        self.users = [changed if u.id == user_id else u for u in self.users]

    def type_new(self, name: str, value: str) -> None:
        """The add form's ``email`` or ``name`` field."""
        if name == "email":
            self.new_email = value
        else:
            self.new_name = value

    async def add(self) -> None:
        """Add the member the form names; the form empties once the server took it."""
        email, name = self.new_email.strip(), self.new_name.strip()
        if not email or not name:
            return
        try:
            added = await self.engine.admin_add(email, name)
        except VoipError as exc:
            await self.fail(exc)
            return
        self.users = sorted([*self.users, added], key=lambda u: u.email)
        self.new_email = self.new_name = ""
