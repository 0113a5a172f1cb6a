"""The closed loop: a dissatisfied survey answer opens one follow-up case, in the same
transaction as the response (web submission and file import), on SQLite and PostgreSQL;
thresholds from the defaults, the project and the survey definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tests.store.conftest import bare_engine, db_url, engine, postgres_server
from tests.survey._defs import minimal, q

from allegiance.complaints import closed_loop
from allegiance.errors import ConfigError, StoreError
from allegiance.i18n import t
from allegiance.store import db
from allegiance.store import surveys as S
from allegiance.store.models import Complaint, ComplaintEvent, Invitation, Response
from allegiance.survey.exchange import import_responses

__all__ = ["bare_engine", "db_url", "engine", "postgres_server"]


def _survey(engine: Engine, slug: str = "loop", **extra: Any) -> str:
    questions = [
        q("nps", "nps"),
        q("sat", "five_level", allow_na=True),
        q("why", "text", required=False),
    ]
    with Session(engine) as session:
        S.create_survey_from_definition(session, minimal(*questions, **extra), slug=slug)
        S.publish_survey(session, slug, wave="w1")
    return slug


def _submit(engine: Engine, slug: str, answers: dict[str, Any], customer: str = "C1") -> int:
    with Session(engine) as session:
        token = S.create_invitations(session, slug, [{"customer_id": customer}])[0].token
        response = S.submit_response(session, token, answers, language="en")
        return int(response.id)


def _cases(engine: Engine) -> list[Complaint]:
    with Session(engine) as session:
        return list(session.execute(select(Complaint).order_by(Complaint.id)).scalars().all())


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_defaults_detractors_and_very_dissatisfied_open_one_case_each(engine: Engine) -> None:
    slug = _survey(engine)
    opened = _submit(engine, slug, {"nps": 6, "sat": 3, "why": "Too slow"}, customer="C6")
    for answers in ({"nps": 7, "sat": 2}, {"nps": 10, "sat": 5}, {"nps": 9, "sat": "na"}):
        _submit(engine, slug, answers)
    very = _submit(engine, slug, {"nps": 8, "sat": 1}, customer="C1")
    cases = _cases(engine)
    assert [c.response_id for c in cases] == [opened, very]
    first = cases[0]
    assert (first.channel, first.cause_code, first.cause_class, first.status) == (
        "survey",
        closed_loop.UNCLASSIFIED,
        closed_loop.UNCLASSIFIED_CLASS,
        "open",
    )
    assert first.customer_id == "C6"
    assert first.complaint_key == closed_loop.case_key(opened)
    assert first.severity == "medium"  # the workflow's default
    assert "nps=6" in first.text
    assert "Too slow" in first.text
    assert "sat=1" in cases[1].text
    with Session(engine) as session:
        events = (
            session.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == first.id))
            .scalars()
            .all()
        )
        assert [(e.to_status, e.actor) for e in events] == [("open", "closed-loop")]
        # once per response: asking again opens nothing
        response = session.get(Response, opened)
        definition = S.survey_definition(session, slug)
        assert closed_loop.follow_up(session, response, definition, survey=slug) is None
        session.commit()
    assert len(_cases(engine)) == 2


def test_the_database_refuses_a_second_case_for_a_response(engine: Engine) -> None:
    slug = _survey(engine)
    rid = _submit(engine, slug, {"nps": 0, "sat": 1})
    with Session(engine) as session:
        session.add(
            Complaint(
                complaint_key="other",
                received_at=pd.Timestamp("2025-01-01", tz="UTC").to_pydatetime(),
                channel="survey",
                cause_code="x",
                cause_class=4,
                text="",
                response_id=rid,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_response_and_case_are_stored_together_or_not_at_all(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = _survey(engine)
    with Session(engine) as session:
        token = S.create_invitations(session, slug, [{"customer_id": "C1"}])[0].token

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("store.complaint_not_found", key="boom")

    monkeypatch.setattr("allegiance.store.repository.set_complaint_status", broken)
    with Session(engine) as session, pytest.raises(StoreError):
        S.submit_response(session, token, {"nps": 2, "sat": 3})
    assert _count(engine, Response) == 0
    assert _count(engine, Complaint) == 0
    with Session(engine) as session:
        inv = session.execute(select(Invitation).where(Invitation.token == token)).scalar_one()
        assert inv.submitted_at is None  # the respondent can submit again
    monkeypatch.undo()
    with Session(engine) as session:
        S.submit_response(session, token, {"nps": 2, "sat": 3})
    assert _count(engine, Response) == 1
    assert _count(engine, Complaint) == 1


def test_project_and_survey_settings(engine: Engine) -> None:
    plain = _survey(engine, "plain")
    strict = _survey(
        engine,
        "strict",
        follow_up={"five_level_max": 2, "questions": ["sat"], "cause": "服务态度", "owner": "kim"},
    )
    with Session(engine) as session:
        rule = closed_loop.configure(session, {"nps_max": 4, "severity": "high"})
    assert (rule.nps_max, rule.five_level_max, rule.severity) == (4, 1, "high")
    assert _submit(engine, plain, {"nps": 5, "sat": 3})
    assert _cases(engine) == []
    low = _submit(engine, plain, {"nps": 4, "sat": 3})
    # the survey's block: only sat counts, at 2 or below; its cause and owner
    _submit(engine, strict, {"nps": 0, "sat": 3})
    two = _submit(engine, strict, {"nps": 10, "sat": 2})
    cases = _cases(engine)
    assert [c.response_id for c in cases] == [low, two]
    assert (cases[0].severity, cases[0].cause_code, cases[0].owner) == (
        "high",
        "unclassified",
        None,
    )
    assert (cases[1].severity, cases[1].cause_code, cases[1].cause_class, cases[1].owner) == (
        "high",
        "service_attitude",
        2,
        "kim",
    )
    with Session(engine) as session:
        closed_loop.configure(session, {"enabled": False})
    _submit(engine, plain, {"nps": 0, "sat": 1})
    assert len(_cases(engine)) == 2
    with Session(engine) as session:
        assert closed_loop.configure(session, None) == closed_loop.LoopRule()


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"nps_max": 11}, "nps_max"),
        ({"five_level_max": "low"}, "five_level_max"),
        ({"cause": "no such cause"}, "no such cause"),
        ({"severity": "extreme"}, "extreme"),
        ({"colour": "red"}, "colour"),
        ("nps_max: 4", "nps_max: 4"),
    ],
)
def test_bad_settings_are_refused_in_both_languages(
    engine: Engine, settings: Any, words: str
) -> None:
    with Session(engine) as session, pytest.raises(ConfigError) as caught:
        closed_loop.configure(session, settings)
    for lang in ("en", "zh"):
        text = caught.value.render(lang)
        assert words in text
        assert "closed_loop" in text
    assert t("complaints.loop.bad_settings", "zh", where="w", detail="d").startswith("w：闭环")
    with Session(engine) as session:
        assert closed_loop.project_rule(session) == closed_loop.LoopRule()


def test_an_import_opens_the_cases_of_its_dissatisfied_rows(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    frame = pd.DataFrame(
        {
            "respondent_key": ["r1", "r2", "r3"],
            "customer_id": ["C1", "C2", "C3"],
            "language": ["zh", "en", "zh"],
            "nps": [2, 9, 7],
            "sat": [3, 4, 1],
            "why": ["", "", "差"],
        }
    )
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    result = import_responses(engine, slug, path)
    assert result.n_written == 3
    cases = _cases(engine)
    assert [c.customer_id for c in cases] == ["C1", "C3"]
    assert [c.lang for c in cases] == ["zh", "zh"]
    assert "问卷 loop" in cases[0].text
    with Session(engine) as session:
        keys = dict(session.execute(select(Response.id, Response.respondent_key)).all())
    assert [keys[c.response_id] for c in cases] == ["r1", "r3"]


def test_migration_0005_goes_down_and_up(engine: Engine) -> None:
    from sqlalchemy import inspect

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("complaints")}

    db.downgrade(engine, "0004")
    assert "response_id" not in columns()
    assert db.current_revision(engine) == "0004"
    db.upgrade(engine, "0005")
    assert "response_id" in columns()
    assert db.current_revision(engine) == "0005"
    db.upgrade(engine)
    assert db.current_revision(engine) == db.heads()[0]


def test_the_loop_command_shows_changes_and_resets_the_project_setting(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from allegiance.cli.app import app
    from allegiance.project import init_project

    folder = tmp_path / "cx"
    init_project(folder)
    runner = CliRunner()

    def loop(*args: str) -> Any:
        return runner.invoke(app, ["complaints", "loop", "--project", str(folder), *args])

    shown = loop("--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["result"] == closed_loop.LoopRule().to_dict()
    changed = loop("--nps-max", "4", "--question", "nps", "--owner", "kim", "--format", "json")
    assert changed.exit_code == 0, changed.output
    result = json.loads(changed.stdout)["result"]
    assert (result["nps_max"], result["questions"], result["owner"]) == (4, ["nps"], "kim")
    kept = json.loads(loop("--disable", "--format", "json").stdout)["result"]
    assert (kept["enabled"], kept["nps_max"], kept["owner"]) == (False, 4, "kim")
    engine = db.make_engine(f"sqlite:///{folder / 'allegiance.db'}")
    try:
        with Session(engine) as session:
            assert closed_loop.project_rule(session).enabled is False
    finally:
        engine.dispose()
    bad = loop("--severity", "extreme", "--lang", "zh")
    assert bad.exit_code != 0
    assert "闭环回访设置无效" in bad.output
    assert "extreme" in bad.output
    back = json.loads(loop("--reset", "--format", "json").stdout)["result"]
    assert back == closed_loop.LoopRule().to_dict()


def test_a_case_key_taken_by_an_imported_complaint_is_left_alone(engine: Engine) -> None:
    from allegiance.store import repository as repo

    slug = _survey(engine)
    taken = [
        {
            "complaint_key": closed_loop.case_key(i),
            "received_at": "2025-01-01T00:00:00+00:00",
            "channel": "phone",
            "cause_code": "poor_quality",
            "cause_class": 1,
            "text": "imported",
        }
        for i in range(1, 4)
    ]
    with Session(engine) as session:
        repo.save_complaints(session, taken)
    rid = _submit(engine, slug, {"nps": 1, "sat": 3})
    assert rid <= 3  # a fresh database: the response's id is one of the taken keys
    cases = {c.complaint_key: c for c in _cases(engine)}
    assert len(cases) == 4
    imported = cases[closed_loop.case_key(rid)]
    assert (imported.response_id, imported.text, imported.channel) == (None, "imported", "phone")
    (opened,) = [c for c in cases.values() if c.response_id == rid]
    assert opened.complaint_key.startswith(closed_loop.case_key(rid) + "-")
    assert opened.channel == "survey"
