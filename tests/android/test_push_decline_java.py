"""The notification's Decline, the plugin's own Java (``CallActionReceiver.decline``, plain JDK
networking) compiled here and run on this machine's JVM against a real call server: it declines
the call with the capability the push carried, and the server refuses it for an altered one.
The capability comes from a real push, sent through the real HTTP fake of FCM. Likewise the
notification's text (``IncomingCallNotifier.aboutText``) from a real push's CRM context."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.android.sources import java_files
from tests.android.test_java_plugin import javac
from tests.server.harness import Person, Stack
from tests.support.fake_fcm import FakeFcm
from tests.support.servers import CallServer

JAVA = shutil.which("java")
pytestmark = pytest.mark.skipif(
    JAVA is None or shutil.which("javac") is None, reason="no JDK (make system-deps installs it)"
)
MAIN = """package org.crmvoip.flet_livekit;

public final class DeclineMain {
    public static void main(String[] args) {
        System.out.println(CallActionReceiver.decline(args[0], args[1], args[2]));
    }
}
"""
ABOUT_MAIN = """package org.crmvoip.flet_livekit;

public final class AboutMain {
    public static void main(String[] args) {
        System.out.print(IncomingCallNotifier.aboutText(args.length > 0 ? args[0] : null));
    }
}
"""


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("decline-java")
    main = out / "src" / "DeclineMain.java"
    main.parent.mkdir()
    main.write_text(MAIN)
    about = out / "src" / "AboutMain.java"
    about.write_text(ABOUT_MAIN)
    done = javac([*java_files(), main, about], out)
    assert done.returncode == 0, done.stderr
    return out / "classes"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CallServer, FakeFcm]]:
    fcm = FakeFcm.start()
    workdir = tmp_path_factory.mktemp("decline-server")
    env = fcm.env(fcm.write_service_account(workdir / "service-account.json"))
    try:
        with CallServer.start(workdir, env=env) as running:
            yield running, fcm
    finally:
        fcm.stop()


@pytest.fixture
async def stack(server: tuple[CallServer, FakeFcm]) -> AsyncIterator[Stack]:
    fresh = Stack(server[0], None)
    yield fresh
    await fresh.aclose()


async def bob_with_a_phone(stack: Stack) -> dict[str, Person]:
    """Alice and Bob, Bob's phone registered for pushes."""
    people = await stack.tenant("alice", "bob")
    body = {"provider": "fcm", "token": f"{people['bob'].id}-phone"}
    headers = people["bob"].auth
    put = await stack.http.put("/api/devices/phone/push", json=body, headers=headers)
    assert put.status_code == 204
    return people


def decline(classes: Path, server: str, call_id: str, capability: str) -> int:
    assert JAVA is not None
    done = subprocess.run(
        [
            JAVA,
            "-cp",
            str(classes),
            "org.crmvoip.flet_livekit.DeclineMain",
            server,
            call_id,
            capability,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip())


async def test_the_javas_decline_declines_with_the_capability(
    classes: Path, stack: Stack, server: tuple[CallServer, FakeFcm]
) -> None:
    fcm = server[1]
    p = await bob_with_a_phone(stack)
    async with stack.clients(p["alice"]) as (a,):
        call = await a.invite(p["bob"])
        (incoming,) = await fcm.until(call["id"], "incoming", 1)
        capability = incoming.data["decline_capability"]
        altered = capability[:-4] + ("AAAA" if not capability.endswith("AAAA") else "BBBB")
        assert decline(classes, stack.url, call["id"], altered) == 401
        assert decline(classes, stack.url, call["id"], "not a jwt") == -1  # never sent
        assert decline(classes, stack.url, call["id"], capability) == 204
        ended = await a.next_matching("ended", call_id=call["id"])
        assert (ended["status"], ended["reason"]) == ("DECLINED", "declined")


def about_text(classes: Path, *args: str) -> str:
    assert JAVA is not None
    command = [JAVA, "-cp", str(classes), "org.crmvoip.flet_livekit.AboutMain", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


async def test_the_notification_names_the_crm_record_the_push_carries(
    classes: Path, stack: Stack, server: tuple[CallServer, FakeFcm]
) -> None:
    fcm = server[1]
    p = await bob_with_a_phone(stack)
    context = {"object_type": "deal", "object_id": "D-7", "label": "ACME renewal"}
    async with stack.clients(p["alice"]) as (a,):
        for request_id, given in (("with", context), ("without", None)):
            payload = {"callee_id": p["bob"].id, "request_id": request_id, "context": given}
            ack = await a.call("invite", payload)
            assert ack["ok"], ack
            (incoming,) = await fcm.until(ack["call"]["id"], "incoming", 1)
            label = incoming.data["context_label"]
            assert label == (given["label"] if given else "")
            expected = "Incoming call · ACME renewal" if given else "Incoming call"
            assert about_text(classes, label) == expected
            assert (await a.call("cancel", {"call_id": ack["call"]["id"]}))["ok"]
    assert about_text(classes) == "Incoming call"  # an older server's push: no such key
