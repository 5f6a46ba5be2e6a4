"""Which contact rows the contacts screen reports as on screen (``ContactsModel.scrolled``), so the
engine watches their presence and not everyone's. Against the fake engine; the browser test
(``test_presence_in_browser.py``) runs it in the real list."""

from __future__ import annotations

import pytest

from tests.ui.fakes import FakeEngine, model_on_fakes
from voip_app.ui.models import AppModel
from voip_app.ui.models.contacts import ROW_EXTENT, rows_to_watch
from voip_contract import Contact

PEOPLE = [
    Contact(id=f"u{i}", display_name=f"P{i:03d}", email=f"p{i}@acme.test", presence="offline")
    for i in range(100)
]


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(contacts_result=list(PEOPLE))


@pytest.fixture
async def model(engine: FakeEngine) -> AppModel:
    _, app = model_on_fakes(engine)
    app.signin.server_url, app.signin.email, app.signin.password = (
        "http://127.0.0.1:9/",
        "alice@acme.test",
        "demo-password",
    )
    await app.signin.submit()
    assert app.signed_in
    return app


def ids(first: int, end: int) -> list[str]:
    return [f"u{i}" for i in range(first, end)]


def test_the_rows_on_screen_and_a_screenful_each_side() -> None:
    # a viewport of 10 rows shows 11 (one cut at each edge, counted once): 11 above, 22 from
    # the first one on screen down
    viewport = 10 * ROW_EXTENT
    assert rows_to_watch(100, 0, viewport) == range(22)
    assert rows_to_watch(100, 50 * ROW_EXTENT + 6, viewport) == range(39, 72)
    assert rows_to_watch(100, 95 * ROW_EXTENT, viewport) == range(83, 100)
    assert rows_to_watch(5, 0, viewport) == range(5)
    assert rows_to_watch(0, 0, viewport) == range(0)
    # the list got shorter under the offset: its last screenful shows, and one above it
    assert rows_to_watch(30, 80 * ROW_EXTENT, viewport) == range(8, 30)


async def test_nothing_is_reported_before_the_list_scrolls(
    model: AppModel, engine: FakeEngine
) -> None:
    assert len(model.contacts.rows) == 100
    assert engine.called("watch_visible") == []  # the engine watches the top of the list itself


async def test_scrolling_reports_the_rows_on_screen_once_per_change(
    model: AppModel, engine: FakeEngine
) -> None:
    model.contacts.scrolled(50 * ROW_EXTENT + 6, 10 * ROW_EXTENT)
    model.contacts.scrolled(50 * ROW_EXTENT + 30, 10 * ROW_EXTENT)  # within the same rows
    model.contacts.scrolled(51 * ROW_EXTENT + 6, 10 * ROW_EXTENT)
    assert engine.called("watch_visible") == [(ids(39, 72),), (ids(40, 73),)]


async def test_a_search_reports_its_rows_where_the_list_is(
    model: AppModel, engine: FakeEngine
) -> None:
    model.contacts.scrolled(50 * ROW_EXTENT + 6, 10 * ROW_EXTENT)
    await model.contacts.search("P09")  # P090 … P099: ten rows, all on screen
    assert engine.called("watch_visible")[-1] == (ids(90, 100),)


async def test_coming_back_to_the_screen_reports_the_top(
    model: AppModel, engine: FakeEngine
) -> None:
    model.contacts.scrolled(50 * ROW_EXTENT + 6, 10 * ROW_EXTENT)
    model.contacts.shown()  # a new list, at its top
    assert engine.called("watch_visible")[-1] == (ids(0, 22),)
