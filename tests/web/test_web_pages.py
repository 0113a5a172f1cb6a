"""Every page in both languages: no message key left untranslated, the right ``lang``, and
``allegiance serve`` refusing to start without what it needs."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from tests.web.conftest import Web, csrf_of, invite, publish, walk_and_submit
from typer.testing import CliRunner

from allegiance.i18n import catalog

KEY = re.compile(r"""tr\(\s*'(web\.[a-z0-9_.]+[a-z0-9_])'""")


def test_every_key_the_templates_use_exists_in_both_languages() -> None:
    folder = resources.files("allegiance.web") / "templates"
    used: set[str] = set()
    for path in Path(str(folder)).rglob("*.j2"):
        used |= set(KEY.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 80
    texts = catalog()
    for key in sorted(used):
        assert key in texts, key
        assert texts[key].get("en"), key
        assert texts[key].get("zh"), key
    for role in ("admin", "analyst", "viewer", "agent"):
        assert f"web.role.{role}" in texts
    for status in ("draft", "published", "closed"):
        assert f"web.status.{status}" in texts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_both_languages(sqlite_web: Web, lang: str) -> None:
    web = sqlite_web
    slug = publish(web, "calculation_standard", public=True)
    token = invite(web, slug, language=lang)
    walk_and_submit(web.client(), f"/i/{token}")
    admin = web.sign_in(web.client(), "admin")
    admin.get(f"/admin/surveys?lang={lang}")  # remembered in the al_lang cookie from here on
    pages = [
        "/admin/surveys",
        f"/admin/surveys/{slug}",
        f"/admin/surveys/{slug}/invitations",
        f"/admin/surveys/{slug}/responses",
        f"/admin/surveys/{slug}/dashboard",
        "/admin/account",
    ]
    visitor = web.client()
    visitor.get(f"/?lang={lang}")
    public = [
        f"/s/{slug}",
        "/",
        f"/i/{token}",
        f"/i/{token}/thanks",
        "/i/no-such-token",
        "/admin/login",
    ]
    html_lang = "zh-CN" if lang == "zh" else "en"
    for client, urls in ((admin, pages), (visitor, public)):
        for url in urls:
            got = client.get(url)
            assert got.status_code in (200, 404), (url, got.status_code)
            assert f'<html lang="{html_lang}">' in got.text, url
            leftover = re.findall(r"\bweb\.[a-z_]+\.[a-z_.]+\b", got.text)
            assert leftover == [], (url, leftover)
    dashboard = admin.get(f"/admin/surveys/{slug}/dashboard").text
    assert ("满意度指数" if lang == "zh" else "Satisfaction index") in dashboard
    # the same survey answered on a public link's start page
    start = visitor.get(f"/s/{slug}")
    assert csrf_of(start.text)


def test_serve_refuses_to_start_without_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allegiance.cli.app import app
    from allegiance.store import db

    url = db.sqlite_url(tmp_path / "cx.db")
    db.upgrade(url)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY", raising=False)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY_FILE", raising=False)
    result = CliRunner().invoke(app, ["serve", "--url", url, "--lang", "en"])
    assert result.exit_code == 2
    assert "ALLEGIANCE_SECRET_KEY" in result.output
    old = db.sqlite_url(tmp_path / "old.db")
    db.upgrade(old, "0001")
    monkeypatch.setenv("ALLEGIANCE_SECRET_KEY", "x" * 40)
    result = CliRunner().invoke(app, ["serve", "--url", old, "--lang", "en"])
    assert result.exit_code == 2
    assert "db upgrade" in result.output
