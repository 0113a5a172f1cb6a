"""`allegiance clv ...`: help, JSON envelopes with the published figures, errors.

The expected figures are the published ones in tests/golden/clv (see the README there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from allegiance import datasets
from allegiance.cli import app as app_mod
from allegiance.cli import clv

APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


clv.register(APP)
GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "golden" / "clv" / "published.json").read_text()
)
SUMMARY = datasets.dataset_path("cdnow_summary_with_transactions")
DONATIONS = datasets.dataset_path("donations")


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args])


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", clv.COMMAND_NAMES)
def test_every_command_has_help_with_an_example(command: str) -> None:
    out = run("clv", command, "--help")
    assert out.exit_code == 0
    assert "allegiance clv" in out.output.replace("\n", " ")


def test_fit_bgnbd_json_has_parameters_se_and_log_likelihood() -> None:
    env = envelope(run("clv", "fit", SUMMARY, "--model", "bgnbd", "--format", "json"))
    assert env["command"] == "clv fit"
    assert env["inputs"]["kind"] == "summary"
    result = env["result"]
    gold = GOLDEN["bgnbd_cdnow"]
    for name, value in gold["params"].items():
        assert result["params"][name] == pytest.approx(value, abs=5e-4)
        assert result["se"][name] == pytest.approx(gold["se"][name], rel=2e-4)
    assert round(result["log_likelihood"], 1) == gold["log_likelihood"]
    assert [p["parameter"] for p in result["parameters"]] == ["r", "alpha", "a", "b"]


@pytest.mark.parametrize(
    ("model", "key"), [("paretonbd", "paretonbd_cdnow"), ("gammagamma", "gammagamma_cdnow")]
)
def test_fit_other_models_on_cdnow(model: str, key: str) -> None:
    result = envelope(run("clv", "fit", SUMMARY, "--model", model, "--format", "json"))["result"]
    for name, value in GOLDEN[key]["params"].items():
        assert result["params"][name] == pytest.approx(value, abs=0.015 * max(1, value))


def test_fit_bgbb_and_sbg(tmp_path: Path) -> None:
    result = envelope(run("clv", "fit", DONATIONS, "--model", "bgbb", "--format", "json"))
    assert (
        round(result["result"]["log_likelihood"], 1) == GOLDEN["bgbb_donations"]["log_likelihood"]
    )
    gold = GOLDEN["sbg_fader_hardie_2007"]["high_end"]
    path = tmp_path / "survivors.csv"
    pd.DataFrame({"year": range(8), "survivors": gold["survivors"]}).to_csv(path, index=False)
    result = envelope(run("clv", "fit", path, "--model", "sbg", "--format", "json"))["result"]
    assert result["params"]["alpha"] == pytest.approx(0.668, abs=5e-4)
    assert result["params"]["beta"] == pytest.approx(3.806, abs=5e-4)


def test_fit_from_a_transaction_log_summarises_on_the_engine(tmp_path: Path) -> None:
    log = datasets.load_cdnow_sample()
    path = tmp_path / "log.csv"
    log.assign(date=log["date"].dt.strftime("%Y-%m-%d")).loc[
        :, ["customer_index", "date", "amount"]
    ].to_csv(path, index=False)
    env = envelope(
        run(
            "clv",
            "fit",
            path,
            "--customer",
            "customer_index",
            "--amount",
            "amount",
            "--end",
            "1997-09-30",
            "--unit-days",
            "7",
            "--format",
            "json",
        )
    )
    assert env["inputs"]["kind"] == "transactions"
    assert env["inputs"]["customers"] == 2357
    assert env["result"]["params"]["r"] == pytest.approx(0.243, abs=2e-3)


def test_predict_with_saved_params_and_spend(tmp_path: Path) -> None:
    saved = tmp_path / "fit.json"
    saved.write_text(run("clv", "fit", SUMMARY, "--format", "json").stdout, encoding="utf-8")
    out = run(
        "clv",
        "predict",
        SUMMARY,
        "--params",
        saved,
        "--horizon",
        "39",
        "--spend",
        "--format",
        "csv",
    )
    assert out.exit_code == 0, out.output
    from io import StringIO

    frame = pd.read_csv(StringIO(out.stdout))
    assert {"p_alive", "expected_transactions", "expected_spend", "clv"} <= set(frame.columns)
    first = frame.iloc[0]  # x = 2, t_x = 30.43, T = 38.86: E[Y(39)] = 1.226 (Excel)
    assert first["expected_transactions"] == pytest.approx(1.226, abs=5e-4)
    assert frame["p_alive"].between(0, 1).all()


def test_lost_reproduces_the_spec_and_every_number_is_an_option() -> None:
    env = envelope(run("clv", "lost", "--format", "json"))
    assert env["result"]["total"] == 221_000
    env = envelope(run("clv", "lost", "--told", "20", "--format", "json"))
    assert env["result"]["total"] == 416_000
    env = envelope(
        run(
            "clv",
            "lost",
            "--spend",
            "10",
            "--per-year",
            "12",
            "--years",
            "2",
            "--told",
            "4",
            "--influenced",
            "1",
            "--retell",
            "0",
            "--defect",
            "0.5",
            "--format",
            "json",
        )
    )
    assert env["result"]["total"] == (1 + 4 * 0.5) * 10 * 12 * 2
    table = run("clv", "lost", "--told", "20")
    assert table.exit_code == 0
    assert "416,000" in table.output


def test_simple_and_survival(tmp_path: Path) -> None:
    env = envelope(
        run(
            "clv",
            "simple",
            "--average",
            "50",
            "--per-year",
            "52",
            "--years",
            "10",
            "--format",
            "json",
        )
    )
    assert env["result"]["clv"] == 26_000
    gold = GOLDEN["kaplan_meier_6mp"]
    path = tmp_path / "km.csv"
    pd.DataFrame({"weeks": gold["times"], "relapse": gold["events"]}).to_csv(path, index=False)
    env = envelope(
        run(
            "clv", "survival", path, "--duration", "weeks", "--event", "relapse", "--format", "json"
        )
    )
    assert env["result"]["summary"][0]["median"] == gold["median"]


def test_errors_are_clear() -> None:
    out = run("clv", "fit", SUMMARY, "--model", "nbd")
    assert out.exit_code == 2
    assert "unknown CLV model" in out.output
    out = run("clv", "lost", "--defect", "2")
    assert out.exit_code == 2
