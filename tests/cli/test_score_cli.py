"""`allegiance score ...`: help texts, JSON/CSV output, Chinese files, bad values.

Expected numbers are worked out by hand in the comments (same answers as
tests/methods/test_scales.py): never copied from our own output.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import score

if not any(g.name == "score" for g in app_mod.app.registered_groups):
    score.register(app_mod.app)

APP = app_mod.app
DATA = Path(__file__).resolve().parents[1] / "data" / "scales"
BASIC = DATA / "nps_basic.csv"  # id, region, channel, q_recommend, weight
GBK = DATA / "nps_gbk.csv"  # GBK-encoded: 地区, 推荐意愿, 满意度
Z95 = 1.959963984540054


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", score.COMMAND_NAMES)
def test_every_score_command_has_help_with_an_example(command: str) -> None:
    result = run("score", command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or "示例" in result.output
    assert f"allegiance score {command}" in result.output.replace("\n", " ")


def test_score_group_help_lists_the_commands() -> None:
    result = run("score", "--help")
    assert result.exit_code == 0
    for command in ("nps", "csat", "ces", "likert", "five-level"):
        assert command in result.output


def test_nps_json_envelope_hand_checked() -> None:
    # 10, 9, 9, 10, 9, 8, 7, 8, 3, 6: 5 promoters, 3 passives, 2 detractors → NPS 30,
    # se = 100·sqrt((0.5 + 0.2 − 0.09)/10) = 24.698178, interval 30 ± 1.959964·se.
    env = envelope(run("score", "nps", BASIC, "--column", "q_recommend", "--format", "json"))
    assert set(env) == {"command", "version", "inputs", "result", "warnings"}
    assert env["command"] == "score nps"
    assert env["inputs"]["column"] == "q_recommend"
    assert env["inputs"]["rows"] == 10
    (r,) = env["result"]["tables"]["nps"]
    assert (r["n"], r["promoters"], r["passives"], r["detractors"]) == (10, 5, 3, 2)
    assert r["nps"] == pytest.approx(30.0)
    assert r["se"] == pytest.approx(100 * math.sqrt(0.061))
    assert r["ci_low"] == pytest.approx(30 - Z95 * 100 * math.sqrt(0.061))
    assert r["ci_high"] == pytest.approx(30 + Z95 * 100 * math.sqrt(0.061))
    assert env["warnings"] == []


def test_nps_by_and_weight() -> None:
    # north: 10, 9, 9, 8, 7, 6 → NPS 100·(3 − 1)/6 = 33.33; south: 10, 9, 8, 3 → 25.
    env = envelope(
        run("score", "nps", BASIC, "--column", "q_recommend", "--by", "region", "-f", "json")
    )
    rows = {r["region"]: r for r in env["result"]["tables"]["nps"]}
    assert rows["north"]["nps"] == pytest.approx(100 / 3)
    assert rows["south"]["nps"] == pytest.approx(25.0)
    assert env["result"]["tables"]["overall"][0]["nps"] == pytest.approx(30.0)
    # Two grouping columns: north/web 10, 9, 7 → 66.67.
    env = envelope(
        run(
            "score", "nps", BASIC, "-c", "q_recommend", "--by", "region", "--by", "channel",
            "-f", "json",
        )
    )  # fmt: skip
    rows = {(r["region"], r["channel"]): r for r in env["result"]["tables"]["nps"]}
    assert rows[("north", "web")]["nps"] == pytest.approx(200 / 3)
    # Weights 1,2,1,1,1,1,2,1,1,1: Kish n_eff = 12²/16 = 9; weighted shares 1/2, 1/3, 1/6.
    env = envelope(
        run("score", "nps", BASIC, "-c", "q_recommend", "--weight", "weight", "-f", "json")
    )
    (r,) = env["result"]["tables"]["nps"]
    assert r["n_eff"] == pytest.approx(9.0)
    assert r["nps"] == pytest.approx(100 / 3)
    assert r["se"] == pytest.approx(100 * math.sqrt(5 / 81))


@pytest.mark.parametrize("encoding", [None, "gb18030"])
def test_gbk_file_with_chinese_column_names(encoding: str | None) -> None:
    # Same answers as nps_basic.csv, regions 华北 (= north) and 华南 (= south).
    extra = [] if encoding is None else ["--encoding", encoding]
    env = envelope(
        run("score", "nps", GBK, "--column", "推荐意愿", "--by", "地区", "-f", "json", *extra)
    )
    rows = {r["地区"]: r for r in env["result"]["tables"]["nps"]}
    assert rows["华北"]["nps"] == pytest.approx(100 / 3)
    assert rows["华南"]["nps"] == pytest.approx(25.0)
    assert env["inputs"]["encoding"] in {"gb18030", "gbk"}


def test_five_level_with_chinese_labels_from_a_gbk_file() -> None:
    # 满意度: 很满意 2, 满意 3, 一般 3, 不满意 1, 很不满意 1 → DC = 34/50 = 0.68,
    # satisfaction rate 5/10, very satisfied 2/10.
    env = envelope(run("score", "five-level", GBK, "--column", "满意度", "-f", "json"))
    (s,) = env["result"]["tables"]["summary"]
    assert s["dc"] == pytest.approx(0.68)
    assert s["satisfaction_rate"] == pytest.approx(0.5)
    assert s["very_satisfied"] == pytest.approx(0.2)
    counts = [d["count"] for d in env["result"]["tables"]["distribution"]]
    assert counts == [2, 3, 3, 1, 1]
    assert env["result"]["level_scores"] == [5, 4, 3, 2, 1]
    env = envelope(
        run(
            "score", "five-level", DATA / "five_level.csv", "-c", "overall",
            "--level-scores", "100,80,60,40,20", "--by", "store", "-f", "json",
        )
    )  # fmt: skip
    # Store A: 5, 4, 4, 3, 1 → mean (100 + 80 + 80 + 60 + 20)/5 = 68, DC 0.68.
    # Store B: 5, 5, 2, 4 (one missing) → mean (100 + 100 + 40 + 80)/4 = 80, DC 0.8.
    rows = {r["store"]: r for r in env["result"]["tables"]["summary"]}
    assert rows["A"]["mean"] == pytest.approx(68.0)
    assert rows["B"]["dc"] == pytest.approx(0.8)
    assert rows["B"]["n_missing"] == 1
    assert env["result"]["level_scores"] == [100, 80, 60, 40, 20]


def test_csv_output_parses() -> None:
    result = run("score", "nps", BASIC, "--column", "q_recommend", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame.loc[0, "nps"] == pytest.approx(30.0)
    assert int(frame.loc[0, "promoters"]) == 5


def test_out_writes_csv_files(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = run("score", "nps", BASIC, "-c", "q_recommend", "--by", "region", "--out", out)
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(out / "nps.csv", encoding="utf-8-sig")
    assert list(groups["region"]) == ["north", "south"]
    assert groups["nps"].tolist() == pytest.approx([100 / 3, 25.0])
    overall = pd.read_csv(out / "overall.csv", encoding="utf-8-sig")
    assert overall.loc[0, "nps"] == pytest.approx(30.0)
    saved = json.loads((out / "score_nps.json").read_text(encoding="utf-8"))
    assert saved["command"] == "score nps"


def test_csat_ces_likert_commands() -> None:
    # 1..5 column "overall" of five_level.csv: 5,4,4,3,1,5,5,2,4 (one missing):
    # top box 3/9, top-2 box 6/9, mean 33/9.
    env = envelope(run("score", "csat", DATA / "five_level.csv", "-c", "overall", "-f", "json"))
    (r,) = env["result"]["tables"]["csat"]
    assert r["top_box"] == pytest.approx(3 / 9)
    assert r["top2_box"] == pytest.approx(6 / 9)
    assert r["mean"] == pytest.approx(33 / 9)
    # As the original 5-point CES (1-2 = low effort): 1 and 2 are easy → 2/9.
    env = envelope(
        run("score", "ces", DATA / "five_level.csv", "-c", "overall", "--points", "5", "-f", "json")
    )
    assert env["result"]["tables"]["ces"][0]["easy"] == pytest.approx(2 / 9)
    env = envelope(
        run(
            "score",
            "likert",
            DATA / "five_level.csv",
            "-c",
            "overall",
            "--points",
            "5",
            "-f",
            "json",
        )
    )
    shares = [d["share"] for d in env["result"]["tables"]["distribution"]]
    assert shares == pytest.approx([1 / 9, 1 / 9, 1 / 9, 3 / 9, 3 / 9])


def test_rates_and_loyalty_index_commands(tmp_path: Path) -> None:
    # q_recommend ≥ 9 for 5 of 10 answers.
    env = envelope(
        run(
            "score", "satisfaction-rate", BASIC, "-c", "q_recommend", "--threshold", "9",
            "-f", "json",
        )
    )  # fmt: skip
    assert env["result"]["tables"]["satisfaction_rate"][0]["rate"] == pytest.approx(0.5)
    file = tmp_path / "loyal.csv"
    file.write_text(
        "flag,s,r,c\n是,5,3,3\n否,3,1,2\n是,很满意,70%以上,很可能推荐\n", encoding="utf-8"
    )
    env = envelope(run("score", "loyalty-rate", file, "--loyal", "flag", "-f", "json"))
    assert env["result"]["tables"]["loyalty_rate"][0]["rate"] == pytest.approx(2 / 3)
    # Index per respondent: 1, (0.5 + 0 + 0.5)/3 = 1/3, 1 → mean 7/9.
    env = envelope(
        run(
            "score", "loyalty-index", file, "--satisfaction", "s", "--repurchase", "r",
            "--recommend", "c", "-f", "json",
        )
    )  # fmt: skip
    assert env["result"]["tables"]["loyalty_index"][0]["index"] == pytest.approx(7 / 9)


@pytest.mark.parametrize(
    ("file", "row", "value"),
    [("nps_bad_11.csv", 4, "11"), ("nps_bad_text.csv", 3, "abc")],
)
def test_bad_value_exits_2_naming_file_row_and_column(file: str, row: int, value: str) -> None:
    result = run("score", "nps", DATA / file, "--column", "q_recommend")
    assert result.exit_code == 2
    text = result.output
    assert file in text
    assert f"row {row}" in text
    assert '"q_recommend"' in text
    assert f'"{value}"' in text
    assert "Traceback" not in text
    result = run("score", "nps", DATA / file, "--column", "q_recommend", "--lang", "zh")
    assert result.exit_code == 2
    assert f"第 {row} 行" in result.output
    assert "q_recommend" in result.output
    assert "错误" in result.output
    assert "Traceback" not in result.output


def test_other_user_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    missing_column = run("score", "nps", BASIC, "--column", "q_Recommend")
    assert missing_column.exit_code == 2
    assert "q_recommend" in missing_column.output  # the suggestion
    bad_points = run("score", "csat", BASIC, "-c", "q_recommend", "--points", "2")
    assert bad_points.exit_code == 2
    bad_scores = run("score", "five-level", BASIC, "-c", "q_recommend", "--level-scores", "5,4")
    assert bad_scores.exit_code == 2
    no_file = run("score", "nps", tmp_path / "nope.csv", "-c", "q")
    assert no_file.exit_code == 2
    for result in (missing_column, bad_points, bad_scores, no_file):
        assert "Traceback" not in result.output


def test_table_output_and_project_relative_file(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    shutil.copy(BASIC, project / "data" / "answers.csv")
    result = run("score", "nps", "answers.csv", "-c", "q_recommend", "--project", project)
    assert result.exit_code == 0, result.output
    assert "NPS" in result.output
    assert "30" in result.output
