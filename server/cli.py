"""``voip-server [serve|migrate|seed-demo|seed-load N|disable-user EMAIL|enable-user EMAIL|user ...|
recording-policy SLUG POLICY]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys

from server import cli_users, logs, migrate, seed
from server.clock import SystemClock
from server.config import Settings
from server.db import access as access_data
from server.db import users as user_data
from server.db.engine import make_engine, make_sessionmaker

log = logging.getLogger("server")


async def _migrate(settings: Settings) -> None:
    settings.prepare_storage()
    engine = make_engine(settings.db_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(settings: Settings, load: int | None) -> None:
    settings.prepare_storage()
    engine = make_engine(settings.db_url)
    try:
        if settings.should_auto_migrate:
            await migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        if load is None:
            users = await seed.seed_demo(sessions)
            log.info("demo users ready", extra={"emails": [u.email for u in users]})
        else:
            await seed.seed_load(sessions, load)
            log.info("load users ready", extra={"count": load})
    finally:
        await engine.dispose()


async def _set_disabled(settings: Settings, email: str, disabled: bool) -> bool:
    """Disable (or enable) the user ``email``; the serving nodes' sweep closes their sockets
    and ends their calls within ``VOIP_SWEEP_INTERVAL_S``. ``False``: no such user."""
    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            user = await user_data.user_by_email(session, email=email.strip().lower())
            if user is None:
                return False
            now = SystemClock().now()
            await access_data.set_disabled(session, user_id=user.id, at=now if disabled else None)
            if disabled:
                await access_data.revoke(session, user_id=user.id, at=now)
            await session.commit()
            return True
    finally:
        await engine.dispose()


async def _recording_policy(settings: Settings, slug: str, policy: str) -> bool:
    from server.db import recordings as rec_data

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            value = None if policy == "default" else policy
            found = await rec_data.set_tenant_policy(session, slug=slug, policy=value)
            await session.commit()
            return found
    finally:
        await engine.dispose()


def _shared_socket(settings: Settings) -> socket.socket:
    """A listening socket on the settings' address that other processes may bind too."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    return sock


def serve(settings: Settings) -> None:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from server.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=64 * 1024,
        # Engine.IO's own heartbeat (ping every 20 s, server.app) finds dead peers; uvicorn's
        # WebSocket ping on top was a second timer, frame and pong per socket every 20 s.
        ws_ping_interval=None,
        ws_per_message_deflate=settings.ws_deflate,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[_shared_socket(settings)] if settings.reuse_port else None)
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # the port is taken, or the app failed to start


def _parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per task (none: ``serve``)."""
    parser = argparse.ArgumentParser(prog="voip-server", description="The CRM Calls call server")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP and Socket.IO (the default)")
    sub.add_parser("migrate", help="bring the database schema to the newest revision")
    sub.add_parser("seed-demo", help="create the demo tenants and users (idempotent)")
    load = sub.add_parser("seed-load", help="create N users in tenant `load` (idempotent)")
    load.add_argument("count", type=int)
    for name, what in (("disable-user", "take access away"), ("enable-user", "give it back")):
        sub.add_parser(name, help=f"{what}: the user EMAIL").add_argument("email")
    cli_users.add_parser(sub)
    policy = sub.add_parser(
        "recording-policy", help="set a tenant's call recording policy (default: the env's)"
    )
    policy.add_argument("slug")
    policy.add_argument("policy", choices=["off", "all", "on_demand", "default"])
    return parser


def main(argv: list[str] | None = None) -> None:
    """``voip-server``: run the sub-command ``argv`` names, with the settings of the env."""
    parser = _parser()
    args = parser.parse_args(argv)

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    match args.command:
        case "migrate":
            asyncio.run(_migrate(settings))
            log.info("database migrated")
        case "seed-demo":
            asyncio.run(_seed(settings, None))
        case "user":
            if settings.should_auto_migrate:
                asyncio.run(_migrate(settings))
            sys.exit(asyncio.run(cli_users.run(settings, args)))
        case "seed-load":
            asyncio.run(_seed(settings, max(0, args.count)))
        case "disable-user" | "enable-user":
            disabled = args.command == "disable-user"
            if not asyncio.run(_set_disabled(settings, args.email, disabled)):
                raise SystemExit(f"no user {args.email}")
            log.info(args.command.replace("-user", "d"), extra={"email": args.email})
        case "recording-policy":
            if not asyncio.run(_recording_policy(settings, args.slug, args.policy)):
                parser.exit(1, f"voip-server: no tenant {args.slug!r}\n")
            log.info("recording policy set", extra={"tenant": args.slug, "policy": args.policy})
        case _:
            serve(settings)


if __name__ == "__main__":
    main()
