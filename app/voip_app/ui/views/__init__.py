"""The screens: declarative Flet components over the models (:mod:`voip_app.ui.models`), one
module per screen (``signin``, ``contacts``, ``history``, ``settings``, ``outgoing``,
``incoming``, ``incall``), the frame around them (``shell``) and what they share (``common``,
``call_parts``, ``banner``)."""

from __future__ import annotations

from voip_app.ui.views.common import Viewport
from voip_app.ui.views.shell import App

__all__ = ["App", "Viewport"]
