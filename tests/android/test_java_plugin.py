"""The plugin's Java compiles with this machine's ``javac`` against small API stubs.

No Android SDK can be installed here, so ``tests/android/javastubs`` declares, from the public API
reference, just the Android and Flutter-embedding classes the plugin uses, and the test writes the
``R`` class the Android build would generate from the plugin's ``res/`` (one constant per
resource file). A misspelt call, a wrong signature or type, a missing import, or a resource the
code names but the plugin does not ship, fails to compile here as it would in ``flet build apk``.
What stubs cannot show (API levels, behaviour) is for a device build.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.android.sources import JAVA_ROOT, RES, java_files

STUBS = Path(__file__).resolve().parent / "javastubs"
R_PACKAGE = "org.crmvoip.flet_livekit"  # the library's namespace (android/build.gradle)
JAVAC = shutil.which("javac")

pytestmark = pytest.mark.skipif(
    JAVAC is None, reason="no javac on PATH (make system-deps installs openjdk-17-jdk-headless)"
)


def generated_r(res: Path) -> str:
    """``R.java`` as the Android build makes it: ``R.<type>.<file name>`` per resource file."""
    types: dict[str, list[str]] = {}
    for file in sorted(res.glob("*/*")):
        kind = file.parent.name.split("-")[0]  # drawable-v24 -> drawable
        types.setdefault(kind, []).append(file.name.split(".")[0])
    classes = "".join(
        f"    public static final class {kind} {{\n"
        + "".join(
            f"        public static final int {name} = {0x7F010000 + (i << 16) + j:#x};\n"
            for j, name in enumerate(sorted(set(names)))
        )
        + "    }\n"
        for i, (kind, names) in enumerate(sorted(types.items()))
    )
    return f"package {R_PACKAGE};\n\npublic final class R {{\n{classes}}}\n"


def javac(sources: list[Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    r_java = tmp_path / "gen" / Path(*R_PACKAGE.split(".")) / "R.java"
    r_java.parent.mkdir(parents=True)
    r_java.write_text(generated_r(RES))
    assert JAVAC is not None
    return subprocess.run(
        [
            JAVAC,
            "--release",
            "17",
            "-Xlint:all",
            "-Werror",
            "-d",
            str(tmp_path / "classes"),
            *map(str, sorted(STUBS.rglob("*.java"))),
            str(r_java),
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_plugin_compiles_against_the_api_stubs(tmp_path: Path) -> None:
    done = javac(java_files(), tmp_path)
    assert done.returncode == 0, done.stderr
    classes = {p.name for p in (tmp_path / "classes").rglob("*.class")}
    assert {
        "FletLivekitPlugin.class",
        "CallForegroundService.class",
        "AudioRoutes.class",
        "CallPushService.class",
        "CallPushChannel.class",
        "IncomingCallNotifier.class",
        "CallActionReceiver.class",
        "PushStore.class",
    } <= classes


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("CallForegroundService.java", "stopSelf(startId)", "stopSelf(startId, 0)"),
        ("CallForegroundService.java", "R.drawable.flet_livekit_ic_call", "R.drawable.ic_missing"),
        ("AudioRoutes.java", "audio.getCommunicationDevice()", "audio.getCommunicationDevices()"),
        (
            "IncomingCallNotifier.java",
            "forIncomingCall(person, decline, accept)",
            "forIncomingCall(person, accept)",
        ),
        ("CallPushService.java", "message.getData()", "message.getPayload()"),
        ("CallPushChannel.java", "FirebaseApp.getApps(context)", "FirebaseApp.getApps()"),
    ],
)
def test_a_wrong_call_or_a_missing_resource_fails_to_compile(
    tmp_path: Path, file: str, old: str, new: str
) -> None:
    copies = []
    for source in java_files():
        copy = tmp_path / "src" / source.relative_to(JAVA_ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text()
        if source.name == file:
            assert old in text
            text = text.replace(old, new)
        copy.write_text(text)
        copies.append(copy)
    done = javac(copies, tmp_path)
    assert done.returncode != 0
    assert file in done.stderr
