"""Draw a browser tab again after it was away.

The app runs on the web server: a tab is only a view of the page its session holds. While the
tab's WebSocket is down (a network blip, a laptop waking up), Flet drops the session's pending
updates, and when the tab comes back it gets the page *as it was last rendered*. So whatever
the models learnt meanwhile (a call ringing, a call ended, a sign-in done) would not show until
something else changed. :func:`redraw` notifies every model, so each component that reads one
renders again and the tab gets the current state.
"""

from __future__ import annotations

import dataclasses

import flet as ft


def observables_in(*roots: object) -> list[ft.Observable]:
    """The observable models among ``roots`` and reachable from them through dataclass fields
    (each once, in a stable order)."""
    found: list[ft.Observable] = []
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        item = pending.pop(0)
        if isinstance(item, ft.Observable) and id(item) not in seen:
            seen.add(id(item))
            found.append(item)
            pending.extend(_field_values(item))
    return found


def _field_values(item: object) -> list[object]:
    if not dataclasses.is_dataclass(item):
        return []
    return [getattr(item, f.name, None) for f in dataclasses.fields(item)]


def redraw(*roots: object) -> None:
    """Notify every observable model in ``roots`` (see :func:`observables_in`)."""
    for model in observables_in(*roots):
        model.notify()  # type: ignore[no-untyped-call]  # flet leaves it unannotated
