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


def test_fit_from_the_raw_whitespace_cdnow_log_matches_the_published_fit(tmp_path: Path) -> None:
    # CDNOW_master.txt as distributed (runs of spaces between fields, CRLF), cut to the 1/10
    # cohort of Fader, Hardie & Lee (2005): the 39-week calibration fit from the raw log must
    # be the published one (r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4; CLVTools'
    # full-precision figures in tests/golden/clv/published.json).
    cohort = set(datasets.load_cdnow_sample()["customer_id"].astype(str).str.zfill(5))
    lines = datasets.dataset_path("cdnow_master").read_bytes().splitlines(keepends=True)
    kept = [lines[0], *(ln for ln in lines[1:] if ln.split()[0].decode() in cohort)]
    assert len(cohort) == 2357
    assert len(kept) == 6920
    log = tmp_path / "cdnow_1_10.txt"
    log.write_bytes(b"".join(kept))
    result = run("clv", "fit", log, "--end", "1997-09-30", "--unit-days", "7", "--format", "json")
    assert result.exit_code == 0, result.output
    fit = json.loads(result.stdout)["result"]
    gold = GOLDEN["bgnbd_cdnow"]
    for name, value in gold["params"].items():
        assert fit["params"][name] == pytest.approx(value, abs=5e-4)
    for name, value in gold["params_full"].items():
        assert fit["params"][name] == pytest.approx(value, rel=1e-4)
    assert fit["log_likelihood"] == pytest.approx(gold["log_likelihood_full"], abs=0.01)
    assert fit["n"] == 2357


def test_predict_continuous_rate_adds_dert_and_lifetime_clv() -> None:
    env = envelope(
        run(
            "clv",
            "predict",
            SUMMARY,
            "--model",
            "paretonbd",
            "--spend",
            "--continuous-rate",
            "0.00269",
            "--format",
            "json",
        )
    )
    rows = env["result"]["predictions"]
    assert env["inputs"]["continuous_rate"] == 0.00269
    first = rows[0]
    assert first["clv_continuous"] == pytest.approx(first["expected_spend"] * first["dert"])
    assert all(r["dert"] >= 0 for r in rows)
    bad = run("clv", "predict", SUMMARY, "--model", "bgnbd", "--continuous-rate", "0.01")
    assert bad.exit_code == 2
    assert "paretonbd" in bad.output


def test_sbg_by_cohort_fits_each_segment_of_a_long_table(tmp_path: Path) -> None:
    # Fader & Hardie (2007): 'regular' and 'high end' customers fitted apart; one long file,
    # rows shuffled (ordered back by the period column)
    gold = GOLDEN["sbg_fader_hardie_2007"]
    rows = [
        {"segment": seg, "period": i, "survivors": n}
        for seg in ("regular", "high_end")
        for i, n in enumerate(gold[seg]["survivors"])
    ]
    path = tmp_path / "cohorts.csv"
    pd.DataFrame(rows).sample(frac=1.0, random_state=3).to_csv(path, index=False)
    env = envelope(run("clv", "fit", path, "--model", "sbg", "--by", "segment", "--format", "json"))
    cohorts = {c["segment"]: c for c in env["result"]["cohorts"]}
    assert set(cohorts) == {"regular", "high_end"}
    for seg, row in cohorts.items():
        assert row["sbg_alpha"] == pytest.approx(gold[seg]["params"]["alpha"], abs=5e-4)
        assert row["sbg_beta"] == pytest.approx(gold[seg]["params"]["beta"], abs=5e-4)
        a, b = row["sbg_alpha"], row["sbg_beta"]
        assert row["churn_1"] == pytest.approx(a / (a + b))
        assert row["retention_next"] == pytest.approx((b + 7) / (a + b + 7))
    assert round(cohorts["high_end"]["log_likelihood"], 1) == gold["high_end"]["log_likelihood"]
    bad = run("clv", "fit", path, "--model", "bgnbd", "--by", "segment")
    assert bad.exit_code == 2
    assert "sbg" in bad.output
