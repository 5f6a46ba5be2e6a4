"""Make the app's assets from scratch: the ringtone (synthesised) and the icon (drawn as SVG).

    .venv/bin/python scripts/make_assets.py

Writes ``assets/sounds/ringtone.wav``, ``assets/icon.svg`` and ``assets/icon.png`` (rendered by
Debian's Chromium through Playwright, no network). Everything it makes is this project's own work,
released with the project (see ``assets/LICENSE.md``). Deterministic: running it again gives the
same sound and the same picture.
"""

from __future__ import annotations

import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[1] / "assets"
RATE = 44100

# A soft marimba-like three-note phrase (E5, G#5, B5, then B5 E6), repeated twice, then a pause:
# the file loops, so the pause is the gap between rings.
PHRASE = [(659.25, 0.0), (830.61, 0.16), (987.77, 0.32), (987.77, 0.64), (1318.51, 0.80)]
RING_S = 1.3
PAUSE_S = 1.4


def note(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    envelope = np.exp(-t * 7.0) * (1 - np.exp(-t * 400.0))
    tone = np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(2 * np.pi * freq * 2 * t) * np.exp(-t * 12)
    return np.asarray(envelope * tone, dtype=np.float64)


def ringtone() -> np.ndarray:
    ring = np.zeros(int(RATE * RING_S))
    for freq, start in PHRASE:
        sound = note(freq, 0.6)
        at = int(RATE * start)
        end = min(len(ring), at + len(sound))
        ring[at:end] += sound[: end - at]
    both = np.concatenate([ring, ring, np.zeros(int(RATE * PAUSE_S))])
    both /= np.max(np.abs(both))
    return np.asarray(both * 0.7, dtype=np.float64)


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (samples * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


ICON_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"
     viewBox="0 0 512 512">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#2F7BFF"/>
      <stop offset="1" stop-color="#1440A8"/>
    </linearGradient>
  </defs>
  <rect width="512" height="512" rx="112" fill="url(#bg)"/>
  <circle cx="256" cy="262" r="150" fill="#ffffff" opacity="0.14"/>
  <path fill="#ffffff" d="M197 170c7-7 19-7 26 1l27 31c6 7 6 17 0 24l-15 16c12 24 31 43 55 55l16-15
           c7-6 17-6 24 0l31 27c8 7 8 19 1 26l-19 19c-14 14-36 17-53 7c-47-27-86-66-113-113
           c-10-17-7-39 7-53z" transform="translate(-12 -6)"/>
  <circle cx="366" cy="150" r="36" fill="#34C759" stroke="#ffffff" stroke-width="10"/>
</svg>
"""


def render_png(svg: str, path: Path, size: int = 512) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
            viewport={"width": size, "height": size},
        )
        page = browser.new_page()
        page.route("**/*", lambda route: route.abort())
        page.set_content(f"<html><body style='margin:0;background:transparent'>{svg}</body></html>")
        page.locator("svg").screenshot(path=str(path), omit_background=True)
        browser.close()


def main() -> int:
    write_wav(ASSETS / "sounds" / "ringtone.wav", ringtone())
    (ASSETS / "icon.svg").write_text(ICON_SVG)
    render_png(ICON_SVG, ASSETS / "icon.png")
    print(
        f"wrote {ASSETS / 'sounds' / 'ringtone.wav'}, {ASSETS / 'icon.svg'}, {ASSETS / 'icon.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
