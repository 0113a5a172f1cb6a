"""Diagnostics commands on the demo tables as generated (no hand join), their options, and
their table output in Chinese.

- `drivers --pls`: the importance-performance map of a PLS model, checked against figures
  recomputed here from each respondent's 0-100 construct scores;
- `drivers`: column patterns, --split midpoint/midpoints, the sampled-Shapley options;
- `compare --customers`, `touchpoints --customers`, `loyalty-link --branches`: the joins;
- `compare competitor_ratings --brand competitor --ours huaxun`: the demo table alone;
- every command with `--lang zh`: no machine code word in the table output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

import allegiance.generate.journey
import allegiance.generate.servqual_extra
import allegiance.generate.waves  # noqa: F401
from allegiance.cli import app as app_mod
from allegiance.cli import comments, compare, drivers, servqual
from allegiance.datasets import load_mobi
from allegiance.generate import DemoConfig, generate

# A tree of its own with the real error handling, so the shared app (and the generated
# docs/cli.md it is checked against) is not changed by this test module.
APP = typer.Typer(cls=app_mod.AllegianceGroup, pretty_exceptions_enable=False)


@APP.callback()
def _root() -> None:
    """allegiance (test tree)."""


for _module in (drivers, compare, comments, servqual):
    _module.register(APP)


def run(*args: object) -> Result:
    return CliRunner().invoke(APP, [str(a) for a in args], env={"COLUMNS": "250"})


def envelope(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company's tables written as Parquet files, as `allegiance demo` writes them."""
    data = generate(DemoConfig(customers=3000, months=3, seed=11))
    folder = tmp_path_factory.mktemp("demo")
    for name, frame in data.tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    (folder / "truth.json").write_text(json.dumps(data.truth, default=str), encoding="utf-8")
    return folder


