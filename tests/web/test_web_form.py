"""The public form: every template renders and can be answered in both languages, every
question type is drawn accessibly, skip logic runs between screens, errors are shown next to
their question in the chosen language, randomised order is stable, save and resume works."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest import (
    Web,
    csrf_of,
    fields,
    hidden,
    invite,
    publish,
    question_ids,
    walk_and_submit,
)

from allegiance.store import surveys as store
from allegiance.store.models import Response
from allegiance.survey.definition import parse_definition
from allegiance.survey.templates import template_names

EVERY_TYPE: dict[str, Any] = {
    "code": "every-type",
    "title": {"en": "Every question type", "zh": "所有题型"},
    "thank_you": {"en": "Thanks, all done.", "zh": "谢谢，全部完成。"},
    "pages": [
        {
            "id": "scales",
            "title": {"en": "Scales", "zh": "量表"},
            "questions": [
                {
                    "id": "sat",
                    "type": "five_level",
                    "text": {"en": "Overall satisfaction", "zh": "总体满意度"},
                },
                {"id": "rec", "type": "nps", "text": {"en": "Recommend us?", "zh": "推荐我们？"}},
                {
                    "id": "lik",
                    "type": "likert",
                    "points": 7,
                    "text": {"en": "Agree?", "zh": "同意吗？"},
                    "allow_na": True,
                },
                {"id": "eff", "type": "ces", "text": {"en": "Easy?", "zh": "容易吗？"}},
                {"id": "sta", "type": "stars", "text": {"en": "Stars", "zh": "星级"}},
                {"id": "emo", "type": "emoji", "text": {"en": "Faces", "zh": "表情"}},
                {"id": "imp", "type": "importance", "text": {"en": "Importance", "zh": "重要性"}},
            ],
        },
        {
            "id": "pairs",
            "questions": [
                {
                    "id": "wifi",
                    "type": "kano",
                    "text": {"en": "Free Wi-Fi", "zh": "免费无线网络"},
                    "functional": {"en": "If there is Wi-Fi?", "zh": "如果有无线网络？"},
                    "dysfunctional": {"en": "If there is none?", "zh": "如果没有？"},
                },
                {
                    "id": "sq1",
                    "type": "servqual",
                    "item": 1,
                    "text": {"en": "Modern equipment", "zh": "设备现代化"},
                    "expectation": {"en": "Excellent firms have it", "zh": "优秀企业应当具备"},
                    "perception": {"en": "This firm has it", "zh": "本企业具备"},
                },
                {
                    "id": "zone1",
                    "type": "servqual_zone",
                    "item": 2,
                    "text": {"en": "Prompt service", "zh": "服务及时"},
                    "adequate": {"en": "Minimum", "zh": "最低"},
                    "desired": {"en": "Desired", "zh": "期望"},
                    "perceived": {"en": "Perceived", "zh": "感知"},
                },
            ],
        },
        {
            "id": "weights",
            "questions": [
                {
                    "id": "alloc",
                    "type": "allocation",
                    "text": {"en": "Spread 100 points", "zh": "分配 100 分"},
                    "options": [
                        {"code": "price", "label": {"en": "Price", "zh": "价格"}},
                        {"code": "speed", "label": {"en": "Speed", "zh": "速度"}},
                    ],
                },
                {
                    "id": "crit",
                    "type": "ahp",
                    "text": {"en": "Compare", "zh": "比较"},
                    "criteria": [
                        {"code": "a", "label": {"en": "Price", "zh": "价格"}},
                        {"code": "b", "label": {"en": "Quality", "zh": "质量"}},
                        {"code": "c", "label": {"en": "Service", "zh": "服务"}},
                    ],
                },
            ],
        },
        {
            "id": "choices",
            "questions": [
                {
                    "id": "one",
                    "type": "single",
                    "text": {"en": "Pick one", "zh": "选一项"},
                    "options": [
                        {"code": "x", "label": {"en": "X", "zh": "甲"}},
                        {"code": "other", "other": True, "label": {"en": "Other", "zh": "其他"}},
                    ],
                },
                {
                    "id": "many",
                    "type": "multiple",
                    "text": {"en": "Pick any", "zh": "可多选"},
                    "max_choices": 2,
                    "options": [
                        {"code": "p", "label": {"en": "P", "zh": "乙"}},
                        {"code": "q", "label": {"en": "Q", "zh": "丙"}},
                        {
                            "code": "none",
                            "exclusive": True,
                            "label": {"en": "None", "zh": "都没有"},
                        },
                    ],
                },
                {
                    "id": "why",
                    "type": "text",
                    "required": False,
                    "text": {"en": "Why?", "zh": "为什么？"},
                },
            ],
        },
    ],
}


def every_type_survey(web: Web, *, public: bool = False) -> str:
    from allegiance.web.queries import set_public_link

    with web.session() as session:
        store.create_survey_from_definition(session, parse_definition(EVERY_TYPE))
        store.publish_survey(session, "every-type", wave="W1")
        if public:
            set_public_link(session, "every-type", True, actor="test", ip=None)
    return "every-type"


def n_responses(web: Web) -> int:
    with web.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Response)).scalar_one())


# ---------------------------------------------------------------- every template


@pytest.mark.parametrize("template", template_names())
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_template_renders_and_can_be_answered(
    sqlite_web: Web, template: str, lang: str
) -> None:
    slug = publish(sqlite_web, template)
    token = invite(sqlite_web, slug, language=lang)
    client = sqlite_web.client()
    first = client.get(f"/i/{token}")
    assert first.status_code == 200
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in first.text
    with sqlite_web.session() as session:
        title = store.survey_definition(session, slug).title.get(lang)
    assert f">{_escape(title)}</h1>" in first.text
    screens = walk_and_submit(client, f"/i/{token}")
    assert all(screens), "a screen without questions"
    thanks = client.get(f"/i/{token}/thanks")
    assert thanks.status_code == 200
    assert n_responses(sqlite_web) == 1
    with sqlite_web.session() as session:
        stored = session.execute(select(Response)).scalar_one()
    assert stored.language == lang
    assert stored.source == "web"


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


# ---------------------------------------------------------------- question types


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_question_type_is_drawn_with_labels_and_fieldsets(sqlite_web: Web, lang: str) -> None:
    slug = every_type_survey(sqlite_web)
    token = invite(sqlite_web, slug, language=lang)
    client = sqlite_web.client()
    html = client.get(f"/i/{token}").text
    # page 1: seven rating scales, each a radio group in a fieldset with a legend
    assert question_ids(html) == ["sat", "rec", "lik", "eff", "sta", "emo", "imp"]
    found = fields(html)
    assert [i["value"] for i in found["q.sat"]] == ["5", "4", "3", "2", "1"]
    assert [i["value"] for i in found["q.rec"]] == [str(v) for v in range(11)]
    assert [i["value"] for i in found["q.lik"]][-1] == "na"
    assert len(found["q.sta"]) == 5
    assert len(found["q.emo"]) == 5
    for inputs in found.values():
        for i in inputs:
            if i.get("type") in ("radio", "checkbox", "number", "text"):
                assert f'for="{i["id"]}"' in html, i
    assert html.count("<fieldset") >= 7
    assert html.count("<legend") >= 7
    assert ("很满意" if lang == "zh" else "very satisfied") in html
    assert "😄" in html
    assert "★★★★★" in html

    def next_page(answers: dict[str, Any]) -> str:
        page = client.get(f"/i/{token}").text
        data = {
            "csrf": csrf_of(page),
            "screen": hidden(page, "screen"),
            "action": "next",
            **answers,
        }
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
        return client.get(f"/i/{token}").text

    html = next_page(
        {
            "q.sat": "4",
            "q.rec": "8",
            "q.lik": "na",
            "q.eff": "6",
            "q.sta": "5",
            "q.emo": "4",
            "q.imp": "3",
        }
    )
    assert question_ids(html) == ["wifi", "sq1", "zone1"]
    found = fields(html)
    assert {n for n in found if n.startswith("q.")} == {
        "q.wifi.functional",
        "q.wifi.dysfunctional",
        "q.sq1.expectation",
        "q.sq1.perception",
        "q.zone1.adequate",
        "q.zone1.desired",
        "q.zone1.perceived",
    }
    assert len(found["q.sq1.perception"]) == 7
    assert len(found["q.zone1.desired"]) == 9
    assert ("如果没有？" if lang == "zh" else "If there is none?") in html

    html = next_page(
        {
            "q.wifi.functional": "1",
            "q.wifi.dysfunctional": "5",
            "q.sq1.expectation": "7",
            "q.sq1.perception": "5",
            "q.zone1.adequate": "4",
            "q.zone1.desired": "8",
            "q.zone1.perceived": "6",
        }
    )
    assert question_ids(html) == ["alloc", "crit"]
    found = fields(html)
    assert {"q.alloc.price", "q.alloc.speed"} <= set(found)
    assert found["q.alloc.price"][0]["type"] == "number"
    assert 'data-total="100"' in html
    assert [n for n in found if n.startswith("q.crit.")] == [
        "q.crit.a:b",
        "q.crit.a:c",
        "q.crit.b:c",
    ]
    assert [i["value"] for i in found["q.crit.a:b"]] == [
        "9",
        "8",
        "7",
        "6",
        "5",
        "4",
        "3",
        "2",
        "1",
        "1/2",
        "1/3",
        "1/4",
        "1/5",
        "1/6",
        "1/7",
        "1/8",
        "1/9",
    ]
    assert 'data-ri="0.58"' in html
    assert 'data-threshold="0.1"' in html
    assert html.count('class="sr-only"') > 3 * 17

    html = next_page(
        {
            "q.alloc.price": "60",
            "q.alloc.speed": "40",
            "q.crit.a:b": "3",
            "q.crit.a:c": "5",
            "q.crit.b:c": "2",
        }
    )
    assert question_ids(html) == ["one", "many", "why"]
    found = fields(html)
    assert found["q.one"][0]["type"] == "radio"
    assert found["q.many"][0]["type"] == "checkbox"
    assert "q.one.other" in found
    assert "<textarea" in html
    page = html
    data = {
        "csrf": csrf_of(page),
        "screen": hidden(page, "screen"),
        "action": "submit",
        "q.one": "other",
        "q.one.other": "My own answer",
        "q.many": ["p", "q"],
        "q.why": "Because",
    }
    sent = client.post(f"/i/{token}", data=data, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/i/{token}/thanks"
    thanks = client.get(sent.headers["location"]).text
    assert ("谢谢，全部完成。" if lang == "zh" else "Thanks, all done.") in thanks
    with sqlite_web.session() as session:
        stored = session.execute(select(Response)).scalar_one()
    assert stored.answers["lik"] == "na"
    assert stored.answers["wifi"] == {"functional": 1, "dysfunctional": 5}
    assert stored.answers["alloc"] == {"price": 60, "speed": 40}
    assert stored.answers["crit"] == {"a:b": 3.0, "a:c": 5.0, "b:c": 2.0}
    assert stored.answers["one.other"] == "My own answer"
    assert stored.answers["many"] == ["p", "q"]


def test_inconsistent_ahp_asks_to_revisit_and_can_be_kept(sqlite_web: Web) -> None:
    slug = every_type_survey(sqlite_web)
    token = invite(sqlite_web, slug, language="en")
    client = sqlite_web.client()
    for _ in range(2):  # past the scales and the pairs
        html = client.get(f"/i/{token}").text
        from tests.web.conftest import answer_everything

        data = {
            **answer_everything(html),
            "csrf": csrf_of(html),
            "screen": hidden(html, "screen"),
            "action": "next",
        }
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
    html = client.get(f"/i/{token}").text
    base = {
        "csrf": csrf_of(html),
        "screen": "weights",
        "action": "next",
        "q.alloc.price": "50",
        "q.alloc.speed": "50",
    }
    # a > b (9), b > c (9) but c > a (9): a circular, inconsistent set of judgements
    wrong = {**base, "q.crit.a:b": "9", "q.crit.b:c": "9", "q.crit.a:c": "1/9"}
    again = client.post(f"/i/{token}", data=wrong, follow_redirects=False)
    assert again.status_code == 422
    assert "contradict each other" in again.text
    assert 'name="q.crit.keep"' in again.text
    assert 'value="9" checked' in again.text  # the answers are kept on the page
    kept = client.post(f"/i/{token}", data={**wrong, "q.crit.keep": "1"}, follow_redirects=False)
    assert kept.status_code == 303
    assert question_ids(client.get(f"/i/{token}").text) == ["one", "many", "why"]


# ---------------------------------------------------------------- skip logic, errors


def test_skip_logic_runs_on_the_server_between_screens(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    for score, shown in (
        ("3", ["detractor_reasons", "comment"]),
        ("10", ["promoter_reasons", "comment"]),
    ):
        token = invite(sqlite_web, slug, language="en", customer=f"c{score}")
        client = sqlite_web.client()
        html = client.get(f"/i/{token}").text
        assert question_ids(html) == ["nps"]
        assert 'value="next"' in html  # more questions may follow
        data = {"csrf": csrf_of(html), "screen": "recommend", "action": "next", "q.nps": score}
        assert client.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
        assert question_ids(client.get(f"/i/{token}").text) == shown


@pytest.mark.parametrize(
    ("lang", "required", "range_"),
    [
        ("zh", "请回答此题。", "不是该量表的选项"),
        ("en", "Please answer this question.", "is not an answer of this scale"),
    ],
)
def test_errors_are_shown_next_to_their_question_in_the_chosen_language(
    sqlite_web: Web, lang: str, required: str, range_: str
) -> None:
    slug = every_type_survey(sqlite_web)
    token = invite(sqlite_web, slug)
    client = sqlite_web.client()
    html = client.get(f"/i/{token}?lang={lang}").text
    data = {
        "csrf": csrf_of(html),
        "screen": "scales",
        "action": "next",
        "lang": lang,
        "q.sat": "4",
        "q.rec": "11",
    }
    got = client.post(f"/i/{token}", data=data, follow_redirects=False)
    assert got.status_code == 422
    page = got.text
    # the error sits inside its question's fieldset, which points at it
    block = re.search(
        r'<fieldset class="question q-nps has-errors" id="q-rec"(.*?)</fieldset>', page, re.S
    )
    assert block is not None
    assert range_ in block.group(1)
    assert 'aria-invalid="true"' in block.group(0)
    assert 'aria-describedby="q-rec-errors"' in block.group(0)
    lik = re.search(r'id="q-lik"(.*?)</fieldset>', page, re.S)
    assert lik is not None
    assert required in lik.group(1)
    assert 'class="error-summary"' in page
    assert 'href="#q-rec"' in page
    sat = re.search(r'id="q-sat"(.*?)</fieldset>', page, re.S)
    assert sat is not None
    assert "errors" not in sat.group(1)
    assert 'value="4" checked' in sat.group(1)  # what was answered stays answered
    assert n_responses(sqlite_web) == 0


def test_randomised_order_is_stable_per_respondent(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "kano")
    orders = []
    for i in range(6):
        token = invite(sqlite_web, slug, customer=f"c{i}")
        client = sqlite_web.client()
        first = question_ids(client.get(f"/i/{token}").text)
        again = question_ids(sqlite_web.client().get(f"/i/{token}").text)  # another device
        assert first == again
        orders.append(tuple(first))
    assert len(set(orders)) > 1, "six respondents all saw the same random order"


def test_save_and_resume_on_another_device(web: Web) -> None:
    slug = every_type_survey(web)
    token = invite(web, slug, language="en")
    phone = web.client()
    html = phone.get(f"/i/{token}").text
    data = {
        "csrf": csrf_of(html),
        "screen": "scales",
        "action": "next",
        "q.sat": "5",
        "q.rec": "9",
        "q.lik": "3",
        "q.eff": "7",
        "q.sta": "4",
        "q.emo": "5",
        "q.imp": "2",
    }
    assert phone.post(f"/i/{token}", data=data, follow_redirects=False).status_code == 303
    html = phone.get(f"/i/{token}").text
    half = {"csrf": csrf_of(html), "screen": "pairs", "action": "save", "q.wifi.functional": "2"}
    saved = phone.post(f"/i/{token}", data=half, follow_redirects=False)
    assert saved.status_code == 200
    assert f"/i/{token}" in saved.text
    assert "Your answers are saved" in saved.text
    laptop = web.client()
    resumed = laptop.get(f"/i/{token}").text
    assert question_ids(resumed) == ["wifi", "sq1", "zone1"]
    assert re.search(r'name="q.wifi.functional" value="2" checked', resumed)
    back = {"csrf": csrf_of(resumed), "screen": "pairs", "action": "back", "q.wifi.functional": "2"}
    assert laptop.post(f"/i/{token}", data=back, follow_redirects=False).status_code == 303
    earlier = laptop.get(f"/i/{token}").text
    assert question_ids(earlier) == ["sat", "rec", "lik", "eff", "sta", "emo", "imp"]
    assert 'name="q.sat" value="5" checked' in earlier
    with web.session() as session:
        state = store.open_invitation(session, token, mark_opened=False)
    assert state.draft_answers["wifi"] == {"functional": 2}
    assert n_responses(web) == 0


def test_answered_and_closed_links_get_a_clear_page(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "ces")
    token = invite(sqlite_web, slug, language="en")
    client = sqlite_web.client()
    walk_and_submit(client, f"/i/{token}")
    again = client.get(f"/i/{token}")
    assert again.status_code == 200
    assert "already been used" in again.text
    html_other = client.get(f"/i/{invite(sqlite_web, slug, language='zh', customer='c2')}").text
    assert 'name="csrf"' in html_other
    waiting = invite(sqlite_web, slug, customer="c3")
    with sqlite_web.session() as session:
        store.close_survey(session, slug)
    closed = client.get(f"/i/{waiting}")
    assert "此问卷目前不接受作答。" in closed.text  # no language asked for anywhere: Chinese
    assert client.get("/i/not-a-token").status_code == 404


def test_language_from_invitation_then_browser_then_switch(sqlite_web: Web) -> None:
    slug = publish(sqlite_web, "nps")
    zh_token = invite(sqlite_web, slug, language="zh", customer="a")
    plain = invite(sqlite_web, slug, customer="b")
    client = sqlite_web.client()
    assert 'lang="zh-CN"' in client.get(f"/i/{zh_token}", headers={"accept-language": "en"}).text
    assert (
        '<html lang="en">'
        in client.get(f"/i/{plain}", headers={"accept-language": "en-GB,en;q=0.9"}).text
    )
    assert (
        'lang="zh-CN"'
        in client.get(f"/i/{plain}", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    )
    switched = client.get(f"/i/{zh_token}?lang=en")
    assert '<html lang="en">' in switched.text
    assert "al_lang=en" in switched.headers["set-cookie"]
    assert '<html lang="en">' in client.get(f"/i/{zh_token}").text  # the cookie is remembered


def test_public_link_only_when_allowed_and_once_per_browser(sqlite_web: Web) -> None:
    closed = publish(sqlite_web, "ces", slug="closed-link")
    client = sqlite_web.client()
    assert client.get(f"/s/{closed}").status_code == 404
    slug = publish(sqlite_web, "nps", public=True)
    start = client.get(f"/s/{slug}", headers={"accept-language": "en"})
    assert start.status_code == 200
    assert 'action="/s/nps/start"' in start.text
    with sqlite_web.session():
        before = len(store.invitations_frame(sqlite_web.engine, slug))
    assert before == 0  # looking at the page creates nothing
    went = client.post(
        f"/s/{slug}/start", data={"csrf": csrf_of(start.text), "lang": "en"}, follow_redirects=False
    )
    assert went.status_code == 303
    assert "HttpOnly" in went.headers["set-cookie"]
    assert "Path=/s/nps" in went.headers["set-cookie"]
    walk_and_submit(client, f"/s/{slug}")
    assert "already been used" in client.get(f"/s/{slug}").text
    assert n_responses(sqlite_web) == 1
