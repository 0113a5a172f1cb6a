"""Importing a complaint register: every value checked, all or nothing, errors naming file, row,
column, value and what was expected (CLI and API)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allegiance.cli.app import app
from allegiance.complaints.importer import (
    ComplaintImportError,
    import_complaints,
    load_mapping,
    prepare_complaints,
)
from allegiance.errors import ColumnNotFoundError, ConfigError
from allegiance.project import init_project
from allegiance.store import repository as repo
from allegiance.store.db import make_engine

runner = CliRunner()

GOOD = """complaint_key,customer_id,received_at,channel,product,cause,class,severity,status,first_response_at,resolved_at,compensation,satisfaction_after,escalated_to
K1,C001,2024-03-01 09:00,hotline,mobile,服务态度,2,high,resolved,2024-03-01 10:00,2024-03-02 09:00,50,4,none
K2,C002,2024-03-01 11:30,app,broadband,Poor product quality,,critical,open,,,,,
K3,00123,2024-03-02 08:00,store,mobile,price,1,低,closed,2024-03-02 08:30,2024-03-03 08:00,0,2,消费者协会
"""


def _write(tmp_path: Path, text: str, name: str = "complaints.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return init_project(tmp_path / "proj").root


def _stored(project: Path) -> pd.DataFrame:
    from allegiance.project import open_project

    engine = make_engine(open_project(project).database_url)
    try:
        return repo.complaints_frame(engine)
    finally:
        engine.dispose()


def test_a_good_file_is_stored_with_every_field(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, GOOD)
    result = runner.invoke(
        app, ["complaints", "import", str(path), "--project", str(project), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    env = json.loads(result.stdout)
    assert env["result"]["n_inserted"] == 3
    assert env["result"]["by_class"] == {"1": 2, "2": 1, "3": 0, "4": 0}
    frame = _stored(project).set_index("complaint_key")
    assert frame.loc["K1", "cause_code"] == "service_attitude"
    assert frame.loc["K2", "cause_code"] == "poor_quality"
    assert frame.loc["K2", "cause_class"] == 1  # from the taxonomy
    assert frame.loc["K3", "customer_id"] == "00123"  # leading zeros kept
    assert frame.loc["K3", "severity"] == "low"  # Chinese name → code
    assert frame.loc["K3", "escalated_to"] == "consumer_association"
    assert frame.loc["K1", "compensation"] == 50.0
    assert frame.loc["K1", "satisfaction_after"] == 4.0
    assert frame.loc["K1", "first_response_at"] == pd.Timestamp("2024-03-01 10:00", tz="UTC")
    assert frame.loc["K2", "status"] == "open"
    # importing again changes nothing; --update replaces
    again = runner.invoke(
        app, ["complaints", "import", str(path), "--project", str(project), "-f", "json"]
    )
    assert json.loads(again.stdout)["result"]["n_existing"] == 3


def test_a_bad_row_writes_nothing_and_names_every_problem(tmp_path: Path, project: Path) -> None:
    bad = GOOD.replace("2024-03-02 08:00,store", "2024-13-45,store").replace(
        "K2,C002,2024-03-01 11:30,app,broadband,Poor product quality",
        "K2,C002,2024-03-01 11:30,app,broadband,weather",
    )
    path = _write(tmp_path, bad)
    result = runner.invoke(app, ["complaints", "import", str(path), "--project", str(project)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(path.name) in text
    assert "2 bad value(s); nothing was imported" in text
    assert 'Row 3, column "cause": found "weather"' in text  # K2 is on line 3 of the file
    assert 'Row 4, column "received_at": found "2024-13-45", expected a date and time' in text
    assert _stored(project).empty


def test_problems_in_chinese(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, GOOD.replace(",50,4,none", ",-5,9,friends"))
    result = runner.invoke(
        app, ["complaints", "import", str(path), "--project", str(project), "--lang", "zh"]
    )
    assert result.exit_code == 2
    text = result.output
    assert "未导入任何数据" in text
    assert "第 2 行“compensation”列：实际为“-5”，应为不小于 0 的金额" in text
    assert "第 2 行“satisfaction_after”列" in text
    assert "第 2 行“escalated_to”列" in text
    assert _stored(project).empty


@pytest.mark.parametrize(
    ("replace", "column", "key"),
    [
        (("K3,00123", "K1,00123"), "complaint_key", "complaints.import.expected.unique_key"),
        ((",2,high,", ",1,high,"), "class", "complaints.import.expected.class_mismatch"),
        (
            ("2024-03-01 10:00,2024-03-02 09:00", "2024-02-01 10:00,2024-03-02 09:00"),
            "first_response_at",
            "complaints.import.expected.after_received",
        ),
        ((",high,resolved,", ",huge,resolved,"), "severity", "complaints.import.expected.choice"),
        ((",high,resolved,", ",high,done,"), "status", "complaints.import.expected.choice"),
        (
            ("K2,C002,2024-03-01 11:30,app", "K2,C002,2024-03-01 11:30,"),
            "channel",
            "complaints.import.expected.required",
        ),
    ],
)
def test_each_rule(tmp_path: Path, replace: tuple[str, str], column: str, key: str) -> None:
    frame = pd.read_csv(_write(tmp_path, GOOD.replace(*replace)), dtype=str)
    with pytest.raises(ComplaintImportError) as info:
        prepare_complaints(frame, file="x.csv")
    problems = info.value.problems
    assert [(p.column, p.expected.key) for p in problems] == [(column, key)]
    assert info.value.params["file"] == "x.csv"


def test_class_mismatch_can_be_kept_with_a_warning(tmp_path: Path) -> None:
    frame = pd.read_csv(_write(tmp_path, GOOD.replace(",2,high,", ",1,high,")), dtype=str)
    prepared = prepare_complaints(frame, file="x.csv", on_class_mismatch="warn")
    assert prepared.frame.loc[0, "cause_class"] == 1
    assert "complaints.import.class_mismatch" in [w.key for w in prepared.warnings]


def test_chinese_headers_and_a_mapping(tmp_path: Path, project: Path) -> None:
    text = "工单号,受理时间,投诉渠道,原因,内容\nA-1,2024年3月1日 9时30分,热线,订货出错,订错了套餐\nA-2,2024/03/02 10:00,门店,order error,\n"
    path = _write(tmp_path, text)
    result = runner.invoke(
        app,
        [
            "complaints",
            "import",
            str(path),
            "--project",
            str(project),
            "--mapping",
            "complaint_key=工单号",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    env = json.loads(result.stdout)
    assert env["result"]["columns"]["received_at"] == "受理时间"
    frame = _stored(project)
    assert frame["cause_code"].tolist() == ["order_error", "order_error"]
    assert frame["received_at"].iloc[0] == pd.Timestamp("2024-03-01 09:30", tz="UTC")
    assert frame["text"].tolist() == ["订错了套餐", ""]


def test_missing_required_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"complaint_key": ["K1"], "cause": ["price"]})
    with pytest.raises(ColumnNotFoundError) as info:
        prepare_complaints(frame, file="x.csv")
    assert "received_at" in info.value.render("en")


def test_mapping_spec() -> None:
    assert load_mapping("complaint_key=工单号，cause_code=原因") == {
        "complaint_key": "工单号",
        "cause": "原因",
    }
    with pytest.raises(ConfigError):
        load_mapping("colour=颜色")


def test_timezone_for_naive_times(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    result = import_complaints(path, None, dry_run=True, timezone="Asia/Shanghai")
    assert result.n_rows == 3
    assert result.n_inserted == 0


def test_xlsx_and_dry_run(tmp_path: Path, project: Path) -> None:
    frame = pd.read_csv(_write(tmp_path, GOOD), dtype=str)
    frame["received_at"] = pd.to_datetime(frame["received_at"])  # real Excel date cells
    xlsx = tmp_path / "complaints.xlsx"
    frame.to_excel(xlsx, index=False)
    result = runner.invoke(
        app,
        ["complaints", "import", str(xlsx), "--project", str(project), "--dry-run", "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["dry_run"] is True
    assert _stored(project).empty
    result = runner.invoke(
        app, ["complaints", "import", str(xlsx), "--project", str(project), "-f", "json"]
    )
    assert json.loads(result.stdout)["result"]["n_inserted"] == 3
    assert _stored(project)["received_at"].iloc[0] == pd.Timestamp("2024-03-01 09:00", tz="UTC")


def test_update_replaces_stored_complaints(tmp_path: Path, project: Path) -> None:
    path = _write(tmp_path, GOOD)
    runner.invoke(app, ["complaints", "import", str(path), "--project", str(project)])
    changed = _write(
        tmp_path,
        GOOD.replace(
            "K2,C002,2024-03-01 11:30,app,broadband,Poor product quality,,critical,open,,,,,",
            "K2,C002,2024-03-01 11:30,app,broadband,Poor product quality,,critical,resolved,2024-03-01 12:00,2024-03-01 20:00,100,5,none",
        ),
        "v2.csv",
    )
    result = runner.invoke(
        app,
        ["complaints", "import", str(changed), "--project", str(project), "--update", "-f", "json"],
    )
    assert json.loads(result.stdout)["result"]["n_existing"] == 3
    k2 = _stored(project).set_index("complaint_key").loc["K2"]
    assert k2["status"] == "resolved"
    assert k2["compensation"] == 100.0
