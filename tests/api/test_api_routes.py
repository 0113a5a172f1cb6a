"""What the API routes do: the life of a survey, invitations in bulk, submitting a response
once, listing responses with filters, paging round trips and the dashboard's results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.api.conftest import Api, assert_envelope, invite, publish
from tests.web.conftest import answer_everything, csrf_of, hidden

from allegiance.store import surveys as store
from allegiance.store.admin import list_audit
from allegiance.web.api.schemas import MAX_ID, encode_cursor


def all_pages(client: Any, url: str, *, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        got = client.get(url, params=query)
        assert got.status_code == 200, got.text
        body = got.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def test_survey_life_through_the_api(api: Api) -> None:
    admin = api.as_role("analyst")
    made = admin.post("/api/v1/surveys", json={"template": "nps", "slug": "nps-2025"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["slug"], body["status"], body["version"], body["template"]) == (
        "nps-2025",
        "draft",
        1,
        "nps",
    )
    assert body["definition"]["code"] == "nps-2025"
    assert body["title"]["zh"]
    assert body["title"]["en"]
    again = admin.post("/api/v1/surveys", json={"template": "nps", "slug": "nps-2025"})
    assert_envelope(again, 409, "conflict")
    unknown = admin.post("/api/v1/surveys", json={"template": "no-such", "slug": "x"})
    assert "nps" in assert_envelope(unknown, 422)["message"]

    published = admin.post("/api/v1/surveys/nps-2025/publish", json={"wave": "2025Q1"})
    assert published.status_code == 200, published.text
    assert (published.json()["status"], published.json()["wave"]) == ("published", "2025Q1")
    assert_envelope(admin.post("/api/v1/surveys/nps-2025/publish"), 409, "conflict")
    closed = admin.post("/api/v1/surveys/nps-2025/close")
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    assert_envelope(admin.post("/api/v1/surveys/nps-2025/close"), 409, "conflict")
    missing = assert_envelope(admin.post("/api/v1/surveys/nope/close"), 404, "not_found")
    assert "nope" in missing["message"]
    assert "nope" in missing["message_zh"]

    listed = admin.get("/api/v1/surveys").json()
    assert [s["slug"] for s in listed["items"]] == ["nps-2025"]
    detail = admin.get("/api/v1/surveys/nps-2025").json()
    assert detail["definition"]["pages"][0]["questions"][0]["id"] == "nps"
    with api.web.session() as s:
        actions = [(e.action, e.actor, e.target_id) for e in list_audit(s, limit=None)]
    assert ("survey.create", "analyst", "nps-2025") in actions
    assert ("survey.publish", "analyst", "nps-2025") in actions
    assert ("survey.close", "analyst", "nps-2025") in actions


def test_invitations_in_bulk_paged_and_all_or_nothing(api: Api) -> None:
    slug = publish(api.web, "nps")
    client = api.as_role("admin")
    rows = [
        {
            "customer_id": f"C{i:03d}",
            "email": f"c{i}@example.com",
            "language": "zh" if i % 2 else "en",
        }
        for i in range(7)
    ]
    made = client.post(f"/api/v1/surveys/{slug}/invitations", json={"invitations": rows})
    assert made.status_code == 201, made.text
    items = made.json()["items"]
    assert [i["customer_id"] for i in items] == [r["customer_id"] for r in rows]
    assert all(i["link"] == f"https://testserver/i/{i['token']}" for i in items)
    assert {i["wave"] for i in items} == {"W1"}
    assert len({i["token"] for i in items}) == 7

    url = f"/api/v1/surveys/{slug}/invitations"
    pages = all_pages(client, url, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    ids = [i["id"] for p in pages for i in p]
    assert ids == sorted(ids)
    assert ids == [i["id"] for i in items]

    # a row added between two pages neither repeats nor hides a row
    first = client.get(url, params={"limit": 4}).json()
    invite(api.web, slug, customer="late")
    rest = all_pages(client, url, limit=4, cursor=first["next_cursor"])
    later = [i["customer_id"] for p in rest for i in p]
    assert [i["customer_id"] for i in first["items"]] + later == [
        *[r["customer_id"] for r in rows],
        "late",
    ]

    beyond = client.get(url, params={"cursor": encode_cursor(MAX_ID)})
    assert beyond.json() == {"items": [], "next_cursor": None}
    assert_envelope(client.get(url, params={"cursor": encode_cursor(MAX_ID + 1)}), 422)

    one = client.get(f"{url}/{items[2]['id']}")
    assert one.json() == items[2]
    other = publish(api.web, "ces")
    assert_envelope(client.get(f"/api/v1/surveys/{other}/invitations/{items[2]['id']}"), 404)

    bad = [*rows[:2], {"customer_id": "X", "email": "not-an-address"}]
    refused = assert_envelope(client.post(url, json={"invitations": bad}), 422)
    assert "2" in refused["message"]
    assert "email" in refused["message"]
    with api.web.session():
        assert len(store.invitations_frame(api.web.engine, slug)) == 8  # nothing added
    assert_envelope(client.post(url, json={"invitations": [{"phone": "1"}]}), 422)
    assert_envelope(client.post(url, json={"invitations": []}), 422)


def test_submit_a_response_once_with_checked_answers(api: Api) -> None:
    slug = publish(api.web, "nps")
    token = invite(api.web, slug, customer="C1")
    client = api.as_role("analyst")
    url = f"/api/v1/surveys/{slug}/responses"
    wrong = assert_envelope(client.post(url, json={"token": token, "answers": {"nps": 11}}), 422)
    assert [d["question"] for d in wrong["details"]] == ["nps"]
    assert wrong["details"][0]["message_zh"]
    missing = assert_envelope(client.post(url, json={"token": token, "answers": {"nps": 2}}), 422)
    assert [d["question"] for d in missing["details"]] == ["detractor_reasons"]

    sent = client.post(
        url,
        json={"token": token, "answers": {"nps": "9", "comment": "好"}, "language": "zh"},
        headers={"User-Agent": "kiosk/1"},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["answers"] == {"nps": 9, "comment": "好"}  # cleaned: text digits made numbers
    assert (body["customer_id"], body["language"], body["source"], body["wave"]) == (
        "C1",
        "zh",
        "web",
        "W1",
    )
    twice = client.post(url, json={"token": token, "answers": {"nps": 9}})
    assert_envelope(twice, 409, "conflict")
    assert_envelope(client.post(url, json={"token": "x" * 32, "answers": {"nps": 9}}), 404)
    other = publish(api.web, "ces")
    foreign = invite(api.web, other)
    assert_envelope(client.post(url, json={"token": foreign, "answers": {"nps": 9}}), 404)
    late = invite(api.web, slug)
    with api.web.session() as s:
        store.close_survey(s, slug)
    assert_envelope(client.post(url, json={"token": late, "answers": {"nps": 9}}), 409)
    got = client.get(f"{url}/{body['id']}")
    assert got.json() == body
    with api.web.session() as s:
        submits = [e for e in list_audit(s, limit=None) if e.action == "responses.submit"]
    assert len(submits) == 1
    assert submits[0].details["via"] == "api"


def test_responses_paged_and_filtered(api: Api) -> None:
    slug = publish(api.web, "nps")
    client = api.as_role("admin")
    url = f"/api/v1/surveys/{slug}/responses"
    tokens = [invite(api.web, slug, customer=f"a{i}") for i in range(3)]
    with api.web.session() as s:
        later = store.create_invitations(
            s, slug, [{"customer_id": f"b{i}"} for i in range(2)], wave="W2"
        )
    tokens += [inv.token for inv in later]
    for i, token in enumerate(tokens):
        sent = client.post(url, json={"token": token, "answers": {"nps": 7 + i % 3}})
        assert sent.status_code == 201, sent.text
    pages = all_pages(client, url, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["customer_id"] for p in pages for r in p] == ["a0", "a1", "a2", "b0", "b1"]
    in_w2 = all_pages(client, url, limit=1, wave="W2")
    assert [r["customer_id"] for p in in_w2 for r in p] == ["b0", "b1"]
    now = datetime.now(UTC)
    assert client.get(url, params={"since": (now + timedelta(hours=1)).isoformat()}).json() == {
        "items": [],
        "next_cursor": None,
    }
    until = client.get(url, params={"until": (now + timedelta(hours=1)).isoformat()}).json()
    assert len(until["items"]) == 5
    before = client.get(url, params={"until": (now - timedelta(hours=1)).isoformat()}).json()
    assert before["items"] == []
    assert_envelope(client.get(url, params={"since": "yesterday"}), 422, "validation_error")
    late = client.get(url, params={"until": "9999-12-31T23:00:00-05:00"})
    assert_envelope(late, 422, "validation_error")


@pytest.mark.parametrize(("limit", "ok"), [(0, False), (1, True), (500, True), (501, False)])
def test_limit_bounds(sqlite_api: Api, limit: int, ok: bool) -> None:
    got = sqlite_api.as_role("viewer").get("/api/v1/surveys", params={"limit": limit})
    if ok:
        assert got.status_code == 200
    else:
        error = assert_envelope(got, 422, "validation_error")
        assert error["details"][0]["loc"] == ["query", "limit"]


def test_results_are_the_dashboard_figures(api: Api) -> None:
    slug = publish(api.web, "nps")
    viewer = api.as_role("viewer")
    empty = viewer.get(f"/api/v1/surveys/{slug}/results").json()
    assert (empty["n_responses"], empty["nps"], empty["csat"], empty["csi"]) == (0, [], [], None)
    scores = [10, 9, 9, 8, 7, 3, 10, 0, 6, 9]
    with api.web.session() as s:
        made = store.create_invitations(s, slug, len(scores))
        for inv, score in zip(made, scores, strict=True):
            answers: dict[str, Any] = {"nps": score}
            if score <= 6:
                answers["detractor_reasons"] = ["price"]
            store.submit_response(s, inv.token, answers)
    got = viewer.get(f"/api/v1/surveys/{slug}/results")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["n_responses"] == len(scores)
    (nps,) = body["nps"]
    # NPS by its definition (Reichheld 2003): % promoters (9-10) minus % detractors (0-6)
    promoters = sum(s >= 9 for s in scores) / len(scores)
    detractors = sum(s <= 6 for s in scores) / len(scores)
    assert nps["question"] == "nps"
    assert nps["n"] == len(scores)
    assert nps["nps"] == pytest.approx(100 * (promoters - detractors))
    assert nps["pct_promoters"] == pytest.approx(promoters)
    assert nps["ci_low"] < nps["nps"] < nps["ci_high"]
    assert body["csi"] is None


def test_results_csi_and_csat_of_all_very_satisfied(sqlite_api: Api) -> None:
    web = sqlite_api.web
    slug = publish(web, "calculation_standard")
    token = invite(web, slug, language="zh")
    client = web.client()
    for _ in range(10):
        html = client.get(f"/i/{token}").text
        data = {**answer_everything(html), "csrf": csrf_of(html), "screen": hidden(html, "screen")}
        for name in data:
            if name.startswith("q.cs_"):
                data[name] = "5"  # 很满意 for every factor: every DC is 1, so CSI = 100
        last = 'value="submit"' in html
        data["action"] = "submit" if last else "next"
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
        if last:
            break
    body = sqlite_api.as_role("viewer").get(f"/api/v1/surveys/{slug}/results").json()
    assert body["n_responses"] == 1
    assert body["csi"]["csi"] == pytest.approx(100.0)
    assert body["csi"]["ci_low"] <= body["csi"]["csi"] <= body["csi"]["ci_high"]
    assert body["csi"]["factors"]
    assert all(f["dc"] == pytest.approx(1.0) for f in body["csi"]["factors"])
    cs = [c for c in body["csat"] if c["question"].startswith("cs_")]
    assert cs
    assert all(c["top2_box"] == pytest.approx(1.0) and c["points"] == 5 for c in cs)
