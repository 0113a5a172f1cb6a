"""The repository on SQLite and PostgreSQL: idempotent, all-or-nothing writes and frames."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from allegiance.errors import StoreError
from allegiance.store import db, repository
from allegiance.store.models import Complaint, Dataset, Response

_EXAMPLES = itertools.count()

# The complaint cause table of SPEC.md section 6 (the training material's example of
# 148 complaints): cause (zh), cause (en), count, cause class.
SPEC_COMPLAINT_CAUSES: list[tuple[str, str, int, int]] = [
    ("产品品质不良", "poor product quality", 38, 1),
    ("服务态度", "service attitude", 17, 2),
    ("产品故障", "product fault", 14, 1),
    ("搀杂异物", "foreign matter", 10, 1),
    ("认错顾客、生疏", "mistaking or ignoring the customer", 10, 2),
    ("订货出错", "order error", 9, 2),
    ("让顾客久等", "long wait", 5, 2),
    ("拖延回答、不回应", "slow or no reply", 5, 2),
    ("顾客的无知或常识不足", "customer's lack of knowledge", 5, 3),
    ("对产品的疑问", "doubts about the product", 4, 1),
    ("出差错", "mistakes", 3, 2),
    ("不知是卖方或买方的错", "fault unclear", 3, 4),
    ("期待破灭", "disappointed expectation", 3, 1),
    ("说明技巧差", "poor explanation", 2, 2),
    ("介绍错误", "wrong information", 2, 2),
    ("无法满足客人的要求", "request not met", 2, 2),
    ("不把客户的抱怨当回事", "complaint not taken seriously", 2, 2),
    ("付出的钱太多", "paid too much", 2, 1),
    ("由于疏忽而造成的抱怨", "carelessness", 1, 2),
    ("不合理的抱怨", "unreasonable complaint", 1, 4),
    ("推荐其他制造商", "recommended another maker", 1, 2),
    ("遗失", "lost item", 1, 1),
    ("天灾等非人为因素", "natural causes", 1, 4),
    ("技术不够纯熟", "insufficient skill", 1, 1),
    ("马马虎虎敷衍了事", "perfunctory handling", 1, 2),
    ("立场不同", "different standpoint", 1, 2),
    ("价格问题", "price", 1, 1),
    ("知识不足", "lack of knowledge", 1, 2),
    ("延迟送达", "late delivery", 1, 2),
    ("货品售完", "sold out", 1, 1),
]


def _count(session: Session, model: type[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _complaint(key: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "complaint_key": key,
        "customer_id": "C-001",
        "received_at": "2024-03-01T10:00:00+08:00",
        "channel": "phone",
        "cause_code": "service_attitude",
        "cause_class": 2,
        "text": "服务员态度冷淡",
    }
    row.update(over)
    return row


# ------------------------------------------------------------------------ project meta


def test_project_meta_round_trip(session: Session) -> None:
    repository.set_meta(session, "name", "客户满意度演示")
    repository.set_meta(session, "seed", np.int64(20240501))
    repository.set_meta(session, "langs", ["zh", "en"])
    repository.set_meta(session, "name", "demo")  # replaces, does not duplicate
    assert repository.get_meta(session, "name") == "demo"
    assert repository.get_meta(session, "missing", default=7) == 7
    assert repository.all_meta(session) == {
        "langs": ["zh", "en"],
        "name": "demo",
        "seed": 20240501,
    }


# ----------------------------------------------------------------------------- datasets


def test_register_and_find_datasets(session: Session, engine: Engine) -> None:
    ds = repository.register_dataset(
        session,
        name="activity",
        kind="transactions",
        path=Path("data") / "activity.parquet",
        n_rows=1200,
        columns=[{"name": "customer_id", "type": "string"}],
        source="allegiance.generate.activity",
        truth={"churn_rate": 0.12},
    )
    repository.register_dataset(
        session,
        name="customers",
        kind="customers",
        path="data/customers.parquet",
        n_rows=100,
        columns=["customer_id"],
        source="import",
    )
    assert ds.id is not None
    found = repository.get_dataset(session, "activity")
    assert found is not None
    assert found.path == "data/activity.parquet"
    assert found.truth == {"churn_rate": 0.12}
    assert found.created_at.tzinfo is not None
    assert [d.name for d in repository.list_datasets(session)] == ["activity", "customers"]
    assert [d.name for d in repository.list_datasets(session, kind="customers")] == ["customers"]
    assert repository.get_dataset(session, "nope") is None
    with engine.connect() as conn:
        # No truth is SQL NULL, not the JSON text 'null'.
        nulls = conn.execute(text("SELECT name FROM datasets WHERE truth IS NULL")).scalars()
        assert list(nulls) == ["customers"]


def test_dataset_names_are_unique_unless_replaced(session: Session) -> None:
    args: dict[str, Any] = {
        "name": "activity",
        "kind": "transactions",
        "path": "a.parquet",
        "columns": [],
        "source": "import",
    }
    repository.register_dataset(session, n_rows=1, **args)
    with pytest.raises(StoreError) as info:
        repository.register_dataset(session, n_rows=2, **args)
    assert info.value.key == "store.dataset_exists"
    repository.register_dataset(session, n_rows=3, replace=True, **args)
    assert _count(session, Dataset) == 1
    found = repository.get_dataset(session, "activity")
    assert found is not None
    assert found.n_rows == 3


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.parquet", "C:\\data\\x.parquet", ""])
def test_dataset_paths_must_stay_in_the_project(session: Session, path: str) -> None:
    with pytest.raises(StoreError) as info:
        repository.register_dataset(
            session, name="x", kind="k", path=path, n_rows=0, columns=[], source="s"
        )
    assert info.value.key == "store.dataset_path"
    assert _count(session, Dataset) == 0


# ------------------------------------------------------------------------ surveys, waves


def test_surveys_and_waves(session: Session) -> None:
    survey = repository.create_survey(
        session, code="nps", title_en="NPS", title_zh="净推荐值", definition={"q": ["nps"]}
    )
    found = repository.get_survey_by_code(session, "nps")
    assert found is not None
    assert found.id == survey.id
    assert found.title_zh == "净推荐值"
    assert found.definition == {"q": ["nps"]}
    assert repository.get_survey_by_code(session, "other") is None
    w1 = repository.get_or_create_wave(
        session, survey.id, "2024Q1", starts_on=date(2024, 1, 1), ends_on=date(2024, 3, 31)
    )
    w2 = repository.get_or_create_wave(session, survey.id, "2024Q1")
    assert w1.id == w2.id
    assert w2.starts_on == date(2024, 1, 1)
    w3 = repository.get_or_create_wave(session, survey.id, "2024Q2")
    assert w3.id != w1.id
    assert [s.code for s in repository.list_surveys(session)] == ["nps"]
    with pytest.raises(StoreError) as info:
        repository.create_survey(
            session, code="nps", title_en="again", title_zh="重复", definition={}
        )
    assert info.value.key == "store.survey_exists"
    with pytest.raises(StoreError) as info:
        repository.get_or_create_wave(session, 999_999, "2024Q1")
    assert info.value.key == "store.survey_id_not_found"
    with pytest.raises(StoreError) as info:
        repository.get_or_create_wave(
            session, survey.id, "bad", starts_on=date(2024, 2, 1), ends_on=date(2024, 1, 1)
        )
    assert info.value.key == "store.wave_dates"


# ----------------------------------------------------------------------------- responses


def test_json_answers_with_chinese_text_round_trip(
    session: Session, engine: Engine, wave_id: int
) -> None:
    answers = {
        "q_overall": 5,
        "q_comment": "服务很好，但是排队太久了。",
        "q_channels": ["网点", "手机银行"],
        "q_nps": None,
        "q_weight": 0.75,
        "q_detail": {"原因": "价格", "score": 3},
    }
    result = repository.save_responses(
        session,
        wave_id,
        [
            {
                "respondent_key": "r-1",
                "customer_id": "客户-1",
                "submitted_at": "2024-03-01T09:30:00+08:00",
                "answers": answers,
            }
        ],
    )
    assert result.n_inserted == 1
    frame = repository.responses_frame(engine, wave_id=wave_id)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["survey"] == "csat"
    assert row["wave"] == "2024Q1"
    assert row["customer_id"] == "客户-1"
    assert row["submitted_at"] == pd.Timestamp("2024-03-01T01:30:00", tz="UTC")
    assert list(frame.columns) == [*repository.RESPONSE_META_COLUMNS, *answers]
    assert row["q_comment"] == "服务很好，但是排队太久了。"
    assert row["q_channels"] == ["网点", "手机银行"]
    assert row["q_detail"] == {"原因": "价格", "score": 3}
    assert pd.isna(row["q_nps"])
    stored = session.execute(select(Response.answers)).scalar_one()
    assert stored == answers
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT CAST(answers AS TEXT) FROM responses")).scalar_one()
    assert "排队太久" in raw  # stored as readable UTF-8, not \\u escapes


def test_resaving_responses_does_not_duplicate(
    session: Session, engine: Engine, wave_id: int
) -> None:
    rows = [{"respondent_key": f"r{i}", "answers": {"q1": i % 5 + 1}} for i in range(20)]
    first = repository.save_responses(session, wave_id, rows)
    assert (first.n_inserted, first.n_existing, first.n_repeated) == (20, 0, 0)
    changed = [{"respondent_key": r["respondent_key"], "answers": {"q1": 1}} for r in rows]
    again = repository.save_responses(session, wave_id, [*changed, {"respondent_key": "new"}])
    assert (again.n_rows, again.n_inserted, again.n_existing) == (21, 1, 20)
    assert _count(session, Response) == 21
    frame = repository.responses_frame(engine, wave_id=wave_id)
    # ignore: what was stored first is kept
    assert frame["q1"].iloc[:20].tolist() == [i % 5 + 1 for i in range(20)]
    update = repository.save_responses(session, wave_id, changed, on_conflict="update")
    assert (update.n_inserted, update.n_existing) == (0, 20)
    assert _count(session, Response) == 21
    frame = repository.responses_frame(engine, wave_id=wave_id)
    assert frame["q1"].iloc[:20].tolist() == [1] * 20


def test_a_key_repeated_in_one_batch_counts_once(session: Session, wave_id: int) -> None:
    rows = [
        {"respondent_key": "a", "answers": {"q": 1}},
        {"respondent_key": "a", "answers": {"q": 2}},
        {"respondent_key": "b", "answers": {"q": 3}},
    ]
    result = repository.save_responses(session, wave_id, rows)
    assert (result.n_rows, result.n_inserted, result.n_repeated) == (3, 2, 1)
    first = session.execute(
        select(Response.answers).where(Response.respondent_key == "a")
    ).scalar_one()
    assert first == {"q": 1}
    repository.save_responses(session, wave_id, rows, on_conflict="update")
    session.expire_all()
    last = session.execute(
        select(Response.answers).where(Response.respondent_key == "a")
    ).scalar_one()
    assert last == {"q": 2}


@pytest.mark.parametrize(
    ("bad_row", "key", "field"),
    [
        ({"answers": {"q1": 3}}, "store.row_missing", "respondent_key"),
        ({"respondent_key": "  ", "answers": {}}, "store.row_missing", "respondent_key"),
        ({"respondent_key": 1.5, "answers": {}}, "store.row_not_text", "respondent_key"),
        ({"respondent_key": "x", "answers": {"q1": object()}}, "store.row_not_json", "q1"),
        ({"respondent_key": "x", "answers": {"q1": float("inf")}}, "store.row_not_json", "q1"),
        ({"respondent_key": "x", "answers": [1, 2]}, "store.row_not_mapping", "answers"),
        ({"respondent_key": "x", "answers": {}, "extra": 1}, "store.row_unknown_fields", None),
        ({"respondent_key": "x", "answers": {"wave": 1}}, "store.row_reserved_answer", "wave"),
        ({"respondent_key": "x", "submitted_at": "yesterday"}, "store.row_not_time", None),
        ({"respondent_key": "x" * 201}, "store.row_too_long", "respondent_key"),
        ({"respondent_key": "x", "customer_id": ["c"]}, "store.row_not_text", "customer_id"),
    ],
)
def test_a_bad_row_writes_nothing(
    session: Session, wave_id: int, bad_row: dict[str, Any], key: str, field: str | None
) -> None:
    good = [{"respondent_key": f"ok{i}", "answers": {"q1": 4}} for i in range(3)]
    with pytest.raises(StoreError) as info:
        repository.save_responses(session, wave_id, [*good, bad_row, *good[:1]])
    error = info.value
    assert error.key == key
    assert error.params["row"] == 3
    assert error.params["table"] == "responses"
    if field is not None:
        assert error.params["field"] == field
    assert "3" in error.render("zh")
    assert _count(session, Response) == 0


def test_responses_never_half_written_on_a_database_error(
    session: Session, wave_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Let a row past the checks that the database itself refuses (a key longer than the
    # column on PostgreSQL; on SQLite, a NULL key): the transaction rolls back whole.
    real = repository._response_params

    def sloppy(*args: Any, **kwargs: Any) -> Any:
        params, n = real(*args, **kwargs)
        params[-1]["respondent_key"] = None
        return params, n

    monkeypatch.setattr(repository, "_response_params", sloppy)
    rows = [{"respondent_key": f"r{i}", "answers": {"q": i}} for i in range(50)]
    with pytest.raises(StoreError) as info:
        repository.save_responses(session, wave_id, rows)
    assert info.value.key == "store.integrity.responses"
    assert "responses" in info.value.render("zh")
    monkeypatch.undo()
    assert _count(session, Response) == 0


def test_flat_rows_and_frames_are_accepted(session: Session, engine: Engine, wave_id: int) -> None:
    frame_in = pd.DataFrame(
        {
            "respondent_key": [101, 102, 103],
            "customer_id": ["c1", None, "c3"],
            "q_overall": [5, 4, np.nan],
            "q_reason": ["价格", "服务", None],
            "submitted_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        }
    )
    result = repository.save_responses(session, wave_id, frame_in)
    assert result.n_inserted == 3
    out = repository.responses_frame(engine, survey_code="csat")
    assert out["respondent_key"].tolist() == ["101", "102", "103"]
    assert out["customer_id"].isna().tolist() == [False, True, False]
    assert out["q_overall"].iloc[:2].tolist() == [5, 4]
    assert pd.isna(out["q_overall"].iloc[2])
    assert out["q_reason"].iloc[:2].tolist() == ["价格", "服务"]
    assert out["submitted_at"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_submitted_at_defaults_to_now_in_utc(
    session: Session, engine: Engine, wave_id: int
) -> None:
    before = datetime.now(UTC)
    repository.save_responses(session, wave_id, [{"respondent_key": "x", "answers": {}}])
    stamp = repository.responses_frame(engine)["submitted_at"].iloc[0]
    assert str(stamp.tz) == "UTC"
    assert before - timedelta(seconds=1) <= stamp.to_pydatetime() <= datetime.now(UTC)


def test_response_times_keep_the_instant(session: Session, wave_id: int) -> None:
    east8 = timezone(timedelta(hours=8))
    moment = datetime(2024, 5, 1, 9, 30, tzinfo=east8)
    repository.save_responses(
        session, wave_id, [{"respondent_key": "x", "submitted_at": moment, "answers": {}}]
    )
    stored = session.execute(select(Response.submitted_at)).scalar_one()
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)


def test_responses_frame_filters(session: Session, engine: Engine, wave_id: int) -> None:
    other = repository.create_survey(
        session, code="nps", title_en="NPS", title_zh="净推荐值", definition={}
    )
    w_other = repository.get_or_create_wave(session, other.id, "2024Q1").id
    w_second = repository.get_or_create_wave(
        session,
        repository.get_survey_by_code(session, "csat").id,
        "2024Q2",
    ).id
    repository.save_responses(session, wave_id, [{"respondent_key": "a", "q1": 1}])
    repository.save_responses(session, w_second, [{"respondent_key": "a", "q1": 2}])
    repository.save_responses(session, w_other, [{"respondent_key": "a", "nps": 9}])
    everything = repository.responses_frame(engine)
    assert everything[["survey", "wave"]].values.tolist() == [
        ["csat", "2024Q1"],
        ["csat", "2024Q2"],
        ["nps", "2024Q1"],
    ]
    csat = repository.responses_frame(engine, survey_code="csat")
    assert csat["q1"].tolist() == [1, 2]
    assert "nps" not in csat.columns
    assert repository.responses_frame(engine, wave_id=w_second)["q1"].tolist() == [2]
    assert repository.responses_frame(engine, wave_id=w_other, survey_code="csat").empty
    with pytest.raises(StoreError) as info:
        repository.responses_frame(engine, survey_code="cast")
    assert info.value.key == "store.survey_not_found"
    assert "csat" in str(info.value)
    with pytest.raises(StoreError) as info:
        repository.responses_frame(engine, wave_id=424242)
    assert info.value.key == "store.wave_not_found"


def test_empty_responses_frame_has_the_meta_columns(engine: Engine) -> None:
    frame = repository.responses_frame(engine)
    assert list(frame.columns) == list(repository.RESPONSE_META_COLUMNS)
    assert frame.empty
    assert str(frame["submitted_at"].dtype).startswith("datetime64")


def test_saving_to_a_missing_wave_fails(session: Session, engine: Engine) -> None:
    with pytest.raises(StoreError) as info:
        repository.save_responses(session, 999, [{"respondent_key": "x"}])
    assert info.value.key == "store.wave_not_found"
    with pytest.raises(StoreError) as info:
        repository.save_responses(session, 999, [], on_conflict="replace")
    assert info.value.key == "store.bad_on_conflict"


def test_writes_can_share_one_transaction(session: Session, engine: Engine) -> None:
    survey = repository.create_survey(
        session, code="s", title_en="S", title_zh="问卷", definition={}, commit=False
    )
    wave = repository.get_or_create_wave(session, survey.id, "w", commit=False)
    repository.save_responses(session, wave.id, [{"respondent_key": "a"}], commit=False)
    session.rollback()
    assert repository.get_survey_by_code(session, "s") is None
    assert _count(session, Response) == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(
        st.lists(st.sampled_from([f"k{i}" for i in range(12)]), max_size=15),
        min_size=1,
        max_size=4,
    ),
    mode=st.sampled_from(["ignore", "update"]),
)
def test_saving_is_idempotent_for_any_batches(
    session: Session, engine: Engine, batches: list[list[str]], mode: str
) -> None:
    survey = repository.get_survey_by_code(session, "prop") or repository.create_survey(
        session, code="prop", title_en="p", title_zh="p", definition={}
    )
    # a new wave for every example (the database lives as long as the test)
    wave = repository.get_or_create_wave(session, survey.id, f"w{next(_EXAMPLES)}")
    assert repository.responses_frame(engine, wave_id=wave.id).empty
    seen: set[str] = set()
    for batch in batches:
        rows = [{"respondent_key": k, "answers": {"i": i}} for i, k in enumerate(batch)]
        result = repository.save_responses(session, wave.id, rows, on_conflict=mode)
        new = set(batch) - seen
        seen |= set(batch)
        assert result.n_rows == len(batch)
        assert result.n_inserted == len(new)
        assert result.n_inserted + result.n_existing + result.n_repeated == result.n_rows
        assert result.n_repeated == len(batch) - len(set(batch))
    frame = repository.responses_frame(engine, wave_id=wave.id)
    assert sorted(frame["respondent_key"]) == sorted(seen)


# ---------------------------------------------------------------------------- complaints


def _spec_complaints() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for cause_zh, cause_en, count, cause_class in SPEC_COMPLAINT_CAUSES:
        for j in range(count):
            n = len(rows)
            rows.append(
                {
                    "complaint_key": f"K{n:04d}",
                    "customer_id": f"C{n % 37:03d}",
                    "received_at": start + timedelta(hours=n),
                    "channel": ("phone", "store", "web")[n % 3],
                    "cause_code": cause_en.replace(" ", "_"),
                    "cause_class": cause_class,
                    "text": f"{cause_zh}（第 {j + 1} 起）",
                }
            )
    return rows


def test_complaints_frame_reproduces_the_spec_example(session: Session, engine: Engine) -> None:
    result = repository.save_complaints(session, _spec_complaints())
    assert result.n_inserted == 148
    frame = repository.complaints_frame(engine)
    assert list(frame.columns) == list(repository.COMPLAINT_COLUMNS)
    # SPEC.md section 6: 148 complaints; the material rounds the class shares to
    # 50% (class 1), 43% (class 2) and 7% (classes 3 and 4 together), so that they
    # add up to 100 (the exact shares are 50.7%, 42.6% and 6.8%): within one point.
    assert len(frame) == 148
    shares = frame["cause_class"].value_counts(normalize=True) * 100
    assert abs(shares[1] - 50) < 1
    assert abs(shares[2] - 43) < 1
    assert abs(shares[3] + shares[4] - 7) < 1
    assert frame["status"].unique().tolist() == ["open"]
    assert frame["received_at"].is_monotonic_increasing
    assert str(frame["received_at"].dt.tz) == "UTC"
    assert frame["resolved_at"].isna().all()
    assert frame["text"].iloc[0] == "产品品质不良（第 1 起）"
    assert frame["cause_class"].dtype == np.int64


def test_resaving_complaints_does_not_duplicate(session: Session, engine: Engine) -> None:
    rows = [_complaint(f"K{i}") for i in range(5)]
    repository.save_complaints(session, rows)
    again = repository.save_complaints(session, rows)
    assert (again.n_inserted, again.n_existing) == (0, 5)
    assert _count(session, Complaint) == 5
    resolved = _complaint("K0", status="resolved", resolved_at="2024-03-02T10:00:00+08:00")
    repository.save_complaints(session, [resolved])  # ignored: K0 is stored
    frame = repository.complaints_frame(engine)
    assert frame.loc[frame["complaint_key"] == "K0", "status"].item() == "open"
    repository.save_complaints(session, [resolved], on_conflict="update")
    frame = repository.complaints_frame(engine)
    k0 = frame.loc[frame["complaint_key"] == "K0"].iloc[0]
    assert k0["status"] == "resolved"
    assert k0["resolved_at"] == pd.Timestamp("2024-03-02T02:00:00", tz="UTC")
    assert _count(session, Complaint) == 5


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"cause_class": 5}, "store.row_cause_class"),
        ({"cause_class": "two"}, "store.row_cause_class"),
        ({"cause_class": None}, "store.row_missing"),
        ({"received_at": None}, "store.row_missing"),
        ({"channel": ""}, "store.row_missing"),
        ({"colour": "red"}, "store.row_unknown_fields"),
    ],
)
def test_a_bad_complaint_writes_nothing(session: Session, over: dict[str, Any], key: str) -> None:
    rows = [_complaint("K1"), _complaint("K2", **over), _complaint("K3")]
    with pytest.raises(StoreError) as info:
        repository.save_complaints(session, rows)
    assert info.value.key == key
    assert info.value.params["row"] == 1
    assert _count(session, Complaint) == 0


def test_cause_class_accepts_numbers_read_from_files(session: Session, engine: Engine) -> None:
    rows = [
        _complaint("a", cause_class="3"),
        _complaint("b", cause_class=np.int64(1)),
        _complaint("c", cause_class=4.0),
    ]
    repository.save_complaints(session, rows)
    assert repository.complaints_frame(engine)["cause_class"].tolist() == [3, 1, 4]


def test_the_check_rule_is_not_silently_skipped(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ON CONFLICT DO NOTHING only forgives a repeated key: a row that breaks the
    # cause_class CHECK rule fails the whole batch (INSERT OR IGNORE would drop it).
    monkeypatch.setattr(repository, "_cause_class", lambda value, *, row: int(value))
    rows = [_complaint("K1"), _complaint("K2", cause_class=9), _complaint("K3")]
    with pytest.raises(StoreError) as info:
        repository.save_complaints(session, rows)
    assert info.value.key == "store.integrity.complaints"
    assert _count(session, Complaint) == 0


# ---------------------------------------------------------------------------------- runs


def test_runs_are_audited(session: Session, engine: Engine) -> None:
    run_id = repository.start_run(
        session, "csi", params={"survey": "csat", "out": Path("out"), "n_boot": np.int64(500)}
    )
    running = repository.runs_frame(engine)
    assert list(running.columns) == list(repository.RUN_COLUMNS)
    assert running["status"].tolist() == ["running"]
    assert pd.isna(running["finished_at"].iloc[0])
    run = repository.finish_run(session, run_id, status="error", message="列不存在")
    assert run.status == "error"
    assert run.duration_s is not None
    assert run.duration_s >= 0
    other = repository.start_run(session, "nps")
    repository.finish_run(session, other)
    frame = repository.runs_frame(engine)
    assert frame["command"].tolist() == ["csi", "nps"]
    assert frame["status"].tolist() == ["error", "ok"]
    assert frame["message"].iloc[0] == "列不存在"
    assert frame["params"].iloc[0] == {"survey": "csat", "out": "out", "n_boot": 500}
    assert (frame["finished_at"] >= frame["started_at"]).all()
    assert np.allclose(
        frame["duration_s"],
        (frame["finished_at"] - frame["started_at"]).dt.total_seconds(),
        atol=1e-3,
    )
    assert repository.runs_frame(engine, command="nps")["run_id"].tolist() == [other]
    with pytest.raises(StoreError) as info:
        repository.finish_run(session, 10_000)
    assert info.value.key == "store.run_not_found"
    with pytest.raises(StoreError) as info:
        repository.finish_run(session, other, status="done")
    assert info.value.key == "store.bad_run_status"


# ------------------------------------------------------------------------ database errors


def test_an_unmigrated_database_names_the_missing_table(bare_engine: Engine) -> None:
    with pytest.raises(StoreError) as info:
        repository.complaints_frame(bare_engine)
    assert info.value.key == "store.missing_table"
    assert info.value.params["table"] == "complaints"
    with db.session_factory(bare_engine)() as s, pytest.raises(StoreError) as info:
        repository.save_complaints(s, [_complaint("K1")])
    assert info.value.key == "store.missing_table"
    zh = info.value.render("zh")
    assert "complaints" in zh
    assert "不存在" in zh


def test_an_unreachable_server_is_a_store_error() -> None:
    engine = db.make_engine(
        "postgresql://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        with pytest.raises(StoreError) as info:
            repository.runs_frame(engine)
        assert info.value.key == "store.operational"
        assert info.value.params["table"] == "runs"
    finally:
        engine.dispose()
