"""The `loyalty_link` report section (satisfaction and loyalty, the service-profit chain) on a
small demo project.

The loyalty multiple and the curve are recomputed here by hand from the survey answers; the
branch correlation from the branch means of the two surveys, and its sign and size against
the generator's truth (branches with a better climate have more satisfied customers).
"""

from __future__ import annotations

import numpy as np
import pytest

import allegiance.generate.waves
import allegiance.reports.sections.loyalty_link  # noqa: F401  (registers the section)
from allegiance.generate import DemoConfig
from allegiance.project import open_project
from allegiance.reports.registry import Report, build_report
from allegiance.workflow import ProjectData, generate_project


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ProjectData:
    folder = tmp_path_factory.mktemp("loyalty") / "p"
    generate_project(folder, config=DemoConfig(customers=6000, months=3, seed=8))
    return ProjectData(open_project(folder), lang="en")


@pytest.fixture(scope="module")
def report(data: ProjectData) -> Report:
    return build_report(data, sections=["loyalty_link"], lang="en")


def _truth(data: ProjectData) -> dict:
    truth = data.truth
    return truth.get("employees") or truth["generate.employees"]


def test_loyalty_multiple_by_hand(data: ProjectData, report: Report) -> None:
    answers = data.responses.dropna(subset=["csat", "repurchase"])
    very = (answers.loc[answers["csat"] == 5, "repurchase"] == 3).mean()
    merely = (answers.loc[answers["csat"] == 4, "repurchase"] == 3).mean()
    figures = report.figures()
    assert figures["loyalty_link.multiple_repurchase"] == pytest.approx(very / merely)
    low = figures["loyalty_link.multiple_repurchase_ci_low"]
    high = figures["loyalty_link.multiple_repurchase_ci_high"]
    assert low < very / merely < high
    # the curve: share loyal at each satisfaction level, rising (SPEC section 5)
    curve = report.tables()["loyalty_link.curve"]
    shares = [
        (answers.loc[answers["csat"] == level, "repurchase"] == 3).mean() for level in range(1, 6)
    ]
    np.testing.assert_allclose(curve.iloc[:, 1].to_numpy(dtype=float), shares)
    assert shares[4] > shares[3] > shares[2]


def test_retention_multiple_uses_the_customer_table(data: ProjectData, report: Report) -> None:
    churned = data.customers.set_index("customer_id")["churned"].astype(bool)
    answers = data.responses.dropna(subset=["csat"])
    kept = ~churned.reindex(answers["customer_id"]).to_numpy()
    very = kept[answers["csat"].to_numpy() == 5].mean()
    merely = kept[answers["csat"].to_numpy() == 4].mean()
    assert report.figures()["loyalty_link.multiple_retained"] == pytest.approx(very / merely)


def test_branch_correlation_by_hand_and_against_truth(data: ProjectData, report: Report) -> None:
    served = data.table("customer_branch").astype({"branch_id": "str"})
    answers = data.responses.merge(served, on="customer_id").dropna(subset=["csat"])
    customers = answers.groupby("branch_id")["csat"].agg(["mean", "size"])
    employees = (
        data.table("employee_survey")
        .astype({"branch_id": "str"})
        .groupby("branch_id")["esat"]
        .agg(["mean", "size"])
    )
    both = customers.add_suffix("_c").join(employees.add_suffix("_e"), how="inner")
    used = both.loc[(both["size_c"] >= 5) & (both["size_e"] >= 3)]
    r = float(np.corrcoef(used["mean_e"], used["mean_c"])[0, 1])
    figures = report.figures()
    assert figures["loyalty_link.branches"] == len(used)
    assert figures["loyalty_link.employee_r"] == pytest.approx(r)
    assert figures["loyalty_link.employee_r_low"] < r < figures["loyalty_link.employee_r_high"]
    # the generator links customers to branches of better climate: a clearly positive r,
    # in line with the truth's correlation of expected employee satisfaction and customers'
    truth = _truth(data)["correlation_expected_esat_vs_branch_satisfaction"]
    assert truth > 0.5
    assert r > 0.3
    table = report.tables()["loyalty_link.employee_correlation"]
    assert list(table.index) == ["Pearson r", "Spearman rho"]


def test_section_in_chinese(data: ProjectData) -> None:
    zh = ProjectData(data.project, lang="zh")
    report = build_report(zh, sections=["loyalty_link"], lang="zh")
    table = report.tables()["loyalty_link.employee_correlation"]
    assert list(table.index) == ["Pearson 相关系数", "Spearman 等级相关系数"]
    assert report.sections[0].title == "满意度与忠诚度的关系"
    zh.close()
