"""Admin pages: sign-in, CSRF on every form, the role matrix on every admin route, audit
entries, escaping of free text, security headers and cookies, dashboards, health."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import (
    PASSWORD,
    SECRET,
    Web,
    answer_everything,
    csrf_of,
    hidden,
    invite,
    publish,
    walk_and_submit,
)

from allegiance.store.admin import list_audit
from allegiance.store.models import AuditEntry, Survey
from allegiance.web import WebSettings, create_app
from allegiance.web.app import route_table
from allegiance.web.security import CONTENT_SECURITY_POLICY

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def post_routes(app: Any) -> list[str]:
    return [path for method, path in route_table(app) if method == "POST"]


def fill(path: str, slug: str, token: str) -> str:
    return path.replace("{slug}", slug).replace("{token}", token).replace("{invitation_id}", "1")


# ----------------------------------------------------------------------------- sign-in


def test_sign_in_sign_out_and_session_cookie(sqlite_web: Web) -> None:
    client = sqlite_web.client()
    assert client.get("/admin/surveys", follow_redirects=False).headers["location"] == (
        "/admin/login?next=/admin/surveys"
    )
    form = client.get("/admin/login?next=/admin/surveys").text
    wrong = client.post(
        "/admin/login",
        data={"csrf": csrf_of(form), "username": "analyst", "password": "not the password"},
    )
    assert wrong.status_code == 401
    assert "al_session" not in wrong.headers.get("set-cookie", "")
    done = client.post(
        "/admin/login",
        data={
            "csrf": csrf_of(form),
            "username": "Analyst",
            "password": PASSWORD,
            "next": "/admin/surveys",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/surveys"
    cookies = done.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("al_session="))
    for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/admin"):
        assert flag.lower() in session.lower(), flag
    assert any(c.startswith("al_csrf=") for c in cookies)  # a new CSRF nonce at sign-in
    page = client.get("/admin/surveys")
    assert page.status_code == 200
    assert "analyst" in page.text
    assert (
        client.post(
            "/admin/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False
        ).status_code
        == 303
    )
    assert client.get("/admin/surveys", follow_redirects=False).status_code == 303
    with sqlite_web.session() as s:
        actions = [e.action for e in list_audit(s)]
    assert {"auth.login_failed", "auth.login", "auth.logout"} <= set(actions)


def test_tampered_or_expired_session_is_refused(sqlite_web: Web) -> None:
    client = sqlite_web.sign_in(sqlite_web.client(), "admin")
    assert client.get("/admin/surveys").status_code == 200
    value = client.cookies.get("al_session", path="/admin")
    assert value
    body, sig = value.split(".")
    client.cookies.set(
        "al_session", body + "." + ("0" * len(sig)), domain="testserver.local", path="/admin"
    )
    assert client.get("/admin/surveys", follow_redirects=False).status_code == 303
    import time

    from allegiance.web.security import SessionData, Signer

    old = SessionData(user_id=sqlite_web.users["admin"], issued_at=time.time() - 9 * 3600).write(
        Signer(SECRET)
    )
    client.cookies.set("al_session", old, domain="testserver.local", path="/admin")
    assert client.get("/admin/surveys", follow_redirects=False).status_code == 303


def test_login_next_is_never_an_outside_address(sqlite_web: Web) -> None:
    client = sqlite_web.client()
    form = client.get("/admin/login").text
    went = client.post(
        "/admin/login",
        data={
            "csrf": csrf_of(form),
            "username": "admin",
            "password": PASSWORD,
            "next": "//evil.example/admin",
        },
        follow_redirects=False,
    )
    assert went.headers["location"] == "/admin/surveys"


# ----------------------------------------------------------------------------- CSRF


def test_every_post_is_refused_without_the_csrf_token(web: Web) -> None:
    slug = publish(web, "nps", public=True)
    token = invite(web, slug)
    routes = post_routes(web.app)
    assert len(routes) >= 10
    client = web.sign_in(web.client(), "admin")
    client.get("/admin/surveys")  # has a CSRF cookie now
    for path in routes:
        url = fill(path, slug, token)
        for data in ({}, {"csrf": "0" * 64}):
            got = client.post(
                url,
                data={**data, "username": "admin", "password": PASSWORD},
                follow_redirects=False,
            )
            assert got.status_code == 403, (url, got.status_code)
            assert "form had expired" in got.text or "表单已过期" in got.text
    # a token from another visitor's cookie does not fit this visitor's cookie
    other = web.client()
    foreign = csrf_of(other.get(f"/i/{token}").text)
    got = client.post(
        f"/admin/surveys/{slug}/close", data={"csrf": foreign}, follow_redirects=False
    )
    assert got.status_code == 403
    with web.session() as s:
        assert (
            s.execute(select(Survey.status).where(Survey.slug == slug)).scalar_one() == "published"
        )


# ----------------------------------------------------------------------------- roles

# (method, path, permission or None for any signed-in user)
ADMIN_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/admin/surveys", "analyses.view"),
    ("GET", "/admin/surveys/{slug}", "analyses.view"),
    ("GET", "/admin/surveys/{slug}/dashboard", "analyses.view"),
    ("GET", "/admin/surveys/{slug}/responses", "responses.view_personal"),
    ("GET", "/admin/surveys/{slug}/responses/export?format=csv", "responses.export_raw"),
    ("GET", "/admin/surveys/{slug}/invitations", "invitations.manage"),
    ("GET", "/admin/surveys/{slug}/invitations.csv", "invitations.manage"),
    ("GET", "/admin/invitations/{invitation_id}/qr.svg", "invitations.manage"),
    ("GET", "/admin/surveys/{slug}/qr.svg", "surveys.manage"),
    ("POST", "/admin/surveys", "surveys.manage"),
    ("POST", "/admin/surveys/{slug}/publish", "surveys.manage"),
    ("POST", "/admin/surveys/{slug}/close", "surveys.manage"),
    ("POST", "/admin/surveys/{slug}/public-link", "surveys.manage"),
    ("POST", "/admin/surveys/{slug}/invitations", "invitations.manage"),
    ("POST", "/admin/surveys/{slug}/invitations/send", "invitations.manage"),
]


def test_route_table_covers_every_admin_route(sqlite_web: Web) -> None:
    from tests.web.test_web_complaints import COMPLAINT_ROUTES  # checked there, per role

    listed = {(m, p.split("?")[0]) for m, p, _ in ADMIN_ROUTES + COMPLAINT_ROUTES}
    free = {
        ("GET", "/admin"),
        ("GET", "/admin/"),
        ("GET", "/admin/login"),
        ("POST", "/admin/login"),
        ("POST", "/admin/logout"),
        ("GET", "/admin/account"),
        # a job's page asks for the permission of that job's work (the sending job's is
        # invitations.manage: tests/web/test_web_invitations.py)
        ("GET", "/admin/jobs/{job_id}"),
        ("GET", "/admin/jobs/{job_id}/status"),
    }
    admin_routes = [(m, p) for m, p in route_table(sqlite_web.app) if p.startswith("/admin")]
    assert len(admin_routes) >= len(listed)
    for method, path in admin_routes:
        if method == "HEAD":
            continue
        assert (method, path) in listed | free, (method, path)


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer", "agent"])
def test_every_admin_route_asks_for_its_permission(sqlite_web: Web, role: str) -> None:
    from allegiance.security import can

    slug = publish(sqlite_web, "nps")
    invite(sqlite_web, slug)
    client = sqlite_web.sign_in(sqlite_web.client(), role)
    page = client.get("/admin/account").text
    csrf = csrf_of(page)
    anonymous = sqlite_web.client()
    for method, path, permission in ADMIN_ROUTES:
        url = fill(path, slug, "x")
        if method == "GET":
            got = client.get(url, follow_redirects=False)
            nobody = anonymous.get(url, follow_redirects=False)
        else:
            # a harmless body: creating from a template that does not exist, closing twice ...
            got = client.post(
                url,
                data={"csrf": csrf, "template": "no-such", "kind": "invite", "enabled": "1"},
                follow_redirects=False,
            )
            anon_page = anonymous.get("/admin/login").text
            nobody = anonymous.post(url, data={"csrf": csrf_of(anon_page)}, follow_redirects=False)
        assert nobody.status_code == 303, url
        assert nobody.headers["location"].startswith("/admin/login"), url
        if can(role, permission):
            assert got.status_code != 403, (role, method, url, got.status_code)
            assert not got.headers.get("location", "").startswith("/admin/login"), (role, url)
            if method == "GET" and "export" not in url:
                assert got.status_code == 200, (role, url, got.status_code)
        else:
            assert got.status_code == 403, (role, method, url, got.status_code)
            assert permission in got.text


def test_viewer_sees_dashboards_but_no_personal_data(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    token = invite(sqlite_web, slug, language="en", customer="CUST-SECRET-42")
    walk_and_submit(sqlite_web.client(), f"/i/{token}")
    viewer = sqlite_web.sign_in(sqlite_web.client(), "viewer")
    for url in (f"/admin/surveys/{slug}", f"/admin/surveys/{slug}/dashboard", "/admin/surveys"):
        page = viewer.get(url)
        assert page.status_code == 200
        assert "CUST-SECRET-42" not in page.text
        assert token not in page.text
        assert "/responses" not in page.text
        assert "/invitations" not in page.text
    assert viewer.get(f"/admin/surveys/{slug}/responses").status_code == 403
    assert viewer.get(f"/admin/surveys/{slug}/responses/export?format=csv").status_code == 403
    analyst = sqlite_web.sign_in(sqlite_web.client(), "analyst")
    assert "CUST-SECRET-42" in analyst.get(f"/admin/surveys/{slug}/responses").text


# ----------------------------------------------------------------------------- actions


def test_survey_lifecycle_from_the_admin_is_audited(web: Web) -> None:
    client = web.sign_in(web.client(), "analyst")
    csrf = csrf_of(client.get("/admin/surveys").text)
    made = client.post(
        "/admin/surveys",
        data={"csrf": csrf, "template": "calculation_standard", "slug": "cs-2025"},
        follow_redirects=False,
    )
    assert made.headers["location"] == "/admin/surveys/cs-2025?msg=created"
    assert "draft" in client.get("/admin/surveys/cs-2025").text
    assert (
        client.post(
            "/admin/surveys/cs-2025/publish",
            data={"csrf": csrf, "wave": "2025Q1"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    twice = client.post(
        "/admin/surveys/cs-2025/publish", data={"csrf": csrf}, follow_redirects=False
    )
    assert twice.status_code == 409
    assert "已经发布" in twice.text
    assert (
        client.post(
            "/admin/surveys/cs-2025/public-link",
            data={"csrf": csrf, "enabled": "1"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    detail = client.get("/admin/surveys/cs-2025?msg=public_on").text
    assert 'src="/admin/surveys/cs-2025/qr.svg"' in detail
    assert "https://testserver/s/cs-2025" in detail
    assert (
        client.post(
            "/admin/surveys/cs-2025/close", data={"csrf": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    with web.session() as s:
        entries = (
            s.execute(
                select(AuditEntry).where(AuditEntry.target_id == "cs-2025").order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    assert [e.action for e in entries] == [
        "survey.create",
        "survey.publish",
        "survey.public_link",
        "survey.close",
    ]
    assert {e.actor for e in entries} == {"analyst"}
    assert entries[1].details == {"wave": "2025Q1"}


def test_free_text_comes_back_escaped_in_the_admin(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    token = invite(sqlite_web, slug, language="en", customer=XSS)
    client = sqlite_web.client()
    html = client.get(f"/i/{token}").text
    client.post(
        f"/i/{token}",
        data={"csrf": csrf_of(html), "screen": "recommend", "action": "next", "q.nps": "2"},
    )
    html = client.get(f"/i/{token}").text
    sent = client.post(
        f"/i/{token}",
        data={
            "csrf": csrf_of(html),
            "screen": hidden(html, "screen"),
            "action": "submit",
            "q.detractor_reasons": ["other"],
            "q.detractor_reasons.other": XSS,
            "q.comment": XSS,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    admin = sqlite_web.sign_in(sqlite_web.client(), "admin")
    for url in (f"/admin/surveys/{slug}/responses", f"/admin/surveys/{slug}/invitations"):
        page = admin.get(url).text
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, url
    # and on the form itself, when the page is shown again with the text in it
    token2 = invite(sqlite_web, slug, language="en", customer="c2")
    html = client.get(f"/i/{token2}").text
    client.post(
        f"/i/{token2}",
        data={"csrf": csrf_of(html), "screen": "recommend", "action": "next", "q.nps": "2"},
    )
    html = client.get(f"/i/{token2}").text
    again = client.post(
        f"/i/{token2}",
        data={
            "csrf": csrf_of(html),
            "screen": hidden(html, "screen"),
            "action": "submit",
            "q.comment": XSS,
        },
    )
    assert again.status_code == 422
    assert "<script>alert" not in again.text
    assert "&lt;script&gt;" in again.text


def test_responses_browse_filters_and_pages(web: Web) -> None:
    slug = publish(web, "ces")
    for i, lang in enumerate(["zh", "en", "en"]):
        walk_and_submit(web.client(), f"/i/{invite(web, slug, language=lang, customer=f'c{i}')}")
    started = invite(web, slug, language="zh", customer="halfway")
    client = web.client()
    html = client.get(f"/i/{started}").text
    client.post(
        f"/i/{started}",
        data={"csrf": csrf_of(html), "screen": hidden(html, "screen"), "action": "save"},
    )
    admin = web.sign_in(web.client(), "analyst")

    def total(query: str) -> int:
        page = admin.get(f"/admin/surveys/{slug}/responses{query}").text
        match = re.search(r'<p id="resp-total">[^0-9]*(\d+)', page)
        assert match, page[:300]
        return int(match.group(1))

    assert total("") == 3
    assert total("?language=en") == 2
    assert total("?language=zh&complete=yes") == 1
    assert total("?complete=no") == 1
    assert total("?complete=all") == 4
    assert total("?wave=W1") == 3
    assert total("?since=2999-01-01") == 0
    assert total("?until=2000-01-01") == 0


def test_export_through_the_exchange_module(web: Web) -> None:
    import importlib.util

    slug = publish(web, "ces")
    walk_and_submit(web.client(), f"/i/{invite(web, slug, language='en', customer='CUST-7')}")
    admin = web.sign_in(web.client(), "admin")
    got = admin.get(f"/admin/surveys/{slug}/responses/export?format=csv")
    if importlib.util.find_spec("allegiance.survey.exchange") is None:  # pragma: no cover
        assert got.status_code == 501  # said plainly, never a half-made file
        return
    assert got.status_code == 200
    assert got.headers["content-disposition"] == f'attachment; filename="{slug}-responses.csv"'
    assert got.headers["content-type"].startswith("text/csv")
    assert "CUST-7" in got.content.decode("utf-8-sig")
    hidden_ids = admin.get(f"/admin/surveys/{slug}/responses/export?format=csv&pseudonymise=1")
    assert hidden_ids.status_code == 200
    assert "CUST-7" not in hidden_ids.content.decode("utf-8-sig")
    for fmt, magic in (("xlsx", b"PK"), ("sav", b"$FL")):
        binary = admin.get(f"/admin/surveys/{slug}/responses/export?format={fmt}")
        assert binary.status_code == 200, fmt
        assert binary.content.startswith(magic), fmt
    assert admin.get(f"/admin/surveys/{slug}/responses/export?format=exe").status_code == 400
    with web.session() as s:
        exports = [e.details for e in list_audit(s) if e.action == "responses.export"]
    assert sorted((d["format"], d["pseudonymise"]) for d in exports) == [
        ("csv", False),
        ("csv", True),
        ("sav", False),
        ("xlsx", False),
    ]


# ----------------------------------------------------------------------------- dashboards


def test_dashboard_figures_follow_the_definitions(web: Web) -> None:
    slug = publish(web, "nps")
    # four respondents: 10, 9 (promoters), 8 (passive), 2 (detractor) -> NPS = 50% - 25% = 25
    for i, score in enumerate(["10", "9", "8", "2"]):
        client = web.client()
        token = invite(web, slug, language="en", customer=f"c{i}")
        html = client.get(f"/i/{token}").text
        client.post(
            f"/i/{token}",
            data={"csrf": csrf_of(html), "screen": "recommend", "action": "next", "q.nps": score},
        )
        html = client.get(f"/i/{token}").text
        data: dict[str, Any] = {
            "csrf": csrf_of(html),
            "screen": hidden(html, "screen"),
            "action": "submit",
        }
        if score == "2":
            data["q.detractor_reasons"] = ["price"]
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
    viewer = web.sign_in(web.client(), "viewer")
    page = viewer.get(f"/admin/surveys/{slug}/dashboard").text
    figures = dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', page))
    assert float(figures["nps.nps"]) == pytest.approx(25.0)
    assert int(figures["responses.responses"]) == 4
    assert '<script src="/static/plotly.min.js' in page
    assert 'type="application/json" id="chart-nps-nps_shares-json"' in page
    assert "cdn" not in page.lower()


def test_dashboard_csi_of_all_very_satisfied_is_100(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "calculation_standard")
    token = invite(sqlite_web, slug, language="zh")
    client = sqlite_web.client()
    for _ in range(10):
        html = client.get(f"/i/{token}").text
        data = {**answer_everything(html), "csrf": csrf_of(html), "screen": hidden(html, "screen")}
        for name in data:
            if name.startswith("q.cs_"):
                data[name] = "5"  # 很满意 for every factor: every DC is 1, so CSI = 100
        last = 'value="submit"' in html
        data["action"] = "submit" if last else "next"
        sent = client.post(f"/i/{token}", data=data, follow_redirects=False)
        assert sent.status_code == 303, re.findall(
            r'class="errors"[^>]*>(.*?)</ul>', sent.text, re.S
        )
        if last:
            break
    page = (
        sqlite_web.sign_in(sqlite_web.client(), "viewer")
        .get(f"/admin/surveys/{slug}/dashboard")
        .text
    )
    figures = dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', page))
    assert float(figures["csi.csi"]) == pytest.approx(100.0)
    assert 'id="section-trends"' in page


# ----------------------------------------------------------------------------- plumbing


def test_security_headers_on_every_kind_of_page(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    token = invite(sqlite_web, slug)
    client = sqlite_web.client()
    for url in (
        "/",
        f"/i/{token}",
        "/admin/login",
        "/healthz",
        "/no/such/page",
        "/static/allegiance.css",
    ):
        got = client.get(url)
        assert got.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        assert "frame-ancestors 'none'" in got.headers["content-security-policy"]
        assert "'unsafe-inline'" not in got.headers["content-security-policy"]
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["referrer-policy"] == "no-referrer"
    form = client.get(f"/i/{token}")
    assert form.headers["cache-control"] == "no-store"
    assert "<script>" not in form.text
    assert " on" + "click=" not in form.text
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/static/../settings.py").status_code == 404


def test_form_posts_over_the_size_limit_are_refused(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    token = invite(sqlite_web, slug)
    client = sqlite_web.client()
    html = client.get(f"/i/{token}").text
    big = client.post(
        f"/i/{token}",
        data={"csrf": csrf_of(html), "screen": "recommend", "q.nps": "1", "pad": "x" * 1_100_000},
    )
    assert big.status_code == 413


def test_healthz_reports_the_database(sqlite_web: Web, tmp_path: Any) -> None:
    assert sqlite_web.client().get("/healthz").json()["status"] == "ok"
    down = create_app(
        WebSettings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none"),
        secret=SECRET,
        check_schema=False,
    )
    from fastapi.testclient import TestClient

    got = TestClient(down).get("/healthz")
    assert got.status_code == 503
    assert got.json()["database"] == "unreachable"


def test_old_schema_or_missing_secret_stop_the_start(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allegiance.errors import ConfigError, StoreError
    from allegiance.store import db

    url = db.sqlite_url(tmp_path / "old.db")
    db.upgrade(url, "0001")
    with pytest.raises(StoreError, match="allegiance db upgrade"):
        create_app(WebSettings(database_url=url), secret=SECRET)
    db.upgrade(url)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY", raising=False)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY_FILE", raising=False)
    with pytest.raises(ConfigError):
        create_app(WebSettings(database_url=url))
    assert create_app(WebSettings(database_url=url, dev=True)) is not None
