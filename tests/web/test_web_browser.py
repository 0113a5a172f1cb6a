"""The web app in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), against ``allegiance serve`` started on a free port.

A respondent answers the NPS survey in Chinese through the public link, another in English
through a personal invitation; an analyst signs in and finds both responses and the
dashboard's chart drawn. A second test checks the progressive enhancement: the live AHP
consistency ratio and the allocation total. Nothing may be requested from anywhere but the
server, and no page may log an error (a CSP violation would).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD
from tests.web.test_web_form import EVERY_TYPE

from allegiance.security.passwords import hash_password
from allegiance.store import admin, db
from allegiance.store import surveys as store
from allegiance.survey.definition import parse_definition
from allegiance.web.queries import set_public_link

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = db.sqlite_url(tmp_path / "cx.db")
    db.upgrade(url)
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        store.create_survey_from_template(session, "nps", slug="nps")
        store.publish_survey(session, "nps", wave="2025Q1")
        set_public_link(session, "nps", True, actor="test", ip=None)
        store.create_survey_from_definition(session, parse_definition(EVERY_TYPE))
        store.publish_survey(session, "every-type", wave="W1")
        admin.add_user(
            session, username="ana", role="analyst", password_hash=hash_password(PASSWORD)
        )
    engine.dispose()
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "ALLEGIANCE_SECRET_KEY": "browser-test-secret-" * 3}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "allegiance",
                "serve",
                "--url",
                url,
                "--port",
                str(port),
                "--dev",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the server did not start:\n{log.read_text(errors='replace')}"
                )
            time.sleep(0.2)
        yield Server(base=base, url=url, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def chromium(_chromium: Any) -> Any:  # the session's browser (tests/conftest.py)
    return _chromium


@dataclass
class Watched:
    page: Any
    errors: list[str]
    requests: list[str]


def watched(browser: Any, **options: Any) -> Watched:
    context = browser.new_context(service_workers="block", **options)
    page = context.new_page()
    seen = Watched(page=page, errors=[], requests=[])
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("request", lambda r: seen.requests.append(r.url))
    return seen


def only_the_server(seen: Watched, server: Server, *, expected: tuple[str, ...] = ()) -> None:
    assert [e for e in seen.errors if not any(x in e for x in expected)] == []
    assert [u for u in seen.requests if not u.startswith((server.base, "data:"))] == []


def test_answer_in_chinese_and_english_then_find_both_in_the_admin(
    chromium: Any, server: Server
) -> None:
    # --- a respondent with a phone, in Chinese, through the public link
    zh = watched(
        chromium,
        locale="zh-CN",
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    page = zh.page
    page.goto(f"{server.base}/s/nps?lang=zh")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_role("button", name="开始作答").click()
    page.get_by_role("radiogroup").get_by_text("9", exact=True).click()
    page.get_by_role("button", name="下一页").click()
    page.get_by_label("速度快").check()
    page.get_by_label("您给出这个分数的主要原因是什么？").fill("网点排队时间短，服务很好")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/s/nps/thanks")
    assert "感谢您的反馈！" in page.content()
    only_the_server(zh, server)

    # --- a respondent at a desk, in English, through a personal invitation; first a mistake
    engine = db.make_engine(server.url)
    with db.session_factory(engine)() as session:
        token = store.create_invitations(
            session, "nps", [{"customer_id": "C-42", "language": "en"}]
        )[0].token
    engine.dispose()
    en = watched(chromium, locale="en-GB")
    page = en.page
    page.goto(f"{server.base}/i/{token}")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Next").click()  # nothing answered
    assert "Please answer this question." in page.locator("#q-nps").inner_text()
    page.get_by_role("radiogroup").get_by_text("3", exact=True).click()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Price").check()
    page.get_by_label("What is the main reason for your score?").fill("Too expensive <b>really</b>")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/i/{token}/thanks")
    assert "Thank you for your feedback." in page.content()
    # the page with the mistake came back as 422, which chromium notes in its console
    only_the_server(en, server, expected=("status of 422",))

    # --- the analyst signs in and finds both
    desk = watched(chromium, locale="en-GB")
    page = desk.page
    page.goto(f"{server.base}/admin/surveys/nps/responses")
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/surveys/nps/responses")
    rows = page.locator("table.responses tbody tr")
    assert rows.count() == 2
    text = page.locator("table.responses").inner_text()
    assert "网点排队时间短，服务很好" in text
    assert "Too expensive <b>really</b>" in text  # shown as typed, not as markup
    assert page.locator("table.responses b").count() == 0
    assert "C-42" in text
    languages = sorted(rows.nth(i).locator("td").nth(2).inner_text() for i in range(2))
    assert languages == ["en", "zh"]
    page.goto(f"{server.base}/admin/surveys/nps/dashboard")
    # drawn by the bundled Plotly (no eval: the page's CSP forbids it, so no wait_for_function)
    page.locator(".plot .main-svg").nth(1).wait_for(timeout=30_000)
    assert page.locator('[data-figure="responses.responses"]').get_attribute("data-value") == "2"
    # one promoter (9) and one detractor (3): NPS = 50% - 50% = 0
    assert (
        float(page.locator('[data-figure="nps.nps"]').get_attribute("data-value") or "nan") == 0.0
    )
    only_the_server(desk, server)


def test_live_consistency_ratio_and_allocation_total(chromium: Any, server: Server) -> None:
    engine = db.make_engine(server.url)
    with db.session_factory(engine)() as session:
        token = store.create_invitations(session, "every-type", [{"language": "en"}])[0].token
        store.save_draft(session, token, {}, page="weights")
    engine.dispose()
    seen = watched(chromium, locale="en-GB")
    page = seen.page
    page.goto(f"{server.base}/i/{token}")
    total = page.locator("#q-alloc .alloc-sum")
    page.get_by_label("Price", exact=True).fill("70")
    page.get_by_label("Speed", exact=True).fill("20")
    assert "Total: 90 of 100." in total.inner_text()
    assert "must add up to 100" in total.inner_text()
    page.get_by_label("Speed", exact=True).fill("30")
    assert "That adds up." in total.inner_text()
    cr = page.locator("#q-crit .ahp-cr")
    assert "Answer every pair" in cr.inner_text()

    def judge(pair: str, value: str) -> None:
        page.locator(f'input[name="q.crit.{pair}"][value="{value}"]').check()

    # a > b 9, b > c 9, c > a 9: circular
    judge("a:b", "9")
    judge("b:c", "9")
    judge("a:c", "1/9")
    assert "contradict each other" in cr.inner_text()
    # a > b 3, b > c 3, a > c 9: perfectly consistent (3 x 3 = 9), CR = 0
    judge("a:b", "3")
    judge("b:c", "3")
    judge("a:c", "9")
    assert "consistent (consistency ratio CR = 0.000)" in cr.inner_text()
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector("#q-one")
    only_the_server(seen, server)
