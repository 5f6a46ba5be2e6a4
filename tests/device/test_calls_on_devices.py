"""The two-person call scenarios on two phones or emulators running the APK (``make test-device``).

The same scenarios as the browser tests (``tests/ui/scenarios.py``), through the device driver
(``android_driver.py``): each person's app is started fresh (data cleared, permissions granted),
signs in to a call server this test starts, and calls the other for real, media through devsfu.
``conftest.py`` says what must be there; without it every test skips with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.device.android_driver import AndroidScreen
from tests.device.conftest import served
from tests.support.devsfu import DevSfu
from tests.ui import scenarios
from tests.ui.scenarios import Stack

pytestmark = [pytest.mark.device, pytest.mark.timeout(900)]

MISSED_RING_TIMEOUT_S = 8


@pytest.fixture
def fresh(phones: tuple[AndroidScreen, AndroidScreen]) -> tuple[AndroidScreen, AndroidScreen]:
    for phone in phones:
        phone.start_fresh()
    return phones


def test_alice_calls_bob_who_answers_then_hangs_up(
    fresh: tuple[AndroidScreen, AndroidScreen], stack: Stack
) -> None:
    scenarios.call_answer_mute_hang_up(*fresh, stack)


def test_bob_declines(fresh: tuple[AndroidScreen, AndroidScreen], stack: Stack) -> None:
    scenarios.bob_declines(*fresh, stack)


def test_alice_cancels_before_bob_answers(
    fresh: tuple[AndroidScreen, AndroidScreen], stack: Stack
) -> None:
    scenarios.alice_cancels_before_bob_answers(*fresh, stack)


def test_unanswered_call_is_missed(
    fresh: tuple[AndroidScreen, AndroidScreen], sfu: DevSfu, workdir: Path
) -> None:
    with served(fresh, sfu, workdir, MISSED_RING_TIMEOUT_S) as stack:
        scenarios.unanswered_call_is_missed(*fresh, stack)
