"""redraw: every observable model under the roots is notified once (pure, no page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import flet as ft

from voip_app.ui.redraw import observables_in, redraw


@ft.observable
@dataclass
class Leaf:
    value: int = 0


@ft.observable
@dataclass
class Branch:
    left: Leaf = field(default_factory=Leaf)
    right: Leaf = field(default_factory=Leaf)
    plain: list[int] = field(default_factory=list)
    parent: object = None


class Notifications:
    """How often each model told its listeners it changed (the listeners are kept here:
    a model holds its listeners weakly)."""

    def __init__(self, *models: object) -> None:
        self.counts = {id(m): 0 for m in models}
        self._listeners = [self._listener() for _ in models]
        for model, listener in zip(models, self._listeners, strict=True):
            assert isinstance(model, ft.Observable)
            model.subscribe(listener)

    def _listener(self) -> Callable[[object, str | None], None]:
        def heard(model: object, _field: str | None) -> None:
            self.counts[id(model)] += 1

        return heard


def test_every_model_under_the_roots_is_notified_once() -> None:
    shared = Leaf()
    tree = Branch(left=shared, right=Leaf())
    other = Branch(left=shared)
    heard = Notifications(tree, tree.left, tree.right, other, other.right)
    redraw(tree, other)
    assert list(heard.counts.values()) == [1, 1, 1, 1, 1]


def test_a_cycle_ends_and_plain_values_are_not_models() -> None:
    tree = Branch()
    tree.parent = tree
    assert observables_in(tree) == [tree, tree.left, tree.right]
    assert observables_in([tree]) == []
    assert observables_in(3) == []
