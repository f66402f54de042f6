"""The browser the page tests drive: Debian's Chromium, headless, installed
by ``scripts/setup-browser.sh`` when missing. Screenshots are kept in
``test-artifacts/ui/`` of the clone (ignored by git; ``MLENV_TEST_ARTIFACTS``
moves it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.browser import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed when missing (idempotent)."""
    subprocess.run([str(ROOT / "scripts" / "setup-browser.sh")], check=True, capture_output=True)
    return CHROMIUM


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("MLENV_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
