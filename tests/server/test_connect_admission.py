"""A socket's connect (:func:`server.calls.connections.connect`), on a fake clock: what it checks
in its one round trip and what it does once admitted.

Specification: a token of ours is admitted when it is valid at the clock's time, its user
exists and is neither disabled nor deleted, and its sign-in session (if it names one) is that
user's and not revoked; the identity's tenant is the user's row's, never the token's ``tid``;
the user may hold at most ``max_sockets_per_user`` sockets on live nodes. A refused socket is
joined to no room and leaves no row. An admitted one is joined to its rooms, gets ``incoming``
for each call ringing for its user, and the user's presence is published only when this is its
first socket on a live node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import func, select, update

from server.auth import Identity, authenticate, issue_token
from server.calls import connections
from server.calls.deps import CallDeps, DeviceSocket
from server.calls.invite import invite
from server.db import access as access_data
from server.db import presence
from server.db.models import CallRow, Connection, User
from server.errors import ServiceError
from tests.server.domain import Domain, domain, told
from voip_contract import ErrorCode, InvitePayload, ServerEvent

CAP = 2


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Domain]:
    async with domain(tmp_path, "alice", "bob", "carol") as made:
        deps = made.node(max_sockets_per_user=CAP)
        await connections.heartbeat(deps, now=made.clock.now())
        yield made


async def _token(world: Domain, name: str, *, session_of: str | None = None) -> str:
    """A token of ours for ``name``; with ``session_of``, of a new sign-in session of that
    person (which may be someone else)."""
    now = world.clock.now()
    async with world.sessions() as session:
        user = await session.get(User, world.people[name].user_id)
        assert user is not None
        sid = None
        if session_of is not None:
            owner = world.people[session_of].user_id
            until = now + timedelta(days=1)
            sid = await access_data.open_session(
                session, user_id=owner, device_id=None, now=now, until=until
            )
            await session.commit()
        return issue_token(world.nodes[0].settings, user, now=now, session_id=sid)[0]


class Joins:
    """The ``join`` of :func:`connections.connect`: who was joined (it runs while the connect
    holds the database: it must not open a session, as the transport's does not)."""

    def __init__(self) -> None:
        self.joined: list[Identity] = []

    async def __call__(self, ident: Identity) -> None:
        self.joined.append(ident)


async def _has_row(world: Domain, sid: str) -> bool:
    async with world.sessions() as session:
        count = await session.scalar(select(func.count()).where(Connection.sid == sid))
        return bool(count)


async def _connect(world: Domain, token: str | None, sid: str) -> tuple[Identity, Joins]:
    joins = Joins()
    ident = await connections.connect(world.nodes[0], token, DeviceSocket(sid, sid), joins)
    return ident, joins


async def _refused(world: Domain, token: str | None, sid: str) -> ErrorCode:
    joins = Joins()
    with pytest.raises(ServiceError) as refused:
        await connections.connect(world.nodes[0], token, DeviceSocket(sid, sid), joins)
    assert joins.joined == []
    assert not await _has_row(world, sid)
    return refused.value.code


def _presence_events(deps: CallDeps, user_id: str) -> list[str]:
    return [
        d["presence"] for d, _ in told(deps).sent(ServerEvent.PRESENCE) if d["user_id"] == user_id
    ]


async def test_a_valid_token_is_admitted_with_its_users_own_tenant(world: Domain) -> None:
    alice = world.people["alice"]
    claims = {"iss": "voip-server", "aud": "voip", "sub": alice.user_id, "tid": "other-tenant"}
    now = int(world.clock.now().timestamp())
    forged_tid = jwt.encode(
        {**claims, "iat": now, "exp": now + 60},
        world.nodes[0].settings.jwt_key(),
        algorithm="HS256",
    )

    ident, joins = await _connect(world, forged_tid, "s1")

    assert (ident.user_id, ident.tenant_id, ident.email) == (
        alice.user_id,
        alice.tenant_id,
        alice.email,
    )
    assert joins.joined == [ident]
    assert await _has_row(world, "s1")


async def test_presence_is_published_for_the_first_socket_only(world: Domain) -> None:
    deps, alice = world.nodes[0], world.people["alice"]

    await _connect(world, await _token(world, "alice"), "s1")
    await _connect(world, await _token(world, "alice", session_of="alice"), "s2")

    assert _presence_events(deps, alice.user_id) == ["online"]


async def test_refused_tokens_users_and_sessions(world: Domain) -> None:
    bob = world.people["bob"]
    revoked = await _token(world, "alice", session_of="alice")
    async with world.sessions() as session:
        await access_data.revoke(
            session, user_id=world.people["alice"].user_id, at=world.clock.now()
        )
        await session.commit()
    someone_elses = await _token(world, "alice", session_of="bob")
    ghost = {"iss": "voip-server", "aud": "voip", "sub": "no-such-user"}
    now = int(world.clock.now().timestamp())
    unknown = jwt.encode(
        {**ghost, "iat": now, "exp": now + 60}, world.nodes[0].settings.jwt_key(), "HS256"
    )
    expired = await _token(world, "carol")

    for token in (None, "garbage", revoked, someone_elses, unknown):
        assert await _refused(world, token, "s1") is ErrorCode.UNAUTHORIZED
    world.clock.advance(world.nodes[0].settings.jwt_ttl_s)
    assert await _refused(world, expired, "s1") is ErrorCode.UNAUTHORIZED

    valid = await _token(world, "bob")
    for column in (User.disabled_at, User.deleted_at):
        async with world.sessions() as session:
            await session.execute(
                update(User).where(User.id == bob.user_id).values({column: world.clock.now()})
            )
            await session.commit()
        assert await _refused(world, valid, "s1") is ErrorCode.UNAUTHORIZED
        async with world.sessions() as session:
            await session.execute(update(User).where(User.id == bob.user_id).values({column: None}))
            await session.commit()
    await _connect(world, valid, "s1")


async def test_the_cap_counts_sockets_of_live_nodes_only(world: Domain) -> None:
    clock = world.clock
    for n in range(CAP):
        await _connect(world, await _token(world, "alice"), f"s{n}")

    assert await _refused(world, await _token(world, "alice"), "s-over") is ErrorCode.RATE_LIMITED
    # This node stops its heartbeat (it died); another node comes up: its sockets do not count.
    other = world.node("node-b", max_sockets_per_user=CAP)
    clock.advance(other.settings.presence_ttl_s + 1)
    await connections.heartbeat(other, now=clock.now())
    joins = Joins()
    await connections.connect(
        other, await _token(world, "alice"), DeviceSocket("s-b", "s-b"), joins
    )
    assert len(joins.joined) == 1


async def test_a_call_ringing_before_the_connect_rings_the_new_socket(world: Domain) -> None:
    deps, alice, bob = world.nodes[0], world.people["alice"], world.people["bob"]
    laptop = DeviceSocket("s-alice", "alice-laptop")
    await connections.connected(deps, alice, laptop)
    await connections.connected(deps, bob, DeviceSocket("s-bob-old", "bob-old"))
    call = await invite(deps, alice, laptop, InvitePayload(callee_id=bob.user_id, request_id="r"))

    await _connect(world, await _token(world, "bob"), "s-bob")

    rung = [
        d["call"]["id"]
        for d, to in told(deps).sent(ServerEvent.INCOMING)
        if to == ("socket", "s-bob")
    ]
    assert rung == [call.id]


async def _ringing_as_recorded(world: Domain, who: Identity, sid: str) -> bool:
    """What the socket's INSERT says of ``who``'s ringing calls (rolled back after)."""
    async with world.sessions() as session:
        return await presence.add_connection(
            session,
            sid=sid,
            user_id=who.user_id,
            tenant_id=who.tenant_id,
            device_id=sid,
            node_id="probe",
            at=world.clock.now(),
        )


async def test_only_a_call_ringing_for_the_user_rings_the_new_socket(world: Domain) -> None:
    """The connect asks whether anything rings for its user in the socket's INSERT, and reads
    the calls only then: another user's ringing call, or a call of the user's that no longer
    rings, rings nothing."""
    deps, alice, bob = world.nodes[0], world.people["alice"], world.people["bob"]
    laptop = DeviceSocket("s-alice", "alice-laptop")
    await connections.connected(deps, alice, laptop)
    await connections.connected(deps, bob, DeviceSocket("s-bob-old", "bob-old"))
    call = await invite(deps, alice, laptop, InvitePayload(callee_id=bob.user_id, request_id="r"))

    assert await _ringing_as_recorded(world, bob, "probe-bob")
    assert not await _ringing_as_recorded(world, world.people["carol"], "probe-carol")
    await _connect(world, await _token(world, "carol"), "s-carol")
    async with world.sessions() as session:
        await session.execute(
            update(CallRow).where(CallRow.id == call.id).values(status="DECLINED")
        )
        await session.commit()
    assert not await _ringing_as_recorded(world, bob, "probe-bob-after")
    await _connect(world, await _token(world, "bob"), "s-bob")

    rung = [to for _, to in told(deps).sent(ServerEvent.INCOMING)]
    assert rung == [("user", bob.user_id)]  # the invite's own, to bob's room


async def _answers(world: Domain, token: str | None, sid: str) -> tuple[str, str]:
    """What an HTTP request (:func:`authenticate`) and a socket's connect say about ``token``:
    the user's id, or the error's code and message."""

    async def by(check: Callable[[], Awaitable[Identity]]) -> str:
        try:
            return (await check()).user_id
        except ServiceError as exc:
            return f"{exc.code.value}: {exc.message}"

    async def request() -> Identity:
        async with world.sessions() as session:
            return await authenticate(
                session, world.nodes[0].settings, token, now=world.clock.now()
            )

    async def connect() -> Identity:
        return (await _connect(world, token, sid))[0]

    return await by(request), await by(connect)


async def test_a_request_and_a_connect_check_a_token_alike(world: Domain) -> None:
    """One check of a token of ours against its user's row serves both (the specification is
    the module docstring's, for HTTP as for sockets)."""
    alice, bob = world.people["alice"], world.people["bob"]
    settings, now = world.nodes[0].settings, int(world.clock.now().timestamp())
    revoked = await _token(world, "bob", session_of="bob")
    async with world.sessions() as session:
        await access_data.revoke(session, user_id=bob.user_id, at=world.clock.now())
        await session.execute(
            update(User)
            .where(User.id == world.people["carol"].user_id)
            .values(disabled_at=world.clock.now())
        )
        await session.commit()
    claims = {"iss": "voip-server", "aud": "voip", "iat": now, "exp": now + 60}
    expected = {
        await _token(world, "alice", session_of="alice"): alice.user_id,
        jwt.encode({**claims, "sub": alice.user_id, "sid": None}, settings.jwt_key()): (
            alice.user_id  # a null session: a token from before sessions
        ),
        revoked: "unauthorized: this session was signed out",
        await _token(world, "alice", session_of="bob"): "unauthorized: this session was signed out",
        jwt.encode({**claims, "sub": alice.user_id, "sid": 7}, settings.jwt_key()): (
            "unauthorized: this session was signed out"
        ),
        jwt.encode({**claims, "sub": "nobody"}, settings.jwt_key()): "unauthorized: unknown user",
        await _token(world, "carol"): "unauthorized: this account is disabled",
    }
    for k, (token, answer) in enumerate(expected.items()):
        assert await _answers(world, token, f"s{k}") == (answer, answer)
