"""Shared test settings: hypothesis profiles, the CI rule for missing services, a clean language."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

IN_CI = os.environ.get("CI") == "true"


def need(available: bool, what: str) -> None:
    """Skip when a service is missing, but fail in CI (CI=true), where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see English unless they ask for Chinese; no project from the environment leaks in."""
    from allegiance.i18n import _active

    monkeypatch.setenv("ALLEGIANCE_LANG", "en")
    monkeypatch.delenv("ALLEGIANCE_PROJECT", raising=False)
    monkeypatch.delenv("ALLEGIANCE_DATABASE_URL", raising=False)
    token = _active.set(None)
    yield
    _active.reset(token)
    framework = sys.modules.get("allegiance.cli.framework_i18n")
    if framework is not None:  # a test that ran the CLI in Chinese leaves Typer in English
        framework.install("en")


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --------------------------------------------------------------------------- browser


@dataclass
class BrowserPage:
    """A fresh page plus everything it reported: console errors, page errors, requests."""

    page: Any
    console_errors: list[str]
    page_errors: list[str]
    requests: list[str]


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        need(False, "the playwright Python client is not installed")
        raise
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(_chromium: Any) -> Iterator[BrowserPage]:
    """A page in a fresh browser context that records console errors, page errors, requests."""
    context = _chromium.new_context(service_workers="block")
    page = context.new_page()
    seen = BrowserPage(page=page, console_errors=[], page_errors=[], requests=[])
    page.on(
        "console",
        lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: seen.page_errors.append(str(exc)))
    page.on("request", lambda request: seen.requests.append(request.url))
    try:
        yield seen
    finally:
        context.close()
