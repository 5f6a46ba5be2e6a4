"""Right passwords are limited too, per account and per address (each costs argon2 work and
mints a session), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import BACKENDS, database_url, start_stack
from tests.server.harness import PASSWORD, Stack
from tests.server.test_signin_guard import Machine

PER_ACCOUNT, PER_ADDRESS = 2, 3


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    env = {
        "VOIP_SIGNIN_SUCCESSES_PER_ACCOUNT": str(PER_ACCOUNT),
        "VOIP_SIGNIN_SUCCESSES_PER_ADDRESS": str(PER_ADDRESS),
    }
    workdir = tmp_path_factory.mktemp(f"successes-{request.param}")
    database = database_url(request, request.param)
    yield from start_stack(workdir, database=database, env=env, with_sfu=False)


async def test_successful_sign_ins_are_limited_per_account_and_address(stack: Stack) -> None:
    people = await stack.tenant("ann", "ben", "cid", with_password=True)
    ann, ben, cid = (people[n].email for n in ("ann", "ben", "cid"))
    here, there = Machine(stack), Machine(stack)
    try:
        assert [await here.sign_in(ann, PASSWORD) for _ in range(3)] == [
            (200, ""),
            (200, ""),
            (429, "rate_limited"),
        ]
        assert await there.sign_in(ann, PASSWORD) == (429, "rate_limited")  # the account's
        assert await here.sign_in(ben, PASSWORD) == (200, "")
        assert await here.sign_in(cid, PASSWORD) == (429, "rate_limited")  # the address's
        assert await there.sign_in(cid, PASSWORD) == (200, "")
    finally:
        await here.aclose()
        await there.aclose()
