#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, once: nothing happens when they are
# all present. Needs root (CI is root); otherwise it prints the command to run and fails.
set -euo pipefail

packages=(
  postgresql redis-server           # the PostgreSQL and multi-node test paths
  chromium                          # the Flet web UI tests (driven by Playwright)
  libportaudio2                     # sounddevice
  pulseaudio pulseaudio-utils libasound2-plugins   # virtual microphone and speaker
  iproute2                          # the tests' private network namespace
  sox                               # measuring test tones by hand
  openjdk-17-jdk-headless           # javac: the Android plugin's Java against its API stubs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm installs LiveKit's JS SDK for tests/jssdk (`make jssdk`); any Node.js with npm will do, so
# Debian's packages are installed only when there is no npm at all (NodeSource's nodejs bundles
# its own and conflicts with Debian's npm).
command -v npm >/dev/null || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "system-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: not root; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
