"""`allegiance drivers` and `allegiance touchpoints`: help, JSON envelope, CSV, errors.

Numbers checked here are the published ones of tests/golden/drivers/README.md (rwa and
relaimpo on mtcars) or worked out by hand in the comments.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli import app as app_mod
from allegiance.cli import drivers

# A tree of its own with the real error handling, so the shared app (and the generated
# docs/cli.md it is checked against) is not changed by this test module.
APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


drivers.register(APP)
MTCARS = Path(__file__).resolve().parents[1] / "golden" / "drivers" / "mtcars.csv"


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", ["drivers", "touchpoints"])
def test_help_has_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or "示例" in result.output
    assert f"allegiance {command}" in result.output.replace("\n", " ")


def test_help_in_chinese() -> None:
    # Help texts are built when the CLI starts (in its language); check the catalogue itself.
    from allegiance.i18n import t

    for key in ("cli.drivers.help", "cli.touchpoints.help"):
        text = t(key, "zh")
        assert "示例" in text
        assert "allegiance " in text
    assert "短板" in t("cli.drivers.help", "zh")
    assert "让渡价值" in t("cli.touchpoints.help", "zh")


def test_drivers_json_relative_weights_match_rwa() -> None:
    # rwa README: raw weights cyl 0.2284797, disp 0.2221469, hp 0.2321744, gear 0.0963886
    env = envelope(
        run(
            "drivers",
            MTCARS,
            "--target",
            "mpg",
            "--items",
            "cyl,disp,hp,gear",
            "--method",
            "relative-weights",
            "--format",
            "json",
        )
    )
    assert env["command"] == "drivers"
    assert env["inputs"]["items"] == ["cyl", "disp", "hp", "gear"]
    result = env["result"]
    assert result["method"] == "relative_weights"
    assert result["r2"] == pytest.approx(0.7791896, abs=5e-8)
    rows = {r["item"]: r for r in result["tables"]["ipa"]}
    assert rows["hp"]["importance"] == pytest.approx(0.2321744, abs=5e-8)
    assert rows["gear"]["pct_r2"] == pytest.approx(0.1237037, abs=5e-8)
    for row in rows.values():
        assert row["quadrant"] in {
            "concentrate_here",
            "keep_up",
            "low_priority",
            "possible_overkill",
        }
        assert "performance" in row
    assert any(w["code"] == "drivers.scale_inferred" for w in env["warnings"])


def test_drivers_shapley_default_and_csv() -> None:
    # relaimpo lmg on mtcars: am 0.1774892, vs 0.2027032, cyl 0.3817849
    result = run("drivers", MTCARS, "-t", "mpg", "-i", "am,vs,cyl", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    np.testing.assert_allclose(frame["importance"], [0.1774892, 0.2027032, 0.3817849], atol=5e-8)
    assert {"quadrant", "performance", "fix_rank"} <= set(frame.columns)


def test_drivers_out_writes_every_table(tmp_path: Path) -> None:
    out = tmp_path / "ipa"
    result = run(
        "drivers", MTCARS, "-t", "mpg", "-i", "am,vs,cyl", "--split", "medians", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"ipa.csv", "weakest_links.csv", "drivers.json"}


def test_drivers_errors_name_the_problem() -> None:
    result = run("drivers", MTCARS, "-t", "mpg", "-i", "cyl,Disp")
    assert result.exit_code == 2
    assert "disp" in result.output
    result = run("drivers", MTCARS, "-t", "mpg", "-i", "am,vs", "--method", "magic")
    assert result.exit_code == 2
    assert "magic" in result.output
    result = run("drivers", MTCARS, "-i", "am,vs")
    assert result.exit_code == 2
    assert "--target" in result.output


def _journey_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    n = 400
    lat = rng.standard_normal((n, 3))
    frame = pd.DataFrame(
        np.clip(np.round(3 + lat + [0.5, -0.5, 0.0]), 1, 5).astype(int),
        columns=["tp_store", "tp_billing", "tp_network"],
    )
    frame["overall"] = np.clip(np.round(6 + lat @ [0.3, 1.0, 0.6] + rng.standard_normal(n)), 1, 10)
    frame["segment"] = np.where(rng.random(n) < 0.5, "消费者", "企业")
    frame["v1"] = rng.integers(5, 11, n)
    frame["v2"] = rng.integers(4, 11, n)
    frame["c1"] = rng.integers(0, 6, n)
    path = tmp_path / "journey.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def test_touchpoints_json_with_delivered_value(tmp_path: Path) -> None:
    path = _journey_file(tmp_path)
    frame = pd.read_csv(path, encoding="utf-8-sig")
    env = envelope(
        run(
            "touchpoints",
            path,
            "--overall",
            "overall",
            "--touchpoints",
            "tp_store,tp_billing,tp_network",
            "--by",
            "segment",
            "--value",
            "v1,v2",
            "--cost",
            "c1",
            "--scale",
            "1,5",
            "--format",
            "json",
        )
    )
    result = env["result"]
    tp = result["touchpoints"]
    assert tp["weakest"] == "tp_billing"  # strongest driver and lowest scores
    overall = {r["touchpoint"]: r for r in tp["tables"]["touchpoints_overall"]}
    assert overall["tp_store"]["mean"] == pytest.approx(frame["tp_store"].mean())
    dv = result["delivered_value"]
    total = dv["tables"]["delivered_value_overall"][0]
    expected = ((frame["v1"] + frame["v2"]) / 2 - frame["c1"]).mean()
    assert total["delivered_value"] == pytest.approx(expected)
    segments = {r["segment"] for r in dv["tables"]["delivered_value"]}
    assert segments == {"消费者", "企业"}


def test_touchpoints_needs_value_and_cost_together(tmp_path: Path) -> None:
    path = _journey_file(tmp_path)
    result = run(
        "touchpoints", path, "--overall", "overall", "--touchpoints", "tp_store", "--value", "v1"
    )
    assert result.exit_code != 0
    assert "--cost" in result.output
