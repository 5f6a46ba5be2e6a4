"""``voip-server [serve|migrate|seed-demo|seed-load N]``."""

from __future__ import annotations

import argparse
import asyncio
import logging

from server import logs, migrate, seed
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker

log = logging.getLogger("server")


async def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(settings: Settings, load: int | None) -> None:
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


def serve(settings: Settings) -> None:
    import uvicorn

    from server.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=64 * 1024,
        ws_per_message_deflate=settings.ws_deflate,
        timeout_graceful_shutdown=5,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="voip-server", description="The CRM Calls call server")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve HTTP and Socket.IO (the default)")
    sub.add_parser("migrate", help="bring the database schema to the newest revision")
    sub.add_parser("seed-demo", help="create the demo tenants and users (idempotent)")
    load = sub.add_parser("seed-load", help="create N users in tenant `load` (idempotent)")
    load.add_argument("count", type=int)
    args = parser.parse_args(argv)

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    match args.command:
        case "migrate":
            asyncio.run(_migrate(settings))
            log.info("database migrated")
        case "seed-demo":
            asyncio.run(_seed(settings, None))
        case "seed-load":
            asyncio.run(_seed(settings, max(0, args.count)))
        case _:
            serve(settings)


if __name__ == "__main__":
    main()
