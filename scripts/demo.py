"""``make demo``: the whole system on this machine, then the app.

1. migrates the database and seeds the demo users (``voip-server migrate`` / ``seed-demo``) plus
   ``echo@acme.test`` ("Echo Test"), all with password ``demo-password``;
2. starts ``voip-devsfu`` unless ``VOIP_LIVEKIT_URL`` points at a LiveKit already, on this
   machine's primary address (WebRTC ignores loopback; ``VOIP_DEMO_MEDIA_HOST`` overrides);
3. starts the call server on 127.0.0.1 (``VOIP_PORT``, default 8000);
4. gives the demo's processes sound: this session's sound server when there is one, otherwise a
   private PulseAudio with a null speaker and microphone (``scripts/private_pulse.py``, the
   tests' recipe), stopped with the rest;
5. starts the echo bot: ``voip-softphone --auto-answer --echo`` signed in as Echo Test;
6. opens the app: a desktop window when there is a display and the Flet desktop client,
   otherwise the web app at a printed ``http://127.0.0.1:…`` address (``VOIP_DEMO_WEB=1`` forces
   web).

Ctrl-C stops everything it started (:mod:`demo_processes`). See ``docs/app.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
from demo_processes import REPO, Demo, free_port, port_open, say, wait_until
from private_pulse import missing_tools, running_pulse, sound_server_running

HOST = "127.0.0.1"
ECHO_EMAIL = "echo@acme.test"
ECHO_NAME = "Echo Test"
PASSWORD = "demo-password"
BIN = Path(sys.executable).parent
"""The venv's console scripts (voip-server, voip-devsfu, voip-softphone)."""


def primary_address() -> str | None:
    """The address this machine's default route leaves from (no packet is sent), or ``None``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: a routing lookup only
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def base_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("VOIP_VAR_DIR", str(var_dir))
    env.setdefault("VOIP_DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'demo.db'}")
    env.setdefault("VOIP_JWT_SECRET", _persistent_secret(var_dir / "jwt-secret"))
    env.setdefault("VOIP_HOST", HOST)
    env.setdefault("VOIP_PORT", "8000")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(REPO / "app"), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env


def _persistent_secret(path: Path) -> str:
    """One random signing secret per checkout, so demo sessions survive a restart."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


