"""The complaint register in the store (migration 0003), on SQLite and PostgreSQL: its fields,
the handling moves and their history, and an import that is all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from allegiance.complaints.handling import load_workflow
from allegiance.complaints.importer import ComplaintImportError, import_complaints
from allegiance.complaints.register import history, log_complaint, transition
from allegiance.errors import StoreError, ValidationError
from allegiance.store import db, repository
from allegiance.store.models import Complaint, ComplaintEvent

REGISTER_FIELDS = {
    "product": "mobile",
    "cause_text": "客服挂断电话",
    "severity": "high",
    "owner": "agent_07",
    "first_response_at": "2024-03-01T11:00:00+08:00",
    "resolution": "apologized",
    "compensation": 20.5,
    "satisfaction_after": 4,
    "escalated_to": "media",
    "lang": "zh",
}


def _complaint(key: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "complaint_key": key,
        "customer_id": "C-001",
        "received_at": "2024-03-01T10:00:00+08:00",
        "channel": "hotline",
        "cause_code": "service_attitude",
        "cause_class": 2,
        "text": "服务员态度冷淡",
    }
    row.update(over)
    return row


def _count(session: Session, model: type[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_register_fields_round_trip(session: Session, engine: Engine) -> None:
    repository.save_complaints(
        session,
        [
            _complaint(
                "K1", **REGISTER_FIELDS, status="resolved", resolved_at="2024-03-02T10:00:00+08:00"
            ),
            _complaint("K2"),
        ],
    )
    frame = repository.complaints_frame(engine)
    assert list(frame.columns) == list(repository.COMPLAINT_COLUMNS)
    k1 = frame.set_index("complaint_key").loc["K1"]
    assert k1["first_response_at"] == pd.Timestamp("2024-03-01T03:00:00", tz="UTC")
    assert k1["compensation"] == 20.5
    assert k1["satisfaction_after"] == 4.0
    for name in (
        "product",
        "cause_text",
        "severity",
        "owner",
        "resolution",
        "escalated_to",
        "lang",
    ):
        assert k1[name] == REGISTER_FIELDS[name], name
    k2 = frame.set_index("complaint_key").loc["K2"]
    assert pd.isna(k2["compensation"])
    assert pd.isna(k2["first_response_at"])
    assert frame["compensation"].dtype == np.float64
    assert str(frame["first_response_at"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"escalated_to": "friends"}, "store.row_choice"),
        ({"compensation": -1}, "store.row_not_number"),
        ({"compensation": "lots"}, "store.row_not_number"),
        ({"satisfaction_after": float("inf")}, "store.row_not_number"),
        ({"first_response_at": "2024-03-01T09:00:00+08:00"}, "store.row_before_received"),
        ({"resolved_at": "2024-02-01T09:00:00+08:00"}, "store.row_before_received"),
        ({"severity": "x" * 31}, "store.row_too_long"),
    ],
)
def test_bad_register_values_write_nothing(
    session: Session, over: dict[str, Any], key: str
) -> None:
    rows = [_complaint("K1"), _complaint("K2", **over), _complaint("K3")]
    with pytest.raises(StoreError) as info:
        repository.save_complaints(session, rows)
    assert info.value.key == key
    assert info.value.params["row"] == 1
    assert _count(session, Complaint) == 0
    assert info.value.render("zh") != info.value.render("en")


def test_an_update_keeps_the_fields_the_batch_does_not_name(
    session: Session, engine: Engine
) -> None:
    repository.save_complaints(session, [_complaint("K1", **REGISTER_FIELDS)])
    repository.save_complaints(
        session,
        [_complaint("K1", status="resolved", resolved_at="2024-03-03T10:00:00+08:00")],
        on_conflict="update",
    )
    k1 = repository.complaints_frame(engine).iloc[0]
    assert k1["status"] == "resolved"
    assert k1["owner"] == "agent_07"  # not in the second batch: kept
    assert k1["compensation"] == 20.5


def test_working_a_complaint_through_the_workflow(session: Session, engine: Engine) -> None:
    wf = load_workflow()
    stored = log_complaint(
        session,
        {
            "complaint_key": "W1",
            "customer_id": "C9",
            "received_at": "2024-05-01T08:00:00+00:00",
            "channel": "app",
            "cause": "订货出错",
            "severity": "high",
        },
        actor="web",
    )
    assert stored["status"] == "open"
    assert stored["cause_code"] == "order_error"
    assert stored["cause_class"] == 2
    transition(
        session,
        "W1",
        "acknowledged",
        workflow=wf,
        role="agent",
        actor="agent_01",
        at="2024-05-01T09:00:00+00:00",
    )
    transition(
        session,
        "W1",
        "resolved",
        workflow=wf,
        role="agent",
        actor="agent_01",
        at="2024-05-02T08:00:00+00:00",
        changes={"resolution": "credited", "compensation": 30},
    )
    row = repository.get_complaint(session, "W1")
    assert row is not None
    assert row["status"] == "resolved"
    assert pd.Timestamp(row["first_response_at"]) == pd.Timestamp("2024-05-01T09:00:00", tz="UTC")
    assert pd.Timestamp(row["resolved_at"]) == pd.Timestamp("2024-05-02T08:00:00", tz="UTC")
    assert row["compensation"] == 30.0
    # an agent may not close; the refusal changes nothing
    with pytest.raises(ValidationError) as info:
        transition(session, "W1", "closed", workflow=wf, role="agent")
    assert info.value.key == "complaints.workflow.role_refused"
    transition(session, "W1", "closed", workflow=wf, role="supervisor", actor="lead")
    moves = history(engine, "W1")
    assert moves["to_status"].tolist() == ["open", "acknowledged", "resolved", "closed"]
    assert moves["from_status"].tolist() == ["open", "open", "acknowledged", "resolved"]
    assert moves["actor"].tolist() == ["web", "agent_01", "agent_01", "lead"]
    assert _count(session, ComplaintEvent) == 4


def test_two_agents_cannot_both_move_a_complaint(session: Session) -> None:
    repository.save_complaints(session, [_complaint("K1")])
    first = repository.set_complaint_status(
        session,
        "K1",
        expected_status="open",
        status="acknowledged",
        first_response_at=None,
        resolved_at=None,
    )
    assert first.to_status == "acknowledged"
    with pytest.raises(StoreError) as info:  # the second agent still saw "open"
        repository.set_complaint_status(
            session,
            "K1",
            expected_status="open",
            status="resolved",
            first_response_at=None,
            resolved_at=None,
        )
    assert info.value.key == "store.complaint_changed"
    assert info.value.params["found"] == "acknowledged"
    assert repository.get_complaint(session, "K1")["status"] == "acknowledged"  # type: ignore[index]
    assert _count(session, ComplaintEvent) == 1
    with pytest.raises(StoreError) as missing:
        transition(session, "nope", "resolved")
    assert missing.value.key == "store.complaint_not_found"


def test_deleting_a_complaint_deletes_its_history(session: Session, engine: Engine) -> None:
    repository.save_complaints(session, [_complaint("K1")])
    transition(session, "K1", "resolved")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM complaints WHERE complaint_key = 'K1'"))
    assert _count(session, ComplaintEvent) == 0


def test_import_is_all_or_nothing(session: Session, engine: Engine, tmp_path: Path) -> None:
    good = "complaint_key,received_at,channel,cause\nK1,2024-01-01 10:00,hotline,服务态度\nK2,2024-01-02 10:00,app,price\n"
    bad = good + "K3,2024-01-03 10:00,store,no such cause\n"
    path = tmp_path / "bad.csv"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ComplaintImportError) as info:
        import_complaints(path, session)
    assert (info.value.params["row"], info.value.params["column"]) == (4, "cause")
    assert _count(session, Complaint) == 0
    path.write_text(good, encoding="utf-8")
    result = import_complaints(path, session)
    assert result.n_inserted == 2
    assert repository.complaints_frame(engine)["cause_class"].tolist() == [2, 1]


def test_migration_0003_down_and_up(engine: Engine) -> None:
    repository_rows = [_complaint("K1", **REGISTER_FIELDS)]
    with db.session_factory(engine)() as s:
        repository.save_complaints(s, repository_rows)
    db.downgrade(engine, "0002")
    columns = {c["name"] for c in inspect(engine).get_columns("complaints")}
    assert "severity" not in columns
    assert "complaint_events" not in inspect(engine).get_table_names()
    # the stored complaint survives and the cause_class rule is still enforced
    with engine.connect() as conn:
        assert conn.execute(text("SELECT complaint_key FROM complaints")).scalars().all() == ["K1"]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO complaints (complaint_key, received_at, channel, cause_code, cause_class, text, status) "
                "VALUES ('bad', :t, 'x', 'y', 9, '', 'open')"
            ),
            {"t": datetime(2024, 1, 1, tzinfo=UTC)},
        )
    db.upgrade(engine)
    assert db.schema_diff(engine) == []
    frame = repository.complaints_frame(engine)
    assert frame["complaint_key"].tolist() == ["K1"]
    assert frame["severity"].isna().all()  # the register fields were dropped with their columns
