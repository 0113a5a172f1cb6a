"""`allegiance loyalty steps | explain | at-risk | score` on a small project folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import loyalty

APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


loyalty.register(APP)


def run(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(APP, [str(a) for a in args])


def project(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    months = [dt.date(2024, m, 1) for m in (1, 2, 3)]
    rows = []
    for cid, amounts, held in (("a", [100, 100, 100], [2, 2, 2]), ("b", [100, 40, 40], [2, 1, 1])):
        for m, x, hh in zip(months, amounts, held, strict=True):
            rows.append(
                {
                    "customer_id": cid,
                    "month": m,
                    "amount": float(x),
                    "products_held": hh,
                    "cancellations": 0,
                    "additions": 0,
                }
            )
    pd.DataFrame(rows).to_parquet(data / "activity.parquet")
    pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "nature": ["retail", "other_key"],
            "join_date": [dt.date(2022, 6, 1)] * 2,
        }
    ).to_parquet(data / "customers.parquet")
    return tmp_path


def test_help_for_every_command() -> None:
    for cmd in ("steps", "explain", "at-risk", "score"):
        res = run("loyalty", cmd, "--help")
        assert res.exit_code == 0
        assert "allegiance loyalty" in res.output.replace("\n", " ")


def test_steps_explain_at_risk_score(tmp_path: Path) -> None:
    root = project(tmp_path)
    res = run("loyalty", "steps", "--project", root, "--format", "json")
    assert res.exit_code == 0, res.output
    env = json.loads(res.stdout)
    assert env["result"]["months"] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    res = run("loyalty", "explain", "b", "--project", root, "--format", "json")
    hist = json.loads(res.stdout)["result"]["history"]
    assert [h["rule"] for h in hist] == ["services_lost_half"]
    res = run("loyalty", "at-risk", "--project", root, "--months", "2", "--format", "json")
    assert [c["customer_id"] for c in json.loads(res.stdout)["result"]["customers"]] == ["b"]
    res = run("loyalty", "score", "--project", root, "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["result"]["n_customers"] == 2
    res = run("loyalty", "explain", "nobody", "--project", root)
    assert res.exit_code == 2
    assert "nobody" in res.output
