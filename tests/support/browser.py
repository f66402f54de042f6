"""Debian's Chromium as the page tests start it."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
#: Headless with a fresh profile (given by the test); the network here is
#: closed, so nothing that would call home: no QUIC, sync or component updates.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
