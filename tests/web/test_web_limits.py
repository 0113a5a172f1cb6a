"""Rate and size limits on the public form submissions: 429 with Retry-After (per client
address, per invitation token), 413 over the size limit, nothing stored in either case, and
no limits in dev mode or with a limit of 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest import Web, csrf_of, hidden, invite, make_web, publish

from allegiance.i18n import t
from allegiance.store import db
from allegiance.store.models import ResponseDraft


@pytest.fixture
def limited(tmp_path: Any, password_hash: str, request: pytest.FixtureRequest) -> Iterator[Web]:
    """The app on SQLite with the web settings given as the test's (indirect) parameter.

    The limiter keeps its counts in memory and never touches the database, so SQLite alone
    is enough here."""
    url = db.sqlite_url(tmp_path / "limits.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        yield make_web(url, engine, password_hash, **request.param)
    finally:
        engine.dispose()


def _save_data(client: Any, url: str) -> dict[str, str]:
    html = client.get(url).text
    return {"csrf": csrf_of(html), "screen": hidden(html, "screen"), "action": "save"}


def _drafts(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ResponseDraft)).scalar_one())


@pytest.mark.parametrize(
    "limited", [{"rate_limit_per_ip": 0, "rate_limit_per_token": 3}], indirect=True
)
def test_too_many_posts_for_one_token_get_429_with_retry_after(limited: Web) -> None:
    slug = publish(limited, "nps")
    token, other = invite(limited, slug, language="en"), invite(limited, slug, customer="c2")
    client = limited.client()
    data = _save_data(client, f"/i/{token}")
    for _ in range(3):
        assert client.post(f"/i/{token}", data=data).status_code == 200
    refused = client.post(f"/i/{token}", data=data, headers={"accept-language": "en"})
    assert refused.status_code == 429
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    # both languages, the English first for an English browser; the security headers too
    text = refused.text
    english = t("web.error.too_many", "en", seconds=retry)
    chinese = t("web.error.too_many", "zh", seconds=retry)
    assert english in text
    assert chinese in text
    assert text.index(english) < text.index(chinese)
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.headers["content-type"].startswith("text/html")
    # the page itself can still be read, and another token is not affected
    assert client.get(f"/i/{token}").status_code == 200
    assert client.post(f"/i/{other}", data=_save_data(client, f"/i/{other}")).status_code == 200


@pytest.mark.parametrize(
    "limited", [{"rate_limit_per_ip": 2, "rate_limit_per_token": 0}], indirect=True
)
def test_too_many_posts_from_one_address_get_429_and_store_nothing(limited: Web) -> None:
    slug = publish(limited, "nps")
    tokens = [invite(limited, slug, customer=f"c{i}") for i in range(3)]
    client = limited.client()
    forms = [_save_data(client, f"/i/{tok}") for tok in tokens]
    assert client.post(f"/i/{tokens[0]}", data=forms[0]).status_code == 200
    assert client.post(f"/i/{tokens[1]}", data=forms[1]).status_code == 200
    before = _drafts(limited)
    refused = client.post(f"/i/{tokens[2]}", data=forms[2], headers={"accept-language": "zh"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert t("web.error.too_many_title", "zh") in refused.text
    assert _drafts(limited) == before == 2


@pytest.mark.parametrize(
    "limited", [{"rate_limit_per_ip": 0, "rate_limit_per_token": 2}], indirect=True
)
def test_the_public_link_counts_its_cookie_token(limited: Web) -> None:
    slug = publish(limited, "nps", public=True)
    browser = limited.client()
    html = browser.get(f"/s/{slug}").text
    assert browser.post(f"/s/{slug}/start", data={"csrf": csrf_of(html)}).status_code == 200
    data = _save_data(browser, f"/s/{slug}")
    assert browser.post(f"/s/{slug}", data=data).status_code == 200
    assert browser.post(f"/s/{slug}", data=data).status_code == 200
    assert browser.post(f"/s/{slug}", data=data).status_code == 429
    # another browser (another token) on the same address goes on
    second = limited.client()
    html = second.get(f"/s/{slug}").text
    assert second.post(f"/s/{slug}/start", data={"csrf": csrf_of(html)}).status_code == 200
    assert second.post(f"/s/{slug}", data=_save_data(second, f"/s/{slug}")).status_code == 200


@pytest.mark.parametrize(
    "limited",
    [
        {"dev": True, "rate_limit_per_ip": 1, "rate_limit_per_token": 1},
        {"rate_limit_per_ip": 0, "rate_limit_per_token": 0},
    ],
    indirect=True,
)
def test_dev_mode_and_zero_turn_the_limits_off(limited: Web) -> None:
    slug = publish(limited, "nps")
    token = invite(limited, slug)
    client = limited.client()
    data = _save_data(client, f"/i/{token}")
    assert [client.post(f"/i/{token}", data=data).status_code for _ in range(5)] == [200] * 5


@pytest.mark.parametrize("limited", [{"max_form_bytes": 4000}], indirect=True)
def test_public_posts_over_the_size_limit_get_413_and_store_nothing(limited: Web) -> None:
    slug = publish(limited, "nps", public=True)
    browser = limited.client()
    html = browser.get(f"/s/{slug}").text
    assert browser.post(f"/s/{slug}/start", data={"csrf": csrf_of(html)}).status_code == 200
    data = _save_data(browser, f"/s/{slug}")
    big = browser.post(f"/s/{slug}", data={**data, "pad": "x" * 5000})
    assert big.status_code == 413
    assert t("web.error.too_large", "zh") in big.text
    assert t("web.error.too_large", "en") in big.text
    assert _drafts(limited) == 0
    # just under the limit is taken
    assert browser.post(f"/s/{slug}", data={**data, "pad": "x" * 3000}).status_code == 200
    assert _drafts(limited) == 1
