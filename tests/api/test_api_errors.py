"""One JSON error envelope for every kind of error of the API: 401, 403, 404 (also unknown
routes anywhere under /api), 405, 409, 413, 422 (FastAPI's own request validation too), 429
and 500; and no cookie is needed (no CSRF under /api)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.api.conftest import Api, assert_envelope, invite, publish
from tests.web.conftest import make_web

from allegiance.security import revoke_api_token, set_active
from allegiance.security.tokens import token_hash
from allegiance.store import db
from allegiance.store.admin import find_token
from allegiance.web.api.auth import RateLimiter


def test_401_without_or_with_a_bad_token(sqlite_api: Api) -> None:
    anonymous = sqlite_api.client()
    got = anonymous.get("/api/v1/surveys")
    assert_envelope(got, 401, "unauthorized")
    assert got.headers["www-authenticate"].startswith("Bearer")
    for header in ("Bearer alg_" + "x" * 43, "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "):
        got = anonymous.get("/api/v1/surveys", headers={"Authorization": header})
        assert_envelope(got, 401, "unauthorized")
    token = sqlite_api.token("analyst")
    client = sqlite_api.client(token)
    assert client.get("/api/v1/surveys").status_code == 200
    with sqlite_api.web.session() as s:
        set_active(s, "analyst", False, actor="test")
    assert_envelope(client.get("/api/v1/surveys"), 401)
    with sqlite_api.web.session() as s:
        set_active(s, "analyst", True, actor="test")
    assert client.get("/api/v1/surveys").status_code == 200
    with sqlite_api.web.session() as s:
        found = find_token(s, token_hash(token))
        assert found is not None
        revoke_api_token(s, found[0].id, actor="test")
    assert_envelope(client.get("/api/v1/surveys"), 401)


def test_403_names_the_permission(sqlite_api: Api) -> None:
    slug = publish(sqlite_api.web, "nps")
    got = sqlite_api.as_role("viewer").get(f"/api/v1/surveys/{slug}/responses")
    error = assert_envelope(got, 403, "forbidden")
    assert "responses.view_personal" in error["message"]
    assert "responses.view_personal" in error["message_zh"]


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v2/surveys", "/api/", "/api/v1/surveys/x/y/z"]
)
def test_404_for_unknown_routes_under_api(sqlite_api: Api, path: str) -> None:
    error = assert_envelope(sqlite_api.as_role("admin").get(path), 404, "not_found")
    assert path in error["message"]


def test_405_and_no_csrf_or_cookie_needed(sqlite_api: Api) -> None:
    client = sqlite_api.as_role("admin")
    assert_envelope(client.delete("/api/v1/surveys"), 405, "method_not_allowed")
    assert_envelope(client.put("/api/v1/surveys"), 405, "method_not_allowed")
    # a POST without any cookie or CSRF field is fine under /api (bearer tokens only)
    client.cookies.clear()
    got = client.post("/api/v1/surveys", json={"template": "nps"})
    assert got.status_code == 201, got.text


def test_422_for_every_kind_of_bad_request(sqlite_api: Api) -> None:
    client = sqlite_api.as_role("admin")
    missing = assert_envelope(client.post("/api/v1/surveys", json={}), 422, "validation_error")
    assert missing["details"][0]["loc"] == ["body", "template"]
    assert missing["details"][0]["code"] == "missing"
    assert "template" in missing["details"][0]["message_zh"]
    extra = assert_envelope(
        client.post("/api/v1/surveys", json={"template": "nps", "colour": "red"}), 422
    )
    assert extra["details"][0]["code"] == "extra_forbidden"
    broken = client.post(
        "/api/v1/surveys", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert assert_envelope(broken, 422)["details"][0]["code"] == "json_invalid"
    binary = client.post(
        "/api/v1/surveys", content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"}
    )
    assert_envelope(binary, 422)
    slug = client.post("/api/v1/surveys", json={"template": "nps", "slug": "Bad Slug!"})
    assert assert_envelope(slug, 422)["details"][0]["code"] == "string_pattern_mismatch"
    cursor = client.get("/api/v1/surveys", params={"cursor": "garbage"})
    assert_envelope(cursor, 422, "bad_cursor")
    number = client.get("/api/v1/surveys/x/invitations/abc")
    assert assert_envelope(number, 422)["details"][0]["loc"] == ["path", "invitation_id"]


def test_409_conflict(sqlite_api: Api) -> None:
    slug = publish(sqlite_api.web, "nps")
    got = sqlite_api.as_role("admin").post(f"/api/v1/surveys/{slug}/publish")
    error = assert_envelope(got, 409, "conflict")
    assert error["details"] == [{"code": "survey.store.already_published"}]


def test_413_429_and_500(
    tmp_path: Any, password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = db.sqlite_url(tmp_path / "small.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        api = Api(
            make_web(url, engine, password_hash, max_upload_bytes=2000, api_rate_per_minute=4)
        )
        client = api.as_role("admin", raise_server_exceptions=False)
        rows = [{"customer_id": f"customer-{i}", "email": f"c{i}@example.com"} for i in range(100)]
        big = client.post("/api/v1/surveys/x/invitations", json={"invitations": rows})
        assert_envelope(big, 413, "payload_too_large")

        from allegiance.store import paging

        def crash(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(paging, "surveys_page", crash)
        failed = client.get("/api/v1/surveys")
        error = assert_envelope(failed, 500, "server_error")
        assert "secret internals" not in failed.text
        assert error["details"] == []
        monkeypatch.undo()
        mounted = next(r.app for r in api.web.app.routes if getattr(r, "path", "") == "/api")
        assert mounted.state.api_limiter.per_minute == 4
        # a clock standing still in one minute, so the window cannot roll over mid-test
        mounted.state.api_limiter = RateLimiter(4, clock=lambda: 90.0)
        statuses = [client.get("/api/v1/surveys").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        limited = client.get("/api/v1/surveys")
        assert_envelope(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # another token has its own budget
        assert api.as_role("viewer").get("/api/v1/surveys").status_code == 200
    finally:
        engine.dispose()


def test_rate_limiter_windows() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a")] == [0, 0]
    assert limiter.hit("a") == 60  # over: wait for the next minute
    assert limiter.hit("b") == 0
    now[0] = 45.0
    assert limiter.hit("a") == 15
    now[0] = 61.0
    assert limiter.hit("a") == 0
    assert RateLimiter(0).hit("a") == 0  # 0: no limit


def test_422_for_nul_characters_which_no_database_can_store(api: Api) -> None:
    slug = publish(api.web, "nps")
    token = invite(api.web, slug)
    client = api.as_role("admin")
    base = f"/api/v1/surveys/{slug}"
    refused = [
        client.get("/api/v1/surveys/a%00b"),
        client.get(f"{base}/responses", params={"wave": "a\x00"}),
        client.post(f"{base}/invitations", json={"invitations": [{"customer_id": "a\x00"}]}),
        client.post(f"{base}/responses", json={"token": "a\x00", "answers": {"nps": 1}}),
        client.post(
            f"{base}/responses", json={"token": token, "answers": {"nps": 9, "comment": "a\x00b"}}
        ),
        client.post(f"{base}/publish", json={"wave": "a\x00"}),
    ]
    for got in refused:
        assert_envelope(got, 422, "validation_error")
    ok = client.post(f"{base}/responses", json={"token": token, "answers": {"nps": 9}})
    assert ok.status_code == 201  # the refusals wrote nothing
