"""Complaint pages: roles on every route, CSRF, escaping, logging and working a complaint
through the workflow (a forbidden move refused in both languages), filters, the summary,
and the closed loop through the public survey form."""

from __future__ import annotations

import html
import os
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest import Web, csrf_of, hidden, publish

from allegiance.complaints import register
from allegiance.store import repository as repo
from allegiance.store.models import AuditEntry, Complaint

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"

# (method, path, permission); {key} is a stored complaint's key
COMPLAINT_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/admin/complaints", "complaints.view"),
    ("GET", "/admin/complaints/summary", "complaints.view"),
    ("GET", "/admin/complaints/new", "complaints.work"),
    ("GET", "/admin/complaints/{key:path}", "complaints.view"),
    ("POST", "/admin/complaints", "complaints.work"),
    ("POST", "/admin/complaints/{key:path}/move", "complaints.work"),
    ("POST", "/admin/complaints/{key:path}/update", "complaints.work"),
]


def stored(web: Web, key: str = "K-1", **fields: Any) -> str:
    """One complaint logged through the register (as an agent would from the form)."""
    record = {
        "complaint_key": key,
        "received_at": "2025-03-01T09:00:00+00:00",
        "channel": "phone",
        "cause": "service_attitude",
        "text": "Rude on the phone",
        "customer_id": "CUST-1",
        **fields,
    }
    with web.session() as session:
        register.log_complaint(session, record)
    return key


def n_complaints(web: Web) -> int:
    with web.session() as session:
        return int(session.execute(select(func.count()).select_from(Complaint)).scalar_one())


def audit_actions(web: Web, key: str) -> list[str]:
    with web.session() as session:
        rows = session.execute(
            select(AuditEntry.action).where(AuditEntry.target_id == key).order_by(AuditEntry.id)
        ).all()
    return [r[0] for r in rows]


# ----------------------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer", "agent"])
def test_every_complaint_route_asks_for_its_permission(sqlite_web: Web, role: str) -> None:
    from allegiance.security import can

    key = stored(sqlite_web)
    client = sqlite_web.sign_in(sqlite_web.client(), role)
    csrf = csrf_of(client.get("/admin/account").text)
    anonymous = sqlite_web.client()
    anon_csrf = csrf_of(anonymous.get("/admin/login").text)
    for method, path, permission in COMPLAINT_ROUTES:
        url = path.replace("{key:path}", key)
        if method == "GET":
            got = client.get(url, follow_redirects=False)
            nobody = anonymous.get(url, follow_redirects=False)
        else:
            # harmless bodies: a move the workflow refuses, nothing to change, a bad time
            data = {"csrf": csrf, "target": "no-such-state", "received_at": "not a time"}
            got = client.post(url, data=data, follow_redirects=False)
            nobody = anonymous.post(url, data={"csrf": anon_csrf}, follow_redirects=False)
        assert nobody.status_code == 303, url
        assert nobody.headers["location"].startswith("/admin/login"), url
        if can(role, permission):
            assert got.status_code != 403, (role, method, url)
            if method == "GET":
                assert got.status_code == 200, (role, url, got.status_code)
        else:
            assert got.status_code == 403, (role, method, url, got.status_code)
            assert permission in got.text
    # the navigation: an agent sees complaints and no surveys; a viewer no complaints
    nav = client.get("/admin/account").text
    assert ('href="/admin/complaints"' in nav) == can(role, "complaints.view")
    assert ('href="/admin/surveys"' in nav) == can(role, "analyses.view")
    home = client.get("/admin", follow_redirects=False).headers["location"]
    if role == "agent":
        assert home == "/admin/complaints"
        assert client.get("/admin/surveys").status_code == 403


def test_every_complaint_post_needs_the_csrf_token(web: Web) -> None:
    key = stored(web)
    client = web.sign_in(web.client(), "admin")
    page = client.get(f"/admin/complaints/{key}").text
    assert 'action="/admin/complaints/K-1/move"' in page
    for _, path, _ in (r for r in COMPLAINT_ROUTES if r[0] == "POST"):
        url = path.replace("{key:path}", key)
        for data in ({}, {"csrf": "0" * 64}):
            got = client.post(url, data={**data, "target": "acknowledged"}, follow_redirects=False)
            assert got.status_code == 403, url
    with web.session() as session:
        assert repo.get_complaint(session, key)["status"] == "open"  # type: ignore[index]
    assert n_complaints(web) == 1


# ----------------------------------------------------------------------------- log and work


