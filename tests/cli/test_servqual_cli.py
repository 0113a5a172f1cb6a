"""`allegiance servqual FILE`: defaults, a joined second file, SERVPERF, custom items, errors.

The command is mounted on a test app of its own; the data is the hand-checked example of
tests/golden/servqual/hand_checked.yaml, renamed to the default column names.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import servqual as servqual_cli
from allegiance.cli.app import AllegianceGroup
from allegiance.errors import ValidationError
from allegiance.methods.servqual import DIMENSIONS, ITEM_DIMENSIONS

APP = typer.Typer(cls=AllegianceGroup, add_completion=False)


@APP.callback()
def _root() -> None:
    """Test root."""


servqual_cli.register(APP)
GOLDEN = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "golden" / "servqual" / "hand_checked.yaml").read_text(
        encoding="utf-8"
    )
)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """The hand-checked example as 3 items (reliability, reliability, empathy): survey + points."""
    data = GOLDEN["data"]
    survey = pd.DataFrame({"respondent_key": ["r1", "r2", "r3", "r4"]})
    for i in (1, 2, 3):
        survey[f"sq_e0{i}"] = data[f"e{i}"]
        survey[f"sq_p0{i}"] = data[f"p{i}"]
    extra = pd.DataFrame({"respondent_key": ["r4", "r3", "r2", "r1"]})  # another row order
    extra["sq_imp_reliability"] = data["pts_reliability"][::-1]
    extra["sq_imp_empathy"] = data["pts_empathy"][::-1]
    for i in (1, 2, 3):
        extra[f"sq_a0{i}"] = data[f"a{i}"][::-1]
        extra[f"sq_d0{i}"] = data[f"d{i}"][::-1]
    a, b = tmp_path / "survey.csv", tmp_path / "zot.csv"
    survey.to_csv(a, index=False)
    extra.to_csv(b, index=False)
    return a, b


def test_help_has_an_example() -> None:
    result = run("servqual", "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "allegiance servqual" in result.output


def test_join_points_and_zone_hand_checked(small: tuple[Path, Path]) -> None:
    survey, zot = small
    env = envelope(
        run(
            "servqual",
            survey,
            "--join",
            zot,
            "--items",
            3,
            "--dimensions",
            "reliability=1-2,empathy=3",
            "--format",
            "json",
        )
    )
    assert env["command"] == "servqual"
    assert env["inputs"]["importance"] == {
        "reliability": "sq_imp_reliability",
        "empathy": "sq_imp_empathy",
    }
    assert env["inputs"]["adequate"] == ["sq_a01", "sq_a02", "sq_a03"]
    exp = GOLDEN["expected"]
    assert env["result"]["score"] == pytest.approx(exp["overall"]["servqual"])
    assert env["result"]["weighted_score"] == pytest.approx(exp["overall"]["servqual_weighted"])
    dims = {r["dimension"]: r for r in env["result"]["tables"]["dimensions"]}
    assert dims["reliability"]["gap_pe"] == pytest.approx(-0.75)
    zone = {r["dimension"]: r for r in env["result"]["tables"]["zone"]}
    assert zone["reliability"]["msa"] == pytest.approx(0.375)
    assert zone["empathy"]["mss"] == pytest.approx(-0.5)


def test_servperf_and_explicit_prefixes(small: tuple[Path, Path], tmp_path: Path) -> None:
    survey, _ = small
    frame = pd.read_csv(survey).rename(columns=lambda c: c.replace("sq_p0", "perc"))
    path = tmp_path / "renamed.csv"
    frame.to_csv(path, index=False)
    env = envelope(
        run(
            "servqual",
            path,
            "--servperf",
            "--perception-prefix",
            "perc",
            "--items",
            3,
            "--dimensions",
            "reliability=1+2;empathy=3",
            "-f",
            "json",
        )
    )
    assert env["result"]["method"] == "servperf"
    assert env["result"]["score"] == pytest.approx(GOLDEN["expected"]["servperf"]["score"])
    assert env["inputs"]["perception"] == ["perc1", "perc2", "perc3"]


def test_default_22_items_and_table_output(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {f"sq_{s}{i:02d}": rng.integers(1, 8, 12) for s in ("e", "p") for i in range(1, 23)}
    )
    path = tmp_path / "sq.csv"
    frame.to_csv(path, index=False)
    env = envelope(run("servqual", path, "-f", "json"))
    dims = [r["dimension"] for r in env["result"]["tables"]["dimensions"]]
    assert dims == list(DIMENSIONS)
    rel = [f"{i:02d}" for i, d in enumerate(ITEM_DIMENSIONS, start=1) if d == "reliability"]
    by_hand = (
        (frame[[f"sq_p{i}" for i in rel]].to_numpy() - frame[[f"sq_e{i}" for i in rel]].to_numpy())
        .mean(axis=1)
        .mean()
    )
    got = {r["dimension"]: r["gap_pe"] for r in env["result"]["tables"]["dimensions"]}
    assert got["reliability"] == pytest.approx(by_hand)
    table = run("servqual", path)
    assert table.exit_code == 0, table.output
    assert "Dimensions" in table.output


def test_bad_answer_names_file_and_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({f"sq_{s}{i:02d}": [4, 5, 6] for s in ("e", "p") for i in range(1, 23)})
    frame.loc[1, "sq_p07"] = 9
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = run("servqual", path)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "row 3" in text
    assert "sq_p07" in text
    assert "9" in text


def test_partial_zone_columns_warn(tmp_path: Path) -> None:
    frame = pd.DataFrame({f"sq_{s}{i:02d}": [4, 5, 6] for s in ("e", "p") for i in range(1, 23)})
    frame["sq_a01"] = [3, 3, 3]
    path = tmp_path / "partial.csv"
    frame.to_csv(path, index=False)
    env = envelope(run("servqual", path, "-f", "json"))
    assert [w["code"] for w in env["warnings"]] == ["servqual.missing_columns"]
    assert "zone" not in env["result"]["tables"]


def test_option_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"sq_e01": [1], "sq_p01": [2]})
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    assert run("servqual", path, "--items", 1).exit_code == 2  # 1 item needs --dimensions
    assert run("servqual", path, "--scale", "7,1").exit_code == 2
    assert run("servqual", path, "--items", 2, "--dimensions", "a=1").exit_code == 2


def test_parse_dimensions() -> None:
    assert servqual_cli.parse_dimensions("a=1-2,b=3", n=3) == ["a", "a", "b"]
    assert servqual_cli.parse_dimensions("a=1+3; b=2", n=3) == ["a", "b", "a"]
    for bad in ("a=1-2", "a=1-3,b=3", "1-3", "a=x", "=1-3", "a=0-2,b=3"):
        with pytest.raises(ValidationError):
            servqual_cli.parse_dimensions(bad, n=3)
