"""Slowing down password guessing: failed sign-ins are counted in the database, so every node
sees the same counts, and a sign-in is refused with ``rate_limited`` once one of three limits
is reached within ``VOIP_SIGNIN_WINDOW_S``:

- failures for one account from one address (``VOIP_SIGNIN_FAILURES_PER_ACCOUNT_ADDRESS``): a
  person who mistypes a few times is held up only there, and only for the window;
- failures from one address, whatever the account (``VOIP_SIGNIN_FAILURES_PER_ADDRESS``):
  one machine trying many accounts;
- failures for one account, whatever the address (``VOIP_SIGNIN_FAILURES_PER_ACCOUNT``): many
  machines trying one account. Reaching it holds up the real user too, which is why it is high.

A refused attempt checks no password (no argon2 work for the guesser) and records nothing. A
successful sign-in clears that account's failures from that address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db import access as access_data
from server.db import locks
from server.db.models import SignInFailure
from server.errors import ServiceError
from voip_contract import ErrorCode


async def check(
    session: AsyncSession, settings: Settings, email: str, address: str, *, now: datetime
) -> None:
    """Raise ``ServiceError(RATE_LIMITED)`` when ``email`` from ``address`` must wait at ``now``."""
    since = now - timedelta(seconds=settings.signin_window_s)
    same_email = SignInFailure.email == email
    same_address = SignInFailure.address == address
    row = (
        await session.execute(
            select(
                func.sum(case((and_(same_email, same_address), 1), else_=0)),
                func.sum(case((same_address, 1), else_=0)),
                func.sum(case((same_email, 1), else_=0)),
                func.min(SignInFailure.at),
            ).where(SignInFailure.at >= since, or_(same_email, same_address))
        )
    ).one()
    both, by_address, by_email = (int(n or 0) for n in row[:3])
    if (
        both >= settings.signin_failures_per_account_address
        or by_address >= settings.signin_failures_per_address
        or by_email >= settings.signin_failures_per_account
    ):
        raise ServiceError(
            ErrorCode.RATE_LIMITED,
            f"too many failed sign-ins; try again in {_wait_text(row[3], settings, now)}",
        )


async def reserve(
    session: AsyncSession, settings: Settings, email: str, address: str, *, now: datetime
) -> int:
    """Check the limits and count this attempt as a failure before its password is checked
    (committed by the caller), as one step under the locks of its account and address: of any
    number of parallel attempts, no more are checked than the limits allow, on every node.
    Returns the row to :func:`release` when the password turns out right."""
    await locks.serialize(session, f"signin-email:{email}", f"signin-address:{address}")
    await check(session, settings, email, address, now=now)
    row = SignInFailure(email=email, address=address, at=now)
    session.add(row)
    await session.flush()
    return row.id


async def check_successes(
    session: AsyncSession,
    settings: Settings,
    user_id: str | None,
    address: str,
    *,
    now: datetime,
) -> None:
    """``rate_limited`` once the account (``VOIP_SIGNIN_SUCCESSES_PER_ACCOUNT``) or the address
    (``VOIP_SIGNIN_SUCCESSES_PER_ADDRESS``) signed in that often within the window: even right
    passwords cost argon2 work, and a stolen password should not mint sessions without end."""
    since = now - timedelta(seconds=settings.signin_window_s)
    by_user, by_address = await access_data.sign_ins_since(
        session, user_id=user_id, address=address, since=since
    )
    if (
        by_user >= settings.signin_successes_per_account
        or by_address >= settings.signin_successes_per_address
    ):
        raise ServiceError(ErrorCode.RATE_LIMITED, "too many sign-ins; try again later")


async def release(session: AsyncSession, email: str, address: str, reserved: int) -> None:
    """The right password: the reserved attempt and this account's failures from this
    address no longer count."""
    await session.execute(delete(SignInFailure).where(SignInFailure.id == reserved))
    await succeeded(session, email, address)


async def failed(session: AsyncSession, email: str, address: str, *, now: datetime) -> None:
    """Count one wrong password, made at ``now`` (committed by the caller)."""
    session.add(SignInFailure(email=email, address=address, at=now))


async def succeeded(session: AsyncSession, email: str, address: str) -> None:
    """The right password: this account's failures from this address no longer count."""
    await session.execute(
        delete(SignInFailure).where(SignInFailure.email == email, SignInFailure.address == address)
    )


async def forget_old(session: AsyncSession, settings: Settings, *, now: datetime) -> int:
    """Delete failures that no longer count at ``now``; returns how many."""
    since = now - timedelta(seconds=settings.signin_window_s)
    result = await session.execute(delete(SignInFailure).where(SignInFailure.at < since))
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_old_sessions(session: AsyncSession, settings: Settings, *, now: datetime) -> int:
    """Delete sign-in sessions that can matter no more at ``now``; how many.

    A session matters while a token of it may still be valid or a socket of it open (its tokens
    expire with it, and at most ``VOIP_JWT_TTL_S`` after its revocation), and while it counts
    as a successful sign-in (``VOIP_SIGNIN_WINDOW_S`` after it began). Without this the table
    keeps a row for every sign-in ever made."""
    return await access_data.forget_sessions(
        session,
        over_before=now - timedelta(seconds=settings.jwt_ttl_s),
        created_before=now - timedelta(seconds=settings.signin_window_s),
    )


def _wait_text(oldest: datetime | None, settings: Settings, now: datetime) -> str:
    """Roughly when the oldest counted failure leaves the window, for a person to read."""
    window = timedelta(seconds=settings.signin_window_s)
    left = (oldest + window - now) if oldest is not None else window
    minutes = max(1, round(left.total_seconds() / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"