def code_words(output: str, words: tuple[str, ...]) -> list[str]:
    """The machine code words found as whole words in ``output``."""
    return [w for w in words if re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", output)]


# ------------------------------------------------------------------------------ drivers --pls


def _scores_100(fit: object, frame: pd.DataFrame) -> pd.DataFrame:
    """Each respondent's 0-100 score of every construct: 100·Σ w~_i (x_i − low)/(high − low)."""
    weights = fit.rescaled_weights  # type: ignore[attr-defined]
    out = {}
    for construct in fit.constructs:  # type: ignore[attr-defined]
        items = [i for i in fit.layout.items if fit.model.construct_of(i) == construct]  # type: ignore[attr-defined]
        x = frame[items].to_numpy(dtype=float)
        out[construct] = 100 * ((x - 1.0) / 9.0) @ weights[items].to_numpy()
    return pd.DataFrame(out)


def test_ipma_from_the_cli_matches_the_scores(tmp_path: Path) -> None:
    from allegiance.pls import estimate
    from allegiance.pls.templates import load_model

    mobi = load_mobi()
    path = tmp_path / "mobi.csv"
    mobi.to_csv(path, index=False)
    env = envelope(run("drivers", path, "--pls", "ecsi", "--target", "satisfaction", "-f", "json"))
    assert env["inputs"]["pls"] == "ecsi"
    assert env["inputs"]["target"] == "Satisfaction"
    rows = {r["construct"]: r for r in env["result"]["tables"]["ipma"]}
    # Satisfaction is driven (directly or through others) by these four and nothing else
    assert set(rows) == {"Image", "Expectation", "Perceived quality", "Perceived value"}
    fit = estimate(load_model("ecsi"), mobi.astype(float))
    scores = _scores_100(fit, mobi.astype(float))
    total = fit.total_effects["Satisfaction"]
    for name, row in rows.items():
        # performance: the mean 0-100 score; importance: the standardised total effect
        # rescaled by the spread of the 0-100 scores (points of satisfaction per point)
        assert row["performance"] == pytest.approx(scores[name].mean(), abs=1e-6)
        ratio = scores["Satisfaction"].std(ddof=0) / scores[name].std(ddof=0)
        assert row["total_effect"] == pytest.approx(float(total[name]), abs=1e-9)
        assert row["importance"] == pytest.approx(float(total[name]) * ratio, rel=1e-6)
    # quadrants split at the mean importance and mean performance
    imp = np.mean([r["importance"] for r in rows.values()])
    perf = np.mean([r["performance"] for r in rows.values()])
    for row in rows.values():
        high = row["importance"] >= imp
        good = row["performance"] >= perf
        expected = {
            (True, True): "keep_up",
            (True, False): "concentrate_here",
            (False, True): "possible_overkill",
            (False, False): "low_priority",
        }[(high, good)]
        assert row["quadrant"] == expected


def test_ipma_needs_a_construct_as_target(tmp_path: Path) -> None:
    path = tmp_path / "mobi.csv"
    load_mobi().to_csv(path, index=False)
    out = run("drivers", path, "--pls", "ecsi", "--target", "csat")
    assert out.exit_code == 2
    assert "Satisfaction" in out.output


def test_ipma_table_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "mobi.csv"
    load_mobi().to_csv(path, index=False)
    out = run("drivers", path, "--pls", "ecsi", "--target", "Satisfaction", "--lang", "zh")
    assert out.exit_code == 0, out.output
    assert "感知质量" in out.stdout
    assert "重要性-表现地图" in out.stdout
    assert code_words(out.stdout, ("Perceived", "keep_up", "concentrate_here")) == []


# ------------------------------------------------------------------------------ drivers options


def test_patterns_split_and_shapley_options(demo: Path) -> None:
    survey = demo / "survey_responses.parquet"
    env = envelope(
        run("drivers", survey, "--target", "csat", "--items", "cs_*", "--split", "midpoints",
            "--exact-max", "5", "--shapley-permutations", "300", "--seed", "3", "-f", "json")
    )  # fmt: skip
    items = [c for c in pd.read_parquet(survey).columns if c.startswith("cs_")]
    assert env["inputs"]["items"] == items  # 14 factors, in the file's order
    result = env["result"]
    assert result["split"] == "midpoint"
    assert result["exact"] is False  # 14 items > --exact-max 5: sampled
    assert result["n_perm"] == 300
    table = result["tables"]["ipa"]
    assert all(r["mc_se"] > 0 for r in table)
    # the sampled Shapley values still add up to R² (every permutation does)
    assert sum(r["importance"] for r in table) == pytest.approx(result["r2"], abs=1e-9)
    # midpoint split: the performance line is the scale middle, 3 on 1..5
    assert result["performance_line"] == pytest.approx(3.0)
    again = envelope(
        run("drivers", survey, "--target", "csat", "--items", "cs_*", "--split", "midpoint",
            "--exact-max", "5", "--shapley-permutations", "300", "--seed", "3", "-f", "json")
    )  # fmt: skip
    assert [r["importance"] for r in again["result"]["tables"]["ipa"]] == [
        r["importance"] for r in table
    ]
    bad = run("drivers", survey, "--target", "csat", "--items", "cs_*", "--split", "middle")
    assert bad.exit_code == 2
    assert "midpoint" in bad.output


def test_drivers_table_in_chinese(demo: Path) -> None:
    out = run("drivers", demo / "survey_responses.parquet", "--target", "csat", "--items", "cs_*",
              "--lang", "zh")  # fmt: skip
    assert out.exit_code == 0, out.output
    words = ("concentrate_here", "keep_up", "low_priority", "possible_overkill", "shapley",
             "listwise", "means", "mean")  # fmt: skip
    assert code_words(out.stdout, words) == []
    assert "整行删除" in out.stdout


# ------------------------------------------------------------------------------ touchpoints


def test_touchpoints_joins_the_customers(demo: Path) -> None:
    env = envelope(
        run("touchpoints", demo / "journey.parquet", "--customers", demo / "customers.parquet",
            "--by", "segment", "--overall", "tp_overall", "--touchpoints", "tp_*",
            "--value", "value_*", "--cost", "cost_*", "-f", "json")
    )  # fmt: skip
    assert env["inputs"]["touchpoints"][0] == "tp_store"
    assert "tp_overall" not in env["inputs"]["touchpoints"]  # the overall is not an item
    journey = pd.read_parquet(demo / "journey.parquet")
    customers = pd.read_parquet(demo / "customers.parquet")
    joined = journey.merge(customers[["customer_id", "segment"]], on="customer_id")
    expected = joined.groupby(joined["segment"].astype(str), observed=True).size()
    groups = env["result"]["delivered_value"]["tables"]["delivered_value"]
    assert {g["segment"]: g["n"] for g in groups} == expected.to_dict()


def test_touchpoints_table_in_chinese(demo: Path) -> None:
    out = run("touchpoints", demo / "journey.parquet", "--overall", "tp_overall",
              "--touchpoints", "tp_store,tp_billing,tp_network", "--value", "value_*",
              "--cost", "cost_*", "--lang", "zh")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert code_words(out.stdout, ("value", "cost", "shapley", "pairwise")) == []
    assert "成本" in out.stdout


# ------------------------------------------------------------------------------ compare


def test_compare_index_is_the_csi_per_segment(demo: Path) -> None:
    from allegiance.methods import ahp
    from allegiance.methods.csi import csi
    from allegiance.templates import template_path

    env = envelope(
        run("compare", demo / "survey_responses.parquet", "--customers",
            demo / "customers.parquet", "--by", "segment", "--index-boot", "200", "-f", "json")
    )  # fmt: skip
    segments = env["result"]["segments"]
    assert segments["measures"] == ["nps", "csat", "ces", "index"]
    index_rows = [r for r in segments["tables"]["summary"] if r["measure"] == "index"]
    survey = pd.read_parquet(demo / "survey_responses.parquet")
    customers = pd.read_parquet(demo / "customers.parquet")
    joined = survey.merge(customers[["customer_id", "segment"]], on="customer_id")
    weights = ahp.analyze(ahp.load_hierarchy(template_path("hierarchies", "calculation_standard")))
    reference = csi(joined, hierarchy=weights, by="segment", n_boot=0).index.set_index("segment")
    assert len(index_rows) == 4
    for row in index_rows:
        assert row["statistic"] == "csi"
        assert row["estimate"] == pytest.approx(float(reference.loc[row["group"], "csi_100"]))
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # the equal-weight mean of the factors is not what is reported
    equal = joined.groupby("segment", observed=True)[
        [c for c in survey.columns if c.startswith("cs_")]
    ]
    assert any(
        abs(r["estimate"] - 20 * float(equal.mean().loc[r["group"]].mean())) > 0.05
        for r in index_rows
    )


def test_compare_competitors_on_the_demo_table(demo: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text(encoding="utf-8"))
    env = envelope(
        run("compare", demo / "competitor_ratings.parquet", "--brand", "competitor", "--ours",
            "huaxun", "--respondent", "respondent_key", "-f", "json")
    )  # fmt: skip
    paired = env["result"]["competitors"]["tables"]["paired"]
    assert {r["competitor"] for r in paired} == {"liantong", "yidong"}
    factors = truth["waves"]["competitors"]["factors"]
    covered = 0
    for row in paired:
        expected = factors[row["item"].removeprefix("cs_")][row["competitor"]]
        target = expected["expected_difference_ours_minus_theirs"]
        covered += row["ci_low"] <= target <= row["ci_high"]
    assert covered >= 0.85 * len(paired)  # 95% intervals


def test_compare_table_in_chinese(demo: Path) -> None:
    out = run("compare", demo / "survey_responses.parquet", "--customers",
              demo / "customers.parquet", "--by", "segment", "--factors", "cs_*",
              "--index-boot", "50", "--lang", "zh")  # fmt: skip
    assert out.exit_code == 0, out.output
    words = ("chi_square", "kruskal_wallis", "welch_anova", "welch_t", "z_nps_difference",
             "z_two_proportions", "hedges_g", "cramers_v", "cohens_h", "epsilon_squared",
             "eta_squared", "top2_box", "mean", "csi")  # fmt: skip
    assert code_words(out.stdout, words) == []
    assert "满意度指数" in out.stdout


# ------------------------------------------------------------------------------ loyalty-link


def test_loyalty_link_joins_the_branches(demo: Path) -> None:
    env = envelope(
        run("loyalty-link", demo / "survey_responses.parquet", "-s", "csat", "-l", "repurchase",
            "--loyal", "repurchase=3", "--employees", demo / "employee_survey.parquet",
            "--branches", demo / "customer_branch.parquet", "-f", "json")
    )  # fmt: skip
    assert env["inputs"]["branch"] == "branch_id"
    survey = pd.read_parquet(demo / "survey_responses.parquet")
    branch = pd.read_parquet(demo / "customer_branch.parquet")
    joined = survey.merge(branch, on="customer_id")
    means = joined.groupby(joined["branch_id"].astype(str), observed=True)["csat"].mean()
    rows = env["result"]["employees"]["tables"]["branches"]
    for row in rows:
        assert row["customer_satisfaction"] == pytest.approx(float(means[row["branch"]]))


def test_loyalty_link_table_in_chinese(demo: Path) -> None:
    out = run("loyalty-link", demo / "survey_responses.parquet", "-s", "csat", "-l",
              "repurchase", "--loyal", "repurchase=3", "--employees",
              demo / "employee_survey.parquet", "--branches", demo / "customer_branch.parquet",
              "--customers", demo / "customers.parquet", "--lang", "zh")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert code_words(out.stdout, ("pearson", "spearman", "retained")) == []
    assert "Spearman 等级相关系数" in out.stdout


# ------------------------------------------------------------------------------ servqual, reasons


def test_servqual_table_in_chinese(demo: Path) -> None:
    survey = pd.read_parquet(demo / "survey_responses.parquet")
    zot = pd.read_parquet(demo / "servqual_zot.parquet").drop(columns=["customer_id"])
    path = demo / "servqual_joined.parquet"
    survey.merge(zot, on="respondent_key").to_parquet(path)
    out = run("servqual", path, "--lang", "zh")
    assert out.exit_code == 0, out.output
    words = ("tangibles", "reliability", "responsiveness", "assurance", "empathy", "below",
             "within", "above", "servqual", "servqual_weighted")  # fmt: skip
    assert code_words(out.stdout, words) == []
    assert "有形性" in out.stdout
    assert "容忍区" in out.stdout


def test_reasons_table_shows_shares_by_segment_in_chinese(demo: Path) -> None:
    out = run("reasons", demo / "survey_responses.parquet", "--customers",
              demo / "customers.parquet", "--by", "segment", "--lang", "zh")  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "各分组受访者占比" in out.stdout
    words = ("network_quality", "billing", "price", "service_attitude", "waiting_time",
             "app_issues")  # fmt: skip
    assert code_words(out.stdout, words) == []
    assert "网络质量" in out.stdout
    # the per-segment share printed equals the hand count for one cell
    survey = pd.read_parquet(demo / "survey_responses.parquet")
    customers = pd.read_parquet(demo / "customers.parquet")
    joined = survey.merge(customers[["customer_id", "segment"]], on="customer_id")
    consumer = joined.loc[(joined["segment"] == "consumer") & joined["reasons"].notna()]
    consumer = consumer.loc[consumer["reasons"].str.len() > 0]
    share = consumer["reasons"].str.split(";").map(lambda c: "price" in c).mean()
    assert f"{share:.4f}" in out.stdout


def test_verbatims_by_factor(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "comment": ["[red]账单看不懂[/red]", "Network drops all day", "资费太贵", "ok"],
            "reasons": ["billing", "", "price;billing", ""],
        }
    )
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    (tmp_path / "k.yaml").write_text(
        "billing: [账单, bill]\nprice: [资费]\nnetwork_quality: [network]\n", encoding="utf-8"
    )
    (tmp_path / "f.yaml").write_text(
        "billing: error_rate\nprice: cost_saved\nnetwork_quality: reliability\n", encoding="utf-8"
    )
    env = envelope(
        run("comments", "verbatims", path, "--keywords", tmp_path / "k.yaml", "--reasons-column",
            "reasons", "--by-factor", tmp_path / "f.yaml", "-f", "json")
    )  # fmt: skip
    rows = env["result"]["tables"]["verbatims"]
    assert env["result"]["group"] == "factor"
    got = [(r["factor"], r["coded"], r["comment"]) for r in rows]
    # error_rate: the coded billing comment; cost_saved: 资费太贵 (coded price);
    # reliability: the network comment (nobody coded network_quality)
    assert got == [
        ("error_rate", True, "[red]账单看不懂[/red]"),
        ("cost_saved", True, "资费太贵"),
        ("reliability", False, "Network drops all day"),
    ]
    table = run("comments", "verbatims", path, "--keywords", tmp_path / "k.yaml",
                "--reasons-column", "reasons", "--by-factor", tmp_path / "f.yaml", "--lang", "zh")  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "[red]账单看不懂[/red]" in table.stdout  # shown as written, not read as markup
    assert "差错率" in table.stdout


def test_verbatims_help_shows_the_brackets() -> None:
    out = run("comments", "verbatims", "--help")
    assert out.exit_code == 0
    assert "reason: [keywords]" in out.output
    assert "reason: [words]" in out.output.replace("\n", " ")