async def seed_echo_user(env: Mapping[str, str]) -> None:
    """``echo@acme.test`` in tenant ``acme`` (idempotent), next to the demo users."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("VOIP_")})
    from server import seed
    from server.config import Settings
    from server.db.engine import make_engine, make_sessionmaker

    settings = Settings()
    engine = make_engine(settings.db_url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            tenant = await seed.ensure_tenant(session, "acme", "Acme Corp")
            await seed.ensure_users(
                session, tenant, [seed.UserSpec(ECHO_EMAIL, ECHO_NAME)], seed.DEMO_PASSWORD
            )
            await session.commit()
    finally:
        await engine.dispose()


def start_media(demo: Demo, server_url: str) -> None:
    """devsfu on a non-loopback address, unless a LiveKit is configured."""
    if demo.env.get("VOIP_LIVEKIT_URL"):
        say(f"using the configured LiveKit at {demo.env['VOIP_LIVEKIT_URL']}")
        return
    host = demo.env.get("VOIP_DEMO_MEDIA_HOST") or primary_address()
    if host is None:
        host = HOST
        say(
            "warning: no non-loopback address found; devsfu listens on 127.0.0.1 and WebRTC may "
            "not connect (set VOIP_DEMO_MEDIA_HOST, see docs/app.md)"
        )
    port = free_port(host)
    key, secret = "demo", secrets.token_urlsafe(32)
    args = [str(BIN / "voip-devsfu"), "--host", host, "--port", str(port), "--no-auto-create"]
    args += ["--webhook-url", f"{server_url}/api/livekit/webhook"]
    # The key pair goes through the environment: a secret never shows in `ps`, and one that
    # happens to begin with "-" is not mistaken for an option.
    credentials = {"VOIP_LIVEKIT_API_KEY": key, "VOIP_LIVEKIT_API_SECRET": secret}
    proc = demo.spawn("devsfu", args, credentials)
    wait_until(lambda: port_open(host, port), "devsfu", proc, demo.log_path("devsfu"))
    demo.env.update(
        {
            "VOIP_LIVEKIT_URL": f"ws://{host}:{port}",
            "VOIP_LIVEKIT_API_URL": f"http://{host}:{port}",
            "VOIP_LIVEKIT_API_KEY": key,
            "VOIP_LIVEKIT_API_SECRET": secret,
        }
    )


def desktop_available(env: Mapping[str, str]) -> bool:
    """A window can open: a display, and the Flet desktop client package."""
    if env.get("VOIP_DEMO_WEB") == "1":
        return False
    has_display = sys.platform in ("darwin", "win32") or bool(
        env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    )
    return has_display and importlib.util.find_spec("flet_desktop") is not None


def start_app(demo: Demo, server_url: str) -> str | None:
    """The app: a window (returns ``None``) or the web app (returns its URL)."""
    app_env = {"VOIP_SERVER_URL": server_url}
    main = [sys.executable, str(REPO / "app" / "main.py")]
    if desktop_available(demo.env):
        demo.spawn("app", main, app_env)
        say("the app opens in a window")
        return None
    port = int(demo.env.get("VOIP_DEMO_APP_PORT") or free_port(HOST))
    app_env |= {
        "FLET_FORCE_WEB_SERVER": "true",
        "FLET_SERVER_IP": HOST,
        "FLET_SERVER_PORT": str(port),
        "FLET_WEB_NO_CDN": "true",
    }
    proc = demo.spawn("app", main, app_env)
    wait_until(lambda: port_open(HOST, port), "the web app", proc, demo.log_path("app"))
    return f"http://{HOST}:{port}/"


@contextlib.contextmanager
def demo_sound(env: dict[str, str]) -> Iterator[None]:
    """Sound for the demo's processes: the session's sound server, or a private PulseAudio with
    null devices (said in one line) for as long as the demo runs."""
    if env.get("VOIP_DEMO_SOUND") == "system" or sound_server_running(env):
        say("sound: this machine's sound server and devices")
        yield
        return
    why_not = missing_tools()
    if why_not is not None:
        say(f"sound: no sound server, and none can be started ({why_not}); calls run silent")
        yield
        return
    with running_pulse(["demo_speaker"], ["demo_mic"]) as pulse:
        env.update(pulse.env(source="demo_mic", sink="demo_speaker"))
        say(
            "sound: no sound server here, so a private PulseAudio with a silent microphone and "
            f"speaker runs for the demo ({pulse.server}); calls connect, nothing is heard"
        )
        try:
            yield
        finally:
            say("stopped the private PulseAudio")


@contextlib.contextmanager
def running_demo(var_dir: Path) -> Iterator[tuple[Demo, str, str | None]]:
    """Start everything; yield ``(demo, server_url, app_url or None)``; stop everything."""
    var_dir.mkdir(parents=True, exist_ok=True)
    demo = Demo(var_dir=var_dir, env=base_env(var_dir))
    server_url = f"http://{demo.env['VOIP_HOST']}:{demo.env['VOIP_PORT']}"
    sound = contextlib.ExitStack()
    try:
        sound.enter_context(demo_sound(demo.env))
        say("migrating and seeding the database")
        demo.run([str(BIN / "voip-server"), "migrate"])
        demo.run([str(BIN / "voip-server"), "seed-demo"])
        asyncio.run(seed_echo_user(demo.env))
        start_media(demo, server_url)
        server = demo.spawn("server", [str(BIN / "voip-server"), "serve"])
        wait_until(
            lambda: httpx.get(f"{server_url}/readyz").status_code == 200,
            "server",
            server,
            demo.log_path("server"),
        )
        bot = [str(BIN / "voip-softphone"), "--server", server_url]
        bot += ["--email", ECHO_EMAIL, "--password", PASSWORD, "--auto-answer", "--echo"]
        demo.spawn("echo-bot", bot)
        app_url = start_app(demo, server_url)
        yield demo, server_url, app_url
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave servers running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        demo.stop()
        sound.close()


def main() -> int:
    var_dir = Path(os.environ.get("VOIP_VAR_DIR") or REPO / "var")
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        with running_demo(var_dir) as (demo, server_url, app_url):
            say(f"call server: {server_url}")
            if app_url:
                say(f"open the app: {app_url}  (a second browser window for a second person)")
            say(f"sign in as alice@acme.test or bob@acme.test, password {PASSWORD};")
            say(f"call '{ECHO_NAME}' to hear yourself back. Ctrl-C stops everything.")
            while not stop:
                for name, proc in demo.procs:
                    if proc.poll() is not None:
                        say(f"{name} exited ({proc.returncode}); see {var_dir / (name + '.log')}")
                        return 1 if name != "app" else 0
                time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
