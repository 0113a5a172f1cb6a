"""Survey collection in the store, on SQLite and PostgreSQL: surveys, versions, invitations,
drafts, submissions (once per token, enforced by the database), frames and migration 0002."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from allegiance.errors import StoreError
from allegiance.store import db, repository
from allegiance.store import surveys as S
from allegiance.store.models import Invitation, Response, ResponseDraft, SurveyVersion
from allegiance.survey.responses import ResponseError

NPS_OK = {"nps": 9, "promoter_reasons": ["speed"], "comment": "fast"}


def _published(session: Session, slug: str = "nps-1", wave: str | None = "2025Q1") -> str:
    S.create_survey_from_template(session, "nps", slug=slug)
    S.publish_survey(session, slug, wave=wave)
    return slug


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    sqlite = db.make_engine(db.sqlite_url(tmp_path / "wal.db"))
    try:
        db.upgrade(sqlite)
        with sqlite.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        sqlite.dispose()


def test_life_of_a_survey(session: Session, engine: Engine) -> None:
    survey = S.create_survey_from_template(session, "nps", slug="nps-1")
    assert (survey.slug, survey.code, survey.status, survey.version, survey.template) == (
        "nps-1",
        "nps-1",
        "draft",
        1,
        "nps",
    )
    assert S.survey_definition(session, "nps-1").code == "nps-1"
    versions = session.execute(select(SurveyVersion.version)).scalars().all()
    assert versions == [1]
    with pytest.raises(StoreError) as info:
        S.close_survey(session, "nps-1")
    assert info.value.key == "survey.store.not_published"
    S.publish_survey(session, "nps-1")
    wave = S.current_wave(session, S.require_survey(session, "nps-1"))
    assert wave is not None
    assert wave.name == datetime.now(UTC).date().isoformat()
    with pytest.raises(StoreError) as info:
        S.publish_survey(session, "nps-1")
    assert info.value.key == "survey.store.already_published"
    closed = S.close_survey(session, "nps-1")
    assert closed.status == "closed"
    assert closed.closed_at is not None
    wave = S.current_wave(session, closed)
    assert wave is not None
    assert wave.ends_on is not None
    with pytest.raises(StoreError) as info:
        S.update_definition(session, "nps-1", S.survey_definition(session, "nps-1"))
    assert info.value.key == "survey.store.closed"
    reopened = S.publish_survey(session, "nps-1", wave="2026Q1")
    assert reopened.status == "published"
    assert reopened.closed_at is None
    assert S.current_wave(session, reopened).name == "2026Q1"  # type: ignore[union-attr]
    frame = S.surveys_frame(session)
    assert list(frame.columns) == list(S.SURVEY_LIST_COLUMNS)
    row = frame.iloc[0]
    assert (row["slug"], row["status"], row["n_waves"], row["n_responses"]) == (
        "nps-1",
        "published",
        2,
        0,
    )
    assert S.surveys_frame(session, status="draft").empty


def test_versions(session: Session) -> None:
    S.create_survey_from_template(session, "nps", slug="nps-1")
    definition = S.survey_definition(session, "nps-1")
    changed = definition.model_copy(
        update={"title": definition.title.model_copy(update={"en": "New title"})}
    )
    survey = S.update_definition(session, "nps-1", changed)
    assert survey.version == 2
    assert survey.title_en == "New title"
    assert S.survey_definition(session, "nps-1", version=1).title.en != "New title"
    assert S.survey_definition(session, "nps-1").title.en == "New title"
    with pytest.raises(StoreError) as info:
        S.survey_definition(session, "nps-1", version=7)
    assert info.value.key == "survey.store.no_version"


def test_slugs(session: Session) -> None:
    with pytest.raises(StoreError) as info:
        S.create_survey_from_template(session, "nps", slug="Bad Slug")
    assert info.value.key == "survey.store.bad_slug"
    S.create_survey_from_template(session, "nps")
    assert S.require_survey(session, "nps").slug == "nps"
    with pytest.raises(StoreError) as info:
        S.create_survey_from_template(session, "nps")
    assert info.value.key == "survey.store.slug_exists"
    with pytest.raises(StoreError) as info:
        S.require_survey(session, "nope")
    assert info.value.key == "survey.store.not_found"
    assert "nps" in info.value.params["available"]
    assert S.get_survey(session, "nope") is None


def test_the_foundations_create_survey_still_works(session: Session, engine: Engine) -> None:
    survey = repository.create_survey(
        session, code="csat", title_en="CSAT", title_zh="满意度", definition={"generated": True}
    )
    assert (survey.slug, survey.status, survey.version) == ("csat", "draft", 1)
    wave = repository.get_or_create_wave(session, survey.id, "w1")
    repository.save_responses(session, wave.id, [{"respondent_key": "r1", "answers": {"q": 1}}])
    stored = session.execute(select(Response)).scalar_one()
    assert stored.source == "import"
    assert stored.invitation_id is None
    assert len(repository.responses_frame(engine, survey_code="csat")) == 1
    # a generated definition is not a survey definition: it cannot be published
    with pytest.raises(StoreError) as info:
        S.publish_survey(session, "csat")
    assert info.value.key == "survey.store.not_a_definition"


def test_invitations_in_bulk(session: Session, engine: Engine) -> None:
    S.create_survey_from_template(session, "nps", slug="nps-1")
    customers = pd.DataFrame(
        {
            "customer_id": [1001, 1002, None],
            "email": ["a@example.com", None, "c@example.cn"],
            "language": ["zh_CN", "EN", None],
        }
    )
    made = S.create_invitations(session, "nps-1", customers, language="zh")
    assert [(i.customer_id, i.email, i.language) for i in made] == [
        ("1001", "a@example.com", "zh"),
        ("1002", None, "en"),
        (None, "c@example.cn", "zh"),
    ]
    tokens = [i.token for i in made]
    assert len(set(tokens)) == 3
    assert all(len(t) == 32 for t in tokens)
    assert len({i.wave_id for i in made}) == 1
    more = S.create_invitations(session, "nps-1", 5, wave="extra")
    assert len(more) == 5
    assert all(i.customer_id is None for i in more)
    frame = S.invitations_frame(engine, "nps-1")
    assert list(frame.columns) == list(S.INVITATION_COLUMNS)
    assert frame["token"].tolist() == tokens + [i.token for i in more]
    assert frame["wave"].tolist()[-1] == "extra"


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"email": "a@example.com"}, {"email": "not an address"}], "email"),
        ([{"language": "fr"}], "language"),
        ([{"customer_id": "x", "phone": "1"}], None),
    ],
)
def test_a_bad_invitation_row_writes_nothing(
    session: Session, rows: list[dict], field: str | None
) -> None:
    S.create_survey_from_template(session, "nps", slug="nps-1")
    with pytest.raises(StoreError) as info:
        S.create_invitations(session, "nps-1", rows)
    if field is None:
        assert info.value.key == "store.row_unknown_fields"
    else:
        assert info.value.key == "survey.store.bad_invitation"
        assert info.value.params["field"] == field
        assert info.value.params["row"] == len(rows) - 1
    assert session.execute(select(Invitation)).first() is None


def test_save_and_resume_then_submit_once(session: Session, engine: Engine) -> None:
    _published(session)
    (inv,) = S.create_invitations(session, "nps-1", [{"customer_id": "c1", "language": "zh"}])
    state = S.open_invitation(session, inv.token)
    assert state.can_answer
    assert not state.submitted
    assert state.draft_answers == {}
    assert state.opened_at is not None
    assert state.definition.code == "nps-1"
    first = S.save_draft(session, inv.token, {"nps": 3}, page="recommend")
    started = first.started_at
    second = S.save_draft(
        session, inv.token, {"nps": 4, "detractor_reasons": ["price"]}, page="recommend"
    )
    assert session.execute(select(ResponseDraft)).scalars().all() == [second]
    assert second.started_at == started
    assert second.answers["nps"] == 4
    state = S.open_invitation(session, inv.token)
    assert state.draft_answers == {"nps": 4, "detractor_reasons": ["price"]}
    assert state.draft_page == "recommend"

    # answers that fail the definition: nothing is written, the draft stays
    with pytest.raises(ResponseError) as bad:
        S.submit_response(session, inv.token, {"nps": 4})
    assert [i.question for i in bad.value.check.issues] == ["detractor_reasons"]
    assert session.execute(select(Response)).first() is None
    assert session.execute(select(ResponseDraft)).first() is not None

    response = S.submit_response(
        session,
        inv.token,
        {"nps": "4", "detractor_reasons": ["price", "other"], "detractor_reasons.other": " queue "},
        user_agent="Mozilla/5.0",
        language="en",
    )
    assert response.answers == {
        "nps": 4,
        "detractor_reasons": ["price", "other"],
        "detractor_reasons.other": "queue",
    }
    assert response.customer_id == "c1"
    assert response.source == "web"
    assert response.language == "en"
    assert response.started_at == started
    assert response.duration_s is not None
    assert response.duration_s >= 0
    assert response.user_agent_hash is not None
    assert len(response.user_agent_hash) == 64
    assert response.definition_version == 1
    assert session.execute(select(ResponseDraft)).first() is None

    with pytest.raises(StoreError) as again:
        S.submit_response(session, inv.token, NPS_OK)
    assert again.value.key == "survey.store.already_submitted"
    assert inv.token not in again.value.render("en")  # the secret is never echoed whole
    with pytest.raises(StoreError) as again:
        S.save_draft(session, inv.token, {"nps": 1})
    assert again.value.key == "survey.store.already_submitted"
    assert S.open_invitation(session, inv.token).submitted

    meta = S.response_meta_frame(engine, "nps-1")
    assert list(meta.columns) == list(S.RESPONSE_META_COLUMNS)
    assert meta.loc[0, "source"] == "web"
    assert meta.loc[0, "wave"] == "2025Q1"
    data = S.survey_analysis_frame(engine, "nps-1")
    assert data.loc[0, "nps"] == 4
    assert data.loc[0, "detractor_reasons"] == "price;other"
    stored = repository.responses_frame(engine, survey_code="nps-1")
    assert stored.loc[0, "respondent_key"] == f"invitation-{inv.id}"
    listing = S.surveys_frame(session).iloc[0]
    assert (listing["n_invitations"], listing["n_drafts"], listing["n_responses"]) == (1, 0, 1)


def test_answers_go_by_the_version_the_respondent_started(session: Session) -> None:
    _published(session)
    (inv,) = S.create_invitations(session, "nps-1", 1)
    S.save_draft(session, inv.token, {"nps": 10})
    data = S.survey_definition(session, "nps-1").to_data()
    data["pages"][0]["questions"].append(
        {"id": "extra", "type": "five_level", "text": {"en": "New?", "zh": "新问题？"}}
    )
    S.update_definition(session, "nps-1", data)
    response = S.submit_response(session, inv.token, {"nps": 10})  # no "extra": version 1 rules
    assert response.definition_version == 1
    (fresh,) = S.create_invitations(session, "nps-1", 1)
    with pytest.raises(ResponseError):
        S.submit_response(session, fresh.token, {"nps": 10})
    assert S.submit_response(session, fresh.token, {"nps": 10, "extra": 5}).definition_version == 2


def test_only_published_surveys_take_answers(session: Session) -> None:
    S.create_survey_from_template(session, "nps", slug="nps-1")
    (inv,) = S.create_invitations(session, "nps-1", 1)
    state = S.open_invitation(session, inv.token)
    assert not state.can_answer
    assert state.opened_at is None
    for call in (
        lambda: S.save_draft(session, inv.token, {}),
        lambda: S.submit_response(session, inv.token, NPS_OK),
        lambda: S.anonymous_invitation(session, "nps-1"),
    ):
        with pytest.raises(StoreError) as info:
            call()
        assert info.value.key == "survey.store.not_open"
    S.publish_survey(session, "nps-1")
    S.close_survey(session, "nps-1")
    with pytest.raises(StoreError) as info:
        S.submit_response(session, inv.token, NPS_OK)
    assert info.value.key == "survey.store.not_open"
    with pytest.raises(StoreError) as info:
        S.create_invitations(session, "nps-1", 1)
    assert info.value.key == "survey.store.closed"
    with pytest.raises(StoreError) as info:
        S.open_invitation(session, "no-such-token")
    assert info.value.key == "survey.store.token_unknown"
    assert S.get_invitation(session, "no-such-token") is None


def test_anonymous_visitors_get_their_own_token(session: Session) -> None:
    _published(session)
    a = S.anonymous_invitation(session, "nps-1", language="zh-Hans")
    b = S.anonymous_invitation(session, "nps-1")
    assert a.token != b.token
    assert a.language == "zh"
    assert a.customer_id is None
    S.submit_response(session, a.token, NPS_OK)
    S.submit_response(session, b.token, NPS_OK)
    assert len(session.execute(select(Response)).all()) == 2


def test_sent_and_reminded(session: Session, engine: Engine) -> None:
    _published(session)
    made = S.create_invitations(session, "nps-1", 3)
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    assert S.mark_sent(session, [i.id for i in made[:2]], at=at) == 2
    assert S.mark_reminded(session, [made[0].id], at=at + timedelta(days=3)) == 1
    frame = S.invitations_frame(engine, "nps-1")
    assert frame["sent_at"].notna().tolist() == [True, True, False]
    assert frame.loc[0, "reminded_at"] == pd.Timestamp(at + timedelta(days=3))


def test_the_database_itself_allows_one_response_per_invitation(
    session: Session, engine: Engine
) -> None:
    _published(session)
    (inv,) = S.create_invitations(session, "nps-1", 1)
    row = {
        "wave_id": inv.wave_id,
        "answers": {"nps": 1},
        "submitted_at": datetime.now(UTC),
        "invitation_id": inv.id,
        "source": "web",
    }
    with engine.begin() as conn:
        conn.execute(insert(Response), [{**row, "respondent_key": "one"}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Response), [{**row, "respondent_key": "two"}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(Response),
            [{**row, "respondent_key": "three", "invitation_id": None, "source": "mail"}],
        )
    # and a submission through the repository gets the clear error, not a database error
    with pytest.raises(StoreError) as info:
        S.submit_response(session, inv.token, NPS_OK)
    assert info.value.key == "survey.store.already_submitted"


def test_migration_0002_keeps_and_completes_existing_surveys(bare_engine: Engine) -> None:
    db.upgrade(bare_engine, "0001")
    now = datetime(2024, 1, 2, tzinfo=UTC)
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO surveys (code, title_en, title_zh, definition, created_at) "
                "VALUES ('old', 'Old', '旧问卷', :d, :t)"
            ),
            {"d": json.dumps({"generated": True}), "t": now},
        )
        conn.execute(text("INSERT INTO survey_waves (survey_id, name) VALUES (1, 'w1')"))
        conn.execute(
            text(
                "INSERT INTO responses (wave_id, respondent_key, submitted_at, answers) "
                "VALUES (1, 'r1', :t, :a)"
            ),
            {"t": now, "a": json.dumps({"q": 1})},
        )
    db.upgrade(bare_engine)
    assert db.schema_diff(bare_engine) == []
    with Session(bare_engine) as session:
        survey = S.require_survey(session, "old")
        assert (survey.slug, survey.status, survey.version) == ("old", "draft", 1)
        version = session.execute(select(SurveyVersion)).scalar_one()
        assert (version.survey_id, version.version, version.definition) == (
            1,
            1,
            {"generated": True},
        )
        response = session.execute(select(Response)).scalar_one()
        assert (response.source, response.invitation_id, response.answers) == (
            "import",
            None,
            {"q": 1},
        )
    # and back: 0002's downgrade leaves the 0001 tables as they were
    db.downgrade(bare_engine, "0001")
    columns = {c["name"] for c in inspect(bare_engine).get_columns("surveys")}
    assert "slug" not in columns
    assert "status" not in columns
    assert "survey_invitations" not in inspect(bare_engine).get_table_names()
    with bare_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses")).scalar() == 1
    db.upgrade(bare_engine)
    assert db.schema_diff(bare_engine) == []
