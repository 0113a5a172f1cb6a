"""`allegiance compare` and `allegiance loyalty-link`: help, JSON envelopes, files out, errors.

Expected numbers are R's published outputs for the data in tests/golden/compare (README.md there)
or worked out by hand in the comment beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import compare as compare_cli

# A tree of its own with the real error handling, so the shared app (and the generated
# docs/cli.md it is checked against) is not changed by this test module.
APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


compare_cli.register(APP)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "compare"
REF = json.loads((GOLDEN / "reference.json").read_text(encoding="utf-8"))


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", compare_cli.COMMAND_NAMES)
def test_help_has_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"allegiance {command}" in result.output.replace("\n", " ")


def test_segments_match_r_welch_t() -> None:
    ref = REF["welch_t_sleep"]
    env = envelope(
        run("compare", GOLDEN / "sleep.csv", "--by", "group", "--measures", "extra", "-f", "json")
    )
    assert env["command"] == "compare"
    assert env["inputs"]["by"] == "group"
    result = env["result"]["segments"]
    (pair,) = result["tables"]["pairwise"]
    assert pair["test_statistic"] == pytest.approx(-ref["t"], abs=5e-5)
    assert pair["df"] == pytest.approx(ref["df"], abs=5e-4)
    assert pair["p_value"] == pytest.approx(ref["p_value"], abs=5e-6)
    assert result["groups"] == ["1", "2"]


def test_waves_with_order_and_kinds(tmp_path: Path) -> None:
    # Q1: NPS answers 10, 9, 2, 3 → NPS 0; Q2: 10, 10, 9, 8 → 75; change 75.
    path = tmp_path / "waves.csv"
    pd.DataFrame(
        {
            "w": ["Q2"] * 4 + ["Q1"] * 4,
            "rec": [10, 10, 9, 8, 10, 9, 2, 3],
            "sat": [5, 4, 4, 5, 3, 2, 4, 3],
        }
    ).to_csv(path, index=False)
    env = envelope(
        run(
            "compare",
            path,
            "--wave",
            "w",
            "--order",
            "Q1,Q2",
            "--measures",
            "rec,sat",
            "--kind",
            "rec=nps",
            "--kind",
            "sat=csat",
            "-f",
            "json",
        )
    )
    changes = {
        (c["measure"], c["statistic"]): c for c in env["result"]["waves"]["tables"]["changes"]
    }
    assert changes[("rec", "nps")]["change"] == pytest.approx(75.0)
    # sat means 3 → 4.5
    assert changes[("sat", "mean")]["change"] == pytest.approx(1.5)
    assert env["result"]["waves"]["order"] == ["Q1", "Q2"]


def test_competitors_paired_and_out_folder(tmp_path: Path) -> None:
    ref = REF["paired_t_sleep"]
    out = tmp_path / "res"
    env = envelope(
        run(
            "compare",
            GOLDEN / "sleep.csv",
            "--brand",
            "group",
            "--ours",
            "1",
            "--respondent",
            "ID",
            "--items",
            "extra",
            "-f",
            "json",
            "--out",
            out,
        )
    )
    (row,) = env["result"]["competitors"]["tables"]["paired"]
    assert row["t"] == pytest.approx(ref["t"], abs=5e-5)
    assert row["p_value"] == pytest.approx(ref["p_value"], abs=5e-7)
    assert (out / "competitor_paired.csv").is_file()
    assert (out / "compare.json").is_file()


def test_segments_with_factor_patterns_table_output(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    pd.DataFrame(
        {
            "seg": ["a", "a", "a", "b", "b", "b"],
            "nps": [10, 9, 5, 3, 7, 8],
            "csat": [5, 5, 4, 2, 3, 3],
            "cs_x": [5, 4, 5, 1, 2, 2],
            "cs_y": [3, 3, 4, 3, 3, 4],
        }
    ).to_csv(path, index=False)
    result = run("compare", path, "--by", "seg", "--factors", "cs_*")
    assert result.exit_code == 0, result.output
    env = envelope(run("compare", path, "--by", "seg", "--factors", "cs_*", "-f", "json"))
    factors = env["result"]["segments"]["tables"]["factors"]
    assert [f["factor"] for f in factors] == ["cs_x", "cs_y"]
    assert env["inputs"]["measures"] == ["nps", "csat"]


def test_errors_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"g": ["a", "b"], "nps": [5, 12]}).to_csv(path, index=False)
    result = run("compare", path)
    assert result.exit_code == 2
    assert "--by" in result.output
    result = run("compare", path, "--by", "g")
    assert result.exit_code == 2
    assert "nps" in result.output
    assert "12" in result.output
    result = run("compare", path, "--by", "nope")
    assert result.exit_code == 2
    result = run("compare", path, "--brand", "g")
    assert result.exit_code == 2
    assert "--ours" in result.output
    result = run("compare", path, "--by", "g", "--kind", "nps")
    assert result.exit_code == 2


def test_loyalty_link_with_customers_and_employees(tmp_path: Path) -> None:
    # very satisfied (5): 4 answers, 3 with repurchase 3; satisfied (4): 4 answers, 1 → M = 3.
    survey = tmp_path / "survey.csv"
    pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(10)],
            "csat": [5, 5, 5, 5, 4, 4, 4, 4, 2, 1],
            "repurchase": [3, 3, 3, 2, 3, 2, 1, 2, 1, 1],
            "branch": ["a", "a", "b", "b", "a", "b", "c", "c", "c", "c"],
        }
    ).to_csv(survey, index=False)
    customers = tmp_path / "customers.csv"
    pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(10)], "churned": [0, 0, 0, 0, 1, 0, 1, 1, 1, 1]}
    ).to_csv(customers, index=False)
    staff = tmp_path / "staff.csv"
    pd.DataFrame(
        {"branch": ["a"] * 3 + ["b"] * 3 + ["c"] * 3, "esat": [5, 4, 5, 4, 4, 3, 2, 1, 2]}
    ).to_csv(staff, index=False)
    env = envelope(
        run(
            "loyalty-link",
            survey,
            "--satisfaction",
            "csat",
            "--loyalty",
            "repurchase",
            "--loyal",
            "repurchase=3",
            "--customers",
            customers,
            "--employees",
            staff,
            "--branch",
            "branch",
            "-f",
            "json",
        )
    )
    tables = env["result"]["curve"]["tables"]
    multiple = {m["measure"]: m for m in tables["multiple"]}
    assert multiple["repurchase"]["multiple"] == pytest.approx(3.0)
    # retention: level 5 keeps 4/4, level 4 keeps 1/4 → 4
    assert multiple["retained"]["multiple"] == pytest.approx(4.0)
    corr = env["result"]["employees"]["tables"]["correlation"]
    assert corr[0]["method"] == "pearson"
    assert env["inputs"]["loyalty"] == ["repurchase", "retained"]


def test_loyalty_link_errors(tmp_path: Path) -> None:
    survey = tmp_path / "s.csv"
    pd.DataFrame({"csat": [5, 4], "rep": [3, 1]}).to_csv(survey, index=False)
    result = run(
        "loyalty-link", survey, "--satisfaction", "csat", "--loyalty", "rep", "--loyal", "rep"
    )
    assert result.exit_code == 2
    result = run("loyalty-link", survey, "--satisfaction", "csat")
    assert result.exit_code == 2
    assert "--loyalty" in result.output
    result = run("loyalty-link", survey, "--satisfaction", "csat", "--loyalty", "rep")
    assert result.exit_code == 2
    assert "rep=3" in result.output
    env = envelope(
        run("loyalty-link", survey, "-s", "csat", "-l", "rep", "--loyal", "rep>=3", "-f", "json")
    )
    assert env["result"]["curve"]["rules"]["rep"] == {"threshold": 3}
