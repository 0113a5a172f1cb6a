"""``allegiance jobs list|show|submit|worker`` on a SQLite database (the store's behaviour on
PostgreSQL is covered by test_jobs.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from allegiance.cli import jobs as jobs_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.cli.app import app as full_app
from allegiance.jobs import JobContext, task
from allegiance.store import db

runner = CliRunner()
app = typer.Typer(cls=AllegianceGroup, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(jobs_cli.jobs_app, name="jobs")


@task("test.cli_sum")
def _cli_sum(ctx: JobContext, /, *, numbers: list[int], label: str = "") -> dict[str, Any]:
    ctx.progress(len(numbers), len(numbers))
    return {"sum": sum(numbers), "label": label}


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("ALLEGIANCE_REDIS_URL", raising=False)
    found = db.sqlite_url(tmp_path / "jobs.db")
    engine = db.make_engine(found)
    db.upgrade(engine)
    engine.dispose()
    return found


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["jobs", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_the_real_tree_has_the_jobs_group() -> None:
    assert "jobs" in {g.name for g in full_app.registered_groups}
    names = {c.name for c in jobs_cli.jobs_app.registered_commands}
    assert names == {"list", "show", "submit", "worker"}


def test_submit_list_and_show(url: str) -> None:
    out = run(
        "submit", "test.cli_sum", "-P", "numbers=[4, 5, 6]", "-P", "label=七月",
        "--url", url, "--format", "json",
    )  # fmt: skip
    job = json.loads(out)["result"]
    assert job["status"] == "finished"
    assert job["result"] == {"sum": 15, "label": "七月"}
    assert job["actor"].startswith("cli:")
    listed = json.loads(run("list", "--url", url, "--format", "json"))["result"]["jobs"]
    assert [j["job_id"] for j in listed] == [job["job_id"]]
    shown = json.loads(run("show", job["job_id"], "--url", url, "--format", "json"))["result"]
    assert (shown["done"], shown["total"], shown["percent"]) == (3, 3, 100.0)
    table = run("list", "--url", url)
    assert job["job_id"] in table
    assert "1 job(s)." in table
    assert run("list", "--url", url, "--status", "failed", "--format", "json").count("job_id") == 0


def test_clear_errors(url: str) -> None:
    assert "no-such-job" in run("show", "no-such-job", "--url", url, code=2)
    assert "report.build" in run("submit", "nope", "--url", url, code=2)
    assert "key=value" in run("submit", "test.cli_sum", "-P", "numbers", "--url", url, code=2)
    assert "ALLEGIANCE_REDIS_URL" in run("worker", "--burst", "--url", url, code=2)
