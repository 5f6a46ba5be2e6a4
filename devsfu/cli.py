"""``voip-devsfu``: run the development media server.

    VOIP_LIVEKIT_API_KEY=devkey VOIP_LIVEKIT_API_SECRET=... \\
        voip-devsfu --host 10.200.0.1 --port 7880 --webhook-url http://127.0.0.1:8000/api/livekit/webhook

Each option falls back to an environment variable (``DEVSFU_HOST``, ``DEVSFU_PORT``,
``VOIP_LIVEKIT_API_KEY``, ``VOIP_LIVEKIT_API_SECRET``, ``DEVSFU_WEBHOOK_URL``,
``DEVSFU_EGRESS_DIR``). The server logs
``devsfu listening on http://HOST:PORT`` once it accepts connections; SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from devsfu.aiortc_hooks import AiortcIncompatible, require_aiortc_internals
from devsfu.app import Settings, serve
from devsfu.media import restrict_ice_to


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="voip-devsfu",
        description="LiveKit-compatible, audio-only media server for development and CI only.",
    )
    parser.add_argument("--host", default=env("DEVSFU_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("DEVSFU_PORT", "7880")))
    parser.add_argument("--api-key", default=env("VOIP_LIVEKIT_API_KEY", "devkey"))
    parser.add_argument("--api-secret", default=env("VOIP_LIVEKIT_API_SECRET"))
    parser.add_argument("--webhook-url", default=env("DEVSFU_WEBHOOK_URL", ""))
    parser.add_argument(
        "--no-auto-create",
        dest="auto_create",
        action="store_false",
        help="refuse joins into rooms not created through RoomService (LiveKit auto_create: false)",
    )
    parser.add_argument(
        "--egress-dir",
        type=Path,
        default=Path(env("DEVSFU_EGRESS_DIR", "var/recordings")),
        help="where room composite egress writes its files (LiveKit Egress's local output)",
    )
    parser.add_argument("--log-level", default=env("DEVSFU_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if not args.api_secret:
        parser.error("--api-secret (or VOIP_LIVEKIT_API_SECRET) is required")
    return args


async def _run(settings: Settings) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(settings)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        require_aiortc_internals()
    except AiortcIncompatible as exc:
        sys.exit(f"voip-devsfu: {exc}")
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    restrict_ice_to(args.host)
    settings = Settings(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        webhook_url=args.webhook_url,
        auto_create=args.auto_create,
        egress_dir=args.egress_dir,
    )
    asyncio.run(_run(settings))


if __name__ == "__main__":
    main()
