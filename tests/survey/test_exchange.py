"""Response export (CSV, XLSX, SAV with labels) and import (checked, all or nothing, or
quarantine), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.survey._defs import minimal, options, q, text

from allegiance.errors import ValidationError
from allegiance.security.secret import SecretKey
from allegiance.store import surveys as S
from allegiance.store.models import Response
from allegiance.survey.exchange import (
    EXPORT_META_COLUMNS,
    ImportRejected,
    export_responses,
    import_responses,
)

ITEMS = ["s1", "s2", "s3", "s4", "s5"]


def _definition() -> dict:
    questions = [q(i, "five_level") for i in ITEMS]
    questions[3]["reverse"] = True
    questions.append(q("why", "text", required=True, show_if="s1 <= 2"))
    questions.append(q("channel", "single", options=options("app", "web")))
    questions.append(q("reasons", "multiple", required=False, options=options("price", "speed")))
    return minimal(*questions)


def _survey(engine: Engine, slug: str = "sat") -> str:
    with Session(engine) as session:
        S.create_survey_from_definition(session, _definition(), slug=slug)
        S.publish_survey(session, slug, wave="w1")
    return slug


GOOD = pd.DataFrame(
    {
        "respondent_key": ["r1", "r2", "r3"],
        "customer_id": ["C1", "C2", "C3"],
        "duration_s": [120.0, 30.0, 200.0],
        "language": ["zh", "en", "zh"],
        "s1": [5, 1, 4],
        "s2": [4, 2, 4],
        "s3": [5, 2, 4],
        # s4 is reverse-keyed: the file holds the analysis value (6 - answer)
        "s4": [2, 4, 4],
        "s5": [5, 1, 4],
        "why": ["", "slow", ""],
        "channel": ["app", "Web", "中文：Web"],  # codes or labels in either language
        "reasons": ["price;speed", "", "speed"],
    }
)


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Response)).scalar_one())


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_import_stores_checked_answers_with_source_import(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    # the Chinese label of option web is 中文：Web in the test builder
    frame = GOOD
    result = import_responses(engine, slug, _csv(frame, tmp_path / "in.csv"))
    assert (result.n_rows, result.n_written, result.n_rejected) == (3, 3, 0)
    with Session(engine) as session:
        rows = session.execute(select(Response).order_by(Response.id)).scalars().all()
        assert [r.source for r in rows] == ["import"] * 3
        assert [r.customer_id for r in rows] == ["C1", "C2", "C3"]
        assert rows[0].answers["s4"] == 4  # stored as answered: 6 - 2
        assert rows[1].answers["channel"] == "web"
        assert rows[2].answers["channel"] == "web"
        assert rows[0].answers["reasons"] == ["price", "speed"]
        assert rows[1].answers["why"] == "slow"
        assert [r.language for r in rows] == ["zh", "en", "zh"]
        assert [r.duration_s for r in rows] == [120.0, 30.0, 200.0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_round_trip_through_export(engine: Engine, tmp_path: Path, fmt: str) -> None:
    slug = _survey(engine)
    frame = GOOD.assign(channel=["app", "web", "web"])
    import_responses(engine, slug, _csv(frame, tmp_path / "in.csv"))
    first = export_responses(engine, slug, fmt, lang="zh")
    exported = tmp_path / f"out.{fmt}"
    exported.write_bytes(first)
    other = _survey(engine, "sat-copy")
    result = import_responses(engine, other, exported)
    assert result.n_written == 3
    again = tmp_path / f"again.{fmt}"
    again.write_bytes(export_responses(engine, other, fmt, lang="zh"))
    if fmt == "csv":
        a, b = pd.read_csv(exported), pd.read_csv(again)
    elif fmt == "xlsx":
        a, b = (pd.read_excel(p, engine="openpyxl") for p in (exported, again))
    else:
        a, meta_a = pyreadstat.read_sav(str(exported))
        b, meta_b = pyreadstat.read_sav(str(again))
        # labels intact: question text as variable label, scale and option labels
        assert meta_b.column_names_to_labels["s1"] == "中文：Question s1"
        assert meta_b.variable_value_labels["s1"][5.0] == "很满意"
        assert meta_b.variable_value_labels["channel"] == {"app": "中文：App", "web": "中文：Web"}
        # reverse-keyed s4 (analysis value 6 - x): the value 1 means the answer 5
        assert meta_b.variable_value_labels["s4"][1.0] == "很满意"
        assert meta_b.column_names_to_labels == meta_a.column_names_to_labels
        assert meta_b.variable_value_labels == meta_a.variable_value_labels
    answer_cols = [*ITEMS, "why", "channel", "reasons", "customer_id", "duration_s", "language"]
    pd.testing.assert_frame_equal(
        a[answer_cols].astype(str), b[answer_cols].astype(str), check_dtype=False
    )
    assert list(a["s4"]) == [2, 4, 4]
    assert list(b["source"]) == ["import"] * 3
    assert list(a.columns[: len(EXPORT_META_COLUMNS)]) == list(EXPORT_META_COLUMNS)


def test_a_bad_row_writes_nothing_and_says_where(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    bad = GOOD.copy()
    bad.loc[1, "s2"] = 7  # out of range, file row 3
    bad.loc[1, "why"] = ""  # required because s1 <= 2
    bad.loc[2, "channel"] = "fax"  # not an option, file row 4
    with pytest.raises(ImportRejected) as info:
        import_responses(engine, slug, _csv(bad, tmp_path / "bad.csv"))
    assert _count(engine) == 0
    issues = {(i.row, i.column, i.value) for i in info.value.result.issues}
    assert (3, "s2", "7") in issues
    assert (3, "why", "") in issues
    assert (4, "channel", "fax") in issues
    assert info.value.result.rejected_rows == (3, 4)
    en, zh = info.value.render("en"), info.value.render("zh")
    assert "row 3, column s2, value '7'" in en
    assert "第 3 行，列 s2" in zh
    s2 = next(i for i in info.value.result.issues if i.column == "s2")
    assert s2.expected_en
    assert s2.expected_zh
    assert s2.expected_en != s2.expected_zh


def test_quarantine_writes_the_good_rows_and_the_rejects(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    bad = GOOD.astype({"s3": object})
    bad.loc[2, "s3"] = "lots"
    side = tmp_path / "rejects.csv"
    result = import_responses(engine, slug, _csv(bad, tmp_path / "bad.csv"), quarantine=side)
    assert (result.n_written, result.n_rejected) == (2, 1)
    assert _count(engine) == 2
    rejects = pd.read_csv(side, encoding="utf-8-sig")
    assert list(rejects["source_row"]) == [4]
    assert list(rejects["respondent_key"]) == ["r3"]
    assert "s3" in rejects.loc[0, "reject_reason_en"]
    assert "lots" in rejects.loc[0, "reject_reason_zh"]


def test_reimporting_the_same_keys_is_refused(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    path = _csv(GOOD, tmp_path / "in.csv")
    import_responses(engine, slug, path)
    with pytest.raises(ImportRejected) as info:
        import_responses(engine, slug, path)
    assert {i.column for i in info.value.result.issues} == {"respondent_key"}
    assert _count(engine) == 3


def test_export_pseudonymises_customer_ids(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    import_responses(engine, slug, _csv(GOOD, tmp_path / "in.csv"))
    key = SecretKey(b"k" * 32, source="test")
    out = tmp_path / "p.csv"
    out.write_bytes(export_responses(engine, slug, "csv", pseudonymise=True, key=key))
    ids = list(pd.read_csv(out)["customer_id"])
    assert all(str(i).startswith("P") and len(str(i)) == 25 for i in ids)
    assert "C1" not in out.read_text(encoding="utf-8-sig")
    again = tmp_path / "p2.csv"
    again.write_bytes(export_responses(engine, slug, "csv", pseudonymise=True, key=key))
    assert list(pd.read_csv(again)["customer_id"]) == ids


def test_export_rejects_an_unknown_format(engine: Engine) -> None:
    slug = _survey(engine)
    with pytest.raises(ValidationError) as info:
        export_responses(engine, slug, "pdf")
    assert info.value.key == "responses.export.bad_format"


def test_export_carries_quality_flags(engine: Engine, tmp_path: Path) -> None:
    slug = _survey(engine)
    import_responses(engine, slug, _csv(GOOD, tmp_path / "in.csv"))
    out = tmp_path / "q.csv"
    out.write_bytes(export_responses(engine, slug, "csv"))
    frame = pd.read_csv(out)
    # r2 took 30 s, below a third of the median 120 s; r3's file shows 4 in all five items,
    # but s4 is reverse-keyed (the answer was 2), so it is not a straight line
    assert list(frame["speeder"]) == [0, 1, 0]
    assert list(frame["straightliner"]) == [0, 0, 0]
    assert list(frame["duplicate"]) == [0, 0, 0]


EVERY_TYPE = minimal(
    q("sat", "five_level"),
    q("rate", "likert", points=7, start=0),
    q("rec", "nps"),
    q("effort", "ces"),
    q("st", "stars"),
    q("face", "emoji", faces=3, allow_na=True),
    q("k", "kano", functional=text("f"), dysfunctional=text("d")),
    q("sq", "servqual", expectation=text("e"), perception=text("p"), reverse=True),
    q("z", "servqual_zone", adequate=text("a"), desired=text("d"), perceived=text("p")),
    q("pts", "allocation", options=options("a", "b", "c")),
    q("w", "ahp", criteria=options("a", "b", "c", "d")),
    q("ch", "single", options=options("x", "y", "o", o={"other": True})),
    q("why", "multiple", show_if="sat <= 2", options=options("x", "y", "o", o={"other": True})),
    q("note", "text", required=False),
)
EVERY_ANSWER = {
    "sat": 2,
    "rate": 0,
    "rec": 10,
    "effort": 6,
    "st": 5,
    "face": "na",
    "k": {"functional": 1, "dysfunctional": 5},
    "sq": {"expectation": 7, "perception": 5},
    "z": {"adequate": 3, "desired": 8, "perceived": 6},
    "pts": {"a": 50, "b": 30.5, "c": 19.5},
    "w": {"a:b": 2, "a:c": 4, "a:d": 8, "b:c": 2, "b:d": 4, "c:d": 1 / 2},
    "ch": "o",
    "ch.other": "a friend",
    "why": ["x", "o"],
    "why.other": "noise",
    "note": "合格",
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_every_question_type_round_trips(engine: Engine, tmp_path: Path, fmt: str) -> None:
    from allegiance.survey.analysis import analysis_frame
    from allegiance.survey.definition import parse_definition
    from allegiance.survey.responses import validate_response

    definition = parse_definition(EVERY_TYPE)
    expected = validate_response(definition, EVERY_ANSWER, accept_inconsistent={"w"})
    assert expected.ok, expected.issues
    with Session(engine) as session:
        for slug in ("all", "all-copy"):
            S.create_survey_from_definition(session, EVERY_TYPE, slug=slug)
            S.publish_survey(session, slug, wave="w1")
    # the analysis frame of the answers is a valid import file
    source = tmp_path / "in.csv"
    frame = analysis_frame(definition, [EVERY_ANSWER], meta=False)
    frame["face"] = "不适用"  # the analysis frame leaves "not applicable" empty
    frame.to_csv(source, index=False)
    assert import_responses(engine, "all", source).n_written == 1
    exported = tmp_path / f"out.{fmt}"
    exported.write_bytes(export_responses(engine, "all", fmt))
    assert import_responses(engine, "all-copy", exported).n_written == 1
    with Session(engine) as session:
        stored = session.execute(select(Response.answers).order_by(Response.id)).scalars().all()
    assert stored[0] == stored[1]
    assert stored[0]["sq"] == {"expectation": 7, "perception": 5}  # reverse-keyed, turned back
    assert stored[0]["k"] == {"functional": 1, "dysfunctional": 5}
    assert stored[0]["why"] == ["x", "o"]
    assert stored[0]["ch.other"] == "a friend"
    assert stored[0]["w"]["c:d"] == pytest.approx(0.5)
    assert stored[0]["pts"] == {"a": 50, "b": 30.5, "c": 19.5}
    assert stored[0]["face"] == "na"  # not applicable survives the trip
    if fmt == "csv":
        assert pd.read_csv(exported)["face"].tolist() == ["Not applicable"]
    if fmt == "sav":
        frame, meta = pyreadstat.read_sav(str(exported), user_missing=True)
        assert frame.loc[0, "face"] == -1
        assert meta.missing_ranges["face"] == [{"lo": -1.0, "hi": -1.0}]
        assert meta.variable_value_labels["face"][-1.0] == "Not applicable"
