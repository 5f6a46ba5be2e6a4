"""Media: one small interface (:class:`voip_app.media.base.MediaSession`) with two implementations.

- desktop and every test: the ``livekit`` Python SDK (:mod:`voip_app.media.livekit_session`);
- Android: a Flet extension around LiveKit's Flutter SDK (``android/``,
  :mod:`voip_app.media.android`).

The interface and its events live in :mod:`voip_app.media.base`, and every user imports them from
there; this package re-exports nothing, so the names are listed in one place only.
"""