def test_log_a_complaint_from_the_form_escapes_and_audits(web: Web) -> None:
    agent = web.sign_in(web.client(), "agent")
    form = agent.get("/admin/complaints/new?lang=en").text
    assert "Service attitude" in form or "service_attitude" in form
    assert '<optgroup label="Cause class 2' in form
    zh_form = agent.get("/admin/complaints/new?lang=zh").text
    assert "服务态度" in zh_form
    sent = agent.post(
        "/admin/complaints",
        data={
            "csrf": csrf_of(form),
            "received_at": "2025-03-02T10:30",
            "channel": "email",
            "customer_id": "CUST-9",
            "product": "Router X",
            "cause": "service_attitude",
            "severity": "high",
            "text": XSS,
            "owner": "",
            "escalated_to": "media",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:400]
    location = sent.headers["location"]
    assert location.startswith("/admin/complaints/W202503021030-")
    key = location.split("/admin/complaints/")[1].split("?")[0]
    page = agent.get(location + "&lang=en").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "The complaint is logged." in page
    with web.session() as session:
        c = repo.get_complaint(session, key)
    assert c is not None
    assert (c["cause_code"], c["cause_class"], c["severity"], c["status"]) == (
        "service_attitude",
        2,
        "high",
        "open",
    )
    assert c["escalated_to"] == "media"
    assert c["text"] == XSS
    assert audit_actions(web, key) == ["complaint.log"]
    # the list shows it, escaped too
    listing = agent.get("/admin/complaints").text
    assert key in listing
    assert "<script>alert" not in listing


def test_a_bad_log_form_comes_back_with_a_bilingual_error(sqlite_web: Web) -> None:
    agent = sqlite_web.sign_in(sqlite_web.client(), "agent")
    form = agent.get("/admin/complaints/new").text
    data = {
        "csrf": csrf_of(form),
        "received_at": "yesterday",
        "channel": "phone",
        "cause": "service_attitude",
        "text": "kept text",
    }
    en = agent.post("/admin/complaints?lang=en", data=data)
    assert en.status_code == 400
    assert "is not a date and time" in en.text
    assert "kept text" in en.text  # what was typed stays
    zh = agent.post(
        "/admin/complaints?lang=zh",
        data={**data, "received_at": "2025-01-01T00:00", "cause": "nonsense"},
    )
    assert zh.status_code == 400
    assert "nonsense" in zh.text
    assert n_complaints(sqlite_web) == 0


def moves_of(html: str) -> list[str]:
    return re.findall(r'class="stack move" data-target="([a-z_]+)"', html)


def test_working_a_complaint_through_the_workflow(web: Web) -> None:
    key = stored(web)
    agent = web.sign_in(web.client(), "agent")
    admin = web.sign_in(web.client(), "admin")
    page = agent.get(f"/admin/complaints/{key}").text
    # exactly the moves the workflow allows an agent from "open"
    from allegiance.complaints import load_workflow

    wf = load_workflow()
    assert moves_of(page) == list(wf.allowed("open", role="agent"))
    csrf = csrf_of(page)

    def move(client: Any, target: str, **fields: str) -> Any:
        return client.post(
            f"/admin/complaints/{key}/move",
            data={"csrf": csrf, "target": target, **fields},
            follow_redirects=False,
        )

    assert move(agent, "acknowledged", owner="agent").status_code == 303
    assert move(agent, "resolved", resolution="refunded", compensation="25.5").status_code == 303
    with web.session() as session:
        c = repo.get_complaint(session, key)
    assert c is not None
    assert (c["status"], c["owner"], c["resolution"], c["compensation"]) == (
        "resolved",
        "agent",
        "refunded",
        25.5,
    )
    assert c["first_response_at"] is not None
    assert c["resolved_at"] is not None
    # the agent may reopen but not close (the default workflow's roles); the admin may close
    page = agent.get(f"/admin/complaints/{key}").text
    assert moves_of(page) == ["reopened"]
    assert set(moves_of(admin.get(f"/admin/complaints/{key}").text)) == {"closed", "reopened"}
    refused = move(agent, "closed")
    assert refused.status_code == 409
    # record the satisfaction after recovery, then close as the admin
    admin_csrf = csrf_of(admin.get(f"/admin/complaints/{key}").text)
    rec = admin.post(
        f"/admin/complaints/{key}/update",
        data={"csrf": admin_csrf, "satisfaction_after": "4", "note": "called back"},
        follow_redirects=False,
    )
    assert rec.status_code == 303
    closed = admin.post(
        f"/admin/complaints/{key}/move",
        data={"csrf": admin_csrf, "target": "closed"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    detail = admin.get(f"/admin/complaints/{key}?lang=en").text
    assert 'data-status="closed"' in detail
    assert moves_of(detail) == list(wf.allowed("closed"))
    history = register.history(web.engine, key)
    assert list(history["to_status"]) == ["open", "acknowledged", "resolved", "resolved", "closed"]
    assert list(history["actor"].fillna("")) == ["", "agent", "agent", "admin", "admin"]
    assert audit_actions(web, key) == [
        "complaint.move",
        "complaint.move",
        "complaint.update",
        "complaint.move",
    ]
    with web.session() as session:
        assert repo.get_complaint(session, key)["satisfaction_after"] == 4.0  # type: ignore[index]


def test_a_move_the_workflow_forbids_is_refused_in_both_languages(web: Web) -> None:
    key = stored(web)
    admin = web.sign_in(web.client(), "admin")
    csrf = csrf_of(admin.get(f"/admin/complaints/{key}").text)
    for lang, words in (
        ("en", 'A complaint in state "open" cannot move to "closed"'),
        ("zh", "处于“open”状态的投诉不能转为“closed”"),
    ):
        got = admin.post(
            f"/admin/complaints/{key}/move?lang={lang}",
            data={"csrf": csrf, "target": "closed"},
            follow_redirects=False,
        )
        assert got.status_code == 409
        assert words in html.unescape(got.text), got.text[-600:]
        assert "acknowledged, in_progress, resolved" in got.text
    with web.session() as session:
        assert repo.get_complaint(session, key)["status"] == "open"  # type: ignore[index]
    assert audit_actions(web, key) == []
    # satisfaction before resolution is refused too
    got = admin.post(
        f"/admin/complaints/{key}/update?lang=en",
        data={"csrf": csrf, "satisfaction_after": "5"},
    )
    assert got.status_code == 400
    assert "once the complaint is resolved" in got.text


def test_list_filters_pages_and_summary(web: Web) -> None:
    from allegiance.web.routes.complaints import PAGE_SIZE

    rows = []
    for i in range(PAGE_SIZE + 5):
        rows.append(
            {
                "complaint_key": f"B-{i:03d}",
                "received_at": "2020-01-01T00:00:00+00:00",
                "channel": "phone",
                "cause_code": "poor_quality" if i % 3 else "service_attitude",
                "cause_class": 1 if i % 3 else 2,
                "text": "",
                "severity": "low",
                "owner": "alice" if i < 10 else "bob",
                "status": "open",
            }
        )
    rows[0].update(
        status="resolved",
        resolved_at="2020-01-01T01:00:00+00:00",
        first_response_at="2020-01-01T01:00:00+00:00",
    )
    with web.session() as session:
        repo.save_complaints(session, rows)
    client = web.sign_in(web.client(), "analyst")

    def total(query: str) -> int:
        page = client.get(f"/admin/complaints{query}").text
        match = re.search(r'<p id="complaints-total">[^0-9]*(\d+)', page)
        assert match, page[:300]
        return int(match.group(1))

    n = len(rows)
    n_service = sum(1 for r in rows if r["cause_class"] == 2)
    assert total("") == n
    assert total("?cause_class=2") == n_service
    assert total("?cause=service_attitude") == n_service
    assert total("?status=resolved") == 1
    assert total("?owner=ALI") == 10
    assert total("?severity=low") == n
    assert total("?severity=critical") == 0
    # received in 2020: every unresolved one is long past its SLA, the resolved one was in time
    assert total("?overdue=yes") == n - 1
    assert total("?overdue=no") == 1
    first = client.get("/admin/complaints").text
    second = client.get("/admin/complaints?page=2").text
    assert len(re.findall(r"data-complaint=", first)) == PAGE_SIZE
    assert len(re.findall(r"data-complaint=", second)) == n - PAGE_SIZE
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    summary = client.get("/admin/complaints/summary?lang=en").text
    counts = [int(c) for c in re.findall(r'<tr(?: class="vital")? data-count="(\d+)"', summary)]
    assert counts == sorted([n - n_service, n_service], reverse=True)
    breached = [int(b) for b in re.findall(r'data-breached="(\d+)"', summary)]
    assert max(breached) == n - 1  # resolution, all severities: every unresolved one is late


# ----------------------------------------------------------------------------- closed loop


def answer_nps(client: Any, url: str, score: str, comment: str = "") -> None:
    html = client.get(url).text
    client.post(
        url,
        data={"csrf": csrf_of(html), "screen": "recommend", "action": "next", "q.nps": score},
    )
    html = client.get(url).text
    data: dict[str, Any] = {
        "csrf": csrf_of(html),
        "screen": hidden(html, "screen"),
        "action": "submit",
        "q.comment": comment,
    }
    if int(score) <= 6:
        data["q.detractor_reasons"] = ["price"]
    sent = client.post(url, data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text[:500]
    assert sent.headers["location"].endswith("/thanks")


def start_public(client: Any, slug: str) -> str:
    start = client.get(f"/s/{slug}", headers={"accept-language": "en"})
    went = client.post(
        f"/s/{slug}/start", data={"csrf": csrf_of(start.text), "lang": "en"}, follow_redirects=False
    )
    assert went.status_code == 303
    return f"/s/{slug}"


def test_a_detractor_through_the_public_form_opens_exactly_one_case(web: Web) -> None:
    slug = publish(web, "nps", public=True)
    detractor = web.client()
    answer_nps(detractor, start_public(detractor, slug), "3", comment=XSS)
    assert n_complaints(web) == 1
    promoter = web.client()
    answer_nps(promoter, start_public(promoter, slug), "9")
    assert n_complaints(web) == 1  # a promoter opens none
    # a second submission of the same link is refused and opens nothing
    html = detractor.get(f"/s/{slug}").text
    assert "already been used" in html
    assert n_complaints(web) == 1
    with web.session() as session:
        case = session.execute(select(Complaint)).scalar_one()
        assert (case.channel, case.cause_code, case.cause_class, case.status) == (
            "survey",
            "unclassified",
            4,
            "open",
        )
        assert case.response_id is not None
        assert case.lang == "en"
    agent = web.sign_in(web.client(), "agent")
    page = agent.get(f"/admin/complaints/{case.complaint_key}?lang=en").text
    assert f"survey response no. {case.response_id}" in page
    assert "nps=3" in page
    assert "<script>alert" not in page
    assert "Not classified yet" in page
    # the agent classifies it: the class comes from the taxonomy
    got = agent.post(
        f"/admin/complaints/{case.complaint_key}/update",
        data={"csrf": csrf_of(page), "cause": "paid_too_much"},
        follow_redirects=False,
    )
    assert got.status_code == 303
    with web.session() as session:
        c = repo.get_complaint(session, case.complaint_key)
    assert c is not None
    assert (c["cause_code"], c["cause_class"]) == ("paid_too_much", 1)


def test_a_company_taxonomy_and_workflow_from_the_settings_reach_the_pages(
    sqlite_web: Web, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALLEGIANCE_COMPLAINTS_TAXONOMY / _WORKFLOW replace the shipped files on the pages, the
    closed loop and the commands alike (docs/methods/complaints.md: a company file)."""
    from allegiance.complaints.handling import load_workflow
    from allegiance.complaints.taxonomy import load_taxonomy

    taxonomy = tmp_path / "telecom.yaml"
    taxonomy.write_text(
        "extends: default\nremove: [foreign_matter]\ncauses:\n"
        "  - {code: network_outage, class: 1, zh: 网络中断, en: Network outage}\n",
        encoding="utf-8",
    )
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(
        "extends: default\nseverities: [{code: critical, resolution_hours: 12}]\n",
        encoding="utf-8",
    )
    agent = sqlite_web.sign_in(sqlite_web.client(), "agent")
    assert "Network outage" not in agent.get("/admin/complaints/new?lang=en").text
    monkeypatch.setenv("ALLEGIANCE_COMPLAINTS_TAXONOMY", str(taxonomy))
    monkeypatch.setenv("ALLEGIANCE_COMPLAINTS_WORKFLOW", str(workflow))
    assert load_taxonomy().resolve("网络中断").code == "network_outage"
    assert load_workflow().severity("critical").resolution_hours == 12
    form = agent.get("/admin/complaints/new?lang=en").text
    assert "Network outage" in form
    assert "foreign_matter" not in form
    # a changed file is read again
    taxonomy.write_text(
        "extends: default\ncauses:\n  - {code: roaming_bill, class: 1, zh: 漫游账单, en: Roaming bill}\n",
        encoding="utf-8",
    )
    os.utime(taxonomy, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert "Roaming bill" in agent.get("/admin/complaints/new?lang=en").text
