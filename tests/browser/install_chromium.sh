#!/usr/bin/env bash
# Install the Debian Chromium used by the browser tests (tests/browser).
# Idempotent: does nothing when the browser is already there.
#   bash tests/browser/install_chromium.sh
# Playwright's own browser download does not work on our machines, so the
# tests launch this binary via executable_path (override: DISTILABEL_NB_CHROMIUM).
set -euo pipefail

CHROMIUM="${DISTILABEL_NB_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "install_chromium: $CHROMIUM already present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: ERROR: $CHROMIUM is missing and apt-get is not available;" \
         "install Chromium yourself and set DISTILABEL_NB_CHROMIUM" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_chromium: ERROR: not root and sudo is not available; cannot apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_chromium: installing chromium chromium-driver with apt-get ..."
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q; then
    echo "install_chromium: ERROR: apt-get update failed" >&2
    exit 1
fi
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; then
    echo "install_chromium: ERROR: apt-get install chromium chromium-driver failed" >&2
    exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "install_chromium: ERROR: apt-get succeeded but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "install_chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
