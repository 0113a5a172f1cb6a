"""``customers erase``: one person's data leaves every table and Parquet file, in one
transaction, and the audit log keeps only a keyed hash and counts (SQLite and PostgreSQL).

"Every table" is checked generically: the database is reflected (SQLAlchemy metadata, so
tables the models do not know are searched too) and every column is read as text and
searched for the id and the e-mail address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, cast, func, select
from typer.testing import CliRunner

from allegiance.cli import customers as customers_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.errors import ValidationError
from allegiance.security import erasure as erasure_mod
from allegiance.security.erasure import erase_customer
from allegiance.security.privacy import erasure_reference
from allegiance.security.secret import SecretKey
from allegiance.store import admin, db
from allegiance.store.models import (
    Complaint,
    ComplaintEvent,
    Dataset,
    Invitation,
    Response,
    ResponseDraft,
    Survey,
    SurveyWave,
)

KEY = SecretKey(b"erasure-test-key-" * 3, source="test")
CID = "CUST-ERASE-7781"
MAIL = "Li.Wei+erase@example.com"
OTHER = "CUST-KEEP-1002"
OTHER_MAIL = "keep.me@example.com"
DEFINITION = {
    "pages": [
        {
            "id": "p1",
            "questions": [
                {"id": "q_sat", "type": "five_level"},
                {"id": "q_why", "type": "text"},
                {"id": "q_channel", "type": "single"},
            ],
        }
    ]
}


def _populate(engine: Engine) -> None:
    with db.session_factory(engine)() as s:
        survey = Survey(
            code="csat",
            title_en="CSAT",
            title_zh="满意度",
            definition=DEFINITION,
            status="published",
        )
        s.add(survey)
        s.flush()
        wave = SurveyWave(survey_id=survey.id, name="2025Q1")
        s.add(wave)
        s.flush()
        invs = []
        for n, (cid, mail) in enumerate([(CID, MAIL), (OTHER, OTHER_MAIL), (None, MAIL.upper())]):
            inv = Invitation(
                survey_id=survey.id, wave_id=wave.id, token=f"tok{n}", customer_id=cid, email=mail
            )
            s.add(inv)
            invs.append(inv)
        s.flush()
        s.add(
            Response(
                wave_id=wave.id,
                respondent_key=CID,
                customer_id=CID,
                invitation_id=invs[0].id,
                answers={"q_sat": 4, "q_why": "call me on 138", "q_channel": "web"},
                user_agent_hash="a" * 64,
                source="web",
            )
        )
        s.add(
            Response(  # given through the anonymous invitation with the person's address
                wave_id=wave.id,
                respondent_key="anon-1",
                invitation_id=invs[2].id,
                answers={"q_sat": 2, "q_channel": "other", "q_channel.other": f"mail {MAIL}"},
            )
        )
        s.add(
            Response(
                wave_id=wave.id,
                respondent_key=OTHER,
                customer_id=OTHER,
                invitation_id=invs[1].id,
                answers={"q_sat": 5, "q_why": "fine", "q_channel": "app"},
            )
        )
        s.add(ResponseDraft(invitation_id=invs[0].id, answers={"q_why": "draft text"}))
        for key, cid in (("K1", CID), ("K2", OTHER), (f"{CID}-2", CID)):
            complaint = Complaint(
                complaint_key=key,
                customer_id=cid,
                received_at=pd.Timestamp("2025-01-05", tz="UTC").to_pydatetime(),
                channel="phone",
                cause_code="billing",
                cause_class=1,
                text=f"customer {cid} says the bill is wrong",
                cause_text="billing",
            )
            s.add(complaint)
            s.flush()
            s.add(ComplaintEvent(complaint_id=complaint.id, to_status="open", note=f"called {cid}"))
        s.add(
            Dataset(
                name="activity",
                kind="activity",
                path="data/activity.parquet",
                n_rows=4,
                columns=[],
                source="test",
            )
        )
        s.commit()
    crm = Table(
        "crm_customers",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("customer_id", String(50)),
        Column("email", String(100)),
        Column("city", Text),
    )
    with engine.begin() as conn:
        crm.create(conn)
        conn.execute(
            crm.insert(),
            [
                {"customer_id": CID, "email": MAIL, "city": "Hangzhou"},
                {"customer_id": OTHER, "email": OTHER_MAIL, "city": "Wuhan"},
            ],
        )


def _data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "proj" / "data"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "customer_id": [CID, OTHER, CID, OTHER],
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    ).to_parquet(folder / "activity.parquet")
    pd.DataFrame({"n": [1, 2]}).to_parquet(folder / "no_people.parquet")
    return folder


def _hits(engine: Engine, needle: str) -> dict[str, int]:
    """Rows of every table (reflected) in which some column, read as text, holds ``needle``."""
    meta = MetaData()
    meta.reflect(engine)
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            has = [func.lower(cast(c, Text)).contains(needle.lower()) for c in table.columns]
            counts = conn.execute(
                select(*(func.count().filter(h) for h in has)).select_from(table)
            ).one()
            for column, n in zip(table.columns, counts, strict=True):
                if n:
                    found[f"{table.name}.{column.name}"] = int(n)
    return found


def _snapshot(engine: Engine) -> dict[str, list[str]]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
            for t in meta.sorted_tables
        }


def _erase(engine: Engine, data_dir: Path | None = None, **kwargs: Any) -> Any:
    with db.session_factory(engine)() as s:
        return erase_customer(
            s, CID, key=KEY, actor="cli:test", role="admin", data_dir=data_dir, **kwargs
        )


def test_no_table_keeps_the_id_or_the_address(engine: Engine, tmp_path: Path) -> None:
    _populate(engine)
    folder = _data_dir(tmp_path)
    assert _hits(engine, CID)  # the search sees them before
    assert _hits(engine, MAIL)
    with db.session_factory(engine)() as s:
        ratings_before = sorted(r.answers["q_sat"] for r in s.scalars(select(Response)))

    result = _erase(engine, folder)

    assert _hits(engine, CID) == {}
    assert _hits(engine, MAIL) == {}
    assert _hits(engine, OTHER)  # the other customer is untouched
    assert _hits(engine, OTHER_MAIL)
    assert result.counts["responses"] == 2
    assert result.counts["survey_invitations"] == 2
    assert result.counts["response_drafts"] == 1
    assert result.counts["complaints"] == 2
    assert result.counts["complaint_events"] == 2
    assert result.counts["crm_customers"] == 1
    assert result.counts["data/activity.parquet"] == 2
    assert "data/no_people.parquet" not in result.counts
    with db.session_factory(engine)() as s:
        responses = list(s.scalars(select(Response)))
        # anonymised, not deleted: the ratings (and so the indices) are what they were
        assert sorted(r.answers["q_sat"] for r in responses) == ratings_before
        erased = [r for r in responses if r.customer_id is None]
        assert all("q_why" not in r.answers and "q_channel.other" not in r.answers for r in erased)
        assert all(r.user_agent_hash is None for r in erased)
        tokens = set(s.scalars(select(Invitation.token)))
        assert tokens & {"tok0", "tok1", "tok2"} == {"tok1"}
        assert s.scalar(select(func.count()).select_from(ResponseDraft)) == 0
        ds = s.scalars(select(Dataset).where(Dataset.name == "activity")).one()
        assert ds.n_rows == 2
        entries = admin.list_audit(s, action="customer.erase")
    kept = pd.read_parquet(folder / "activity.parquet")
    assert list(kept["customer_id"]) == [OTHER, OTHER]
    assert list(kept["amount"]) == [20.0, 40.0]
    assert sorted(p.name for p in folder.iterdir()) == ["activity.parquet", "no_people.parquet"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.target_id == erasure_reference(CID, KEY) == result.reference
    assert entry.actor == "cli:test"
    assert entry.details["counts"] == dict(result.counts)
    text = json.dumps(entry.details) + str(entry.target_id)
    assert CID not in text
    assert MAIL.lower() not in text.lower()


def test_dry_run_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    _populate(engine)
    folder = _data_dir(tmp_path)
    before = _snapshot(engine)
    parquet = (folder / "activity.parquet").read_bytes()
    with db.session_factory(engine)() as s:
        result = erase_customer(
            s, CID, key=None, actor="cli:test", role="admin", data_dir=folder, dry_run=True
        )
    assert result.dry_run
    assert result.audit_id is None
    assert result.counts["responses"] == 2
    assert result.counts["data/activity.parquet"] == 2
    assert _snapshot(engine) == before
    assert (folder / "activity.parquet").read_bytes() == parquet
    assert sorted(p.name for p in folder.iterdir()) == ["activity.parquet", "no_people.parquet"]


def test_a_failure_midway_leaves_everything_untouched(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(engine)
    folder = _data_dir(tmp_path)
    before = _snapshot(engine)
    parquet = (folder / "activity.parquet").read_bytes()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full while writing the audit entry")

    # every row is already changed and the Parquet file rewritten when this fails
    monkeypatch.setattr(erasure_mod, "record_customer_erasure", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        _erase(engine, folder)
    assert _snapshot(engine) == before
    assert (folder / "activity.parquet").read_bytes() == parquet
    assert sorted(p.name for p in folder.iterdir()) == ["activity.parquet", "no_people.parquet"]


def test_a_failed_file_swap_puts_everything_back(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(engine)
    folder = _data_dir(tmp_path)
    pd.DataFrame({"email": [MAIL, "x@example.com"]}).to_parquet(folder / "z_mail.parquet")
    before = _snapshot(engine)
    files = {p.name: hash(p.read_bytes()) for p in folder.iterdir()}
    real = erasure_mod.os.replace
    calls = {"n": 0}

    def flaky(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the second file's first move
            raise OSError("device busy")
        real(src, dst)

    monkeypatch.setattr(erasure_mod.os, "replace", flaky)
    with pytest.raises(OSError, match="device busy"):
        _erase(engine, folder)
    monkeypatch.setattr(erasure_mod.os, "replace", real)
    assert _snapshot(engine) == before
    assert {p.name: hash(p.read_bytes()) for p in folder.iterdir()} == files


def test_delete_mode_deletes_the_responses(engine: Engine) -> None:
    _populate(engine)
    result = _erase(engine, delete_responses=True)
    assert result.mode == "delete"
    assert _hits(engine, CID) == {}
    assert _hits(engine, MAIL) == {}
    with db.session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 1
        assert s.scalar(select(func.count()).select_from(Invitation)) == 1


def test_only_admins_may_erase(engine: Engine) -> None:
    _populate(engine)
    before = _snapshot(engine)
    for role in ("analyst", "viewer", "agent", None):
        with db.session_factory(engine)() as s, pytest.raises(ValidationError) as info:
            erase_customer(s, CID, key=KEY, actor="x", role=role)
        assert "customers.erase" in str(info.value)
    assert _snapshot(engine) == before


# --------------------------------------------------------------------------------- CLI

runner = CliRunner()
cli = typer.Typer(cls=AllegianceGroup, no_args_is_help=True, pretty_exceptions_enable=False)
cli.add_typer(customers_cli.customers_app, name="customers")


def test_cli_dry_run_then_erase(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(engine)
    before = _snapshot(engine)
    monkeypatch.delenv("ALLEGIANCE_SECRET_KEY", raising=False)
    dry = runner.invoke(
        cli, ["customers", "erase", CID, "--url", db_url, "--dry-run", "--format", "json"]
    )
    assert dry.exit_code == 0, dry.output
    counts = json.loads(dry.output)["result"]["counts"]
    assert counts["responses"] == 2
    assert counts["crm_customers"] == 1
    assert _snapshot(engine) == before
    # without the key the real erasure is refused, clearly, before anything changes
    refused = runner.invoke(cli, ["customers", "erase", CID, "--url", db_url, "--yes"])
    assert refused.exit_code == 2
    assert "ALLEGIANCE_SECRET_KEY" in refused.output
    monkeypatch.setenv("ALLEGIANCE_SECRET_KEY", "k" * 40)
    done = runner.invoke(cli, ["customers", "erase", CID, "--url", db_url, "--yes"])
    assert done.exit_code == 0, done.output
    assert "audit" in done.output
    assert _hits(engine, CID) == {}
    with db.session_factory(engine)() as s:
        entry = admin.list_audit(s, action="customer.erase")[0]
    assert entry.actor.startswith("cli:")
    assert entry.target_id == erasure_reference(CID, SecretKey(b"k" * 40))
