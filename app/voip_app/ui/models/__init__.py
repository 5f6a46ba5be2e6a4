"""The app's models: one observable per screen, with the actions its views call.

Plain Python over :mod:`voip_app.ui.ports`: no page, no controls, no I/O of their own, so they are
unit-tested with a fake engine (``tests/ui/test_models.py``). Views render these objects and
re-render when a field changes (``@ft.observable``); every user action is one method here. None
of them decides about a call's phases: the engine's table does.

Every failure ends up in :class:`~.banner.Banner` (``banner.error`` on screen) as a message that
says what happened and what to do next, with an action button where one helps.
"""

from __future__ import annotations

from voip_app.ui.models.app import LOST_CONNECTION, AppModel
from voip_app.ui.models.banner import Banner, BannerAction, error_message, sign_in_error
from voip_app.ui.models.call import CallModel, ended_message
from voip_app.ui.models.contacts import ContactRow, ContactsModel
from voip_app.ui.models.history import HistoryModel, HistoryRow, history_row
from voip_app.ui.models.settings import SettingsModel
from voip_app.ui.models.signin import DEFAULT_SERVER_URL, SignInForm

__all__ = [
    "DEFAULT_SERVER_URL",
    "LOST_CONNECTION",
    "AppModel",
    "Banner",
    "BannerAction",
    "CallModel",
    "ContactRow",
    "ContactsModel",
    "HistoryModel",
    "HistoryRow",
    "SettingsModel",
    "SignInForm",
    "ended_message",
    "error_message",
    "history_row",
    "sign_in_error",
]
