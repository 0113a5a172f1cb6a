"""`allegiance survey ...`, and the analyses run on exported responses of the shipped templates:
`allegiance pls --model ecsi` on the ECSI template's answers reproduces SmartPLS on mobi,
`allegiance kano` classifies the Kano template's answers by the Kano evaluation table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli.app import app
from allegiance.datasets import load_mobi
from allegiance.project import open_project
from allegiance.store import db
from allegiance.store import surveys as S
from allegiance.survey.definition import shipped_schema
from allegiance.survey.templates import template_names

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "pls" / "smartpls_ecsi_mobi"
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def envelope(result: Result) -> dict[str, Any]:
    return json.loads(ok(result).stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    ok(run("init", tmp_path / "proj"))
    return tmp_path / "proj"


def test_templates_and_schema() -> None:
    env = envelope(run("survey", "templates", "--format", "json"))
    assert env["command"] == "survey templates"
    names = [t["name"] for t in env["result"]["templates"]]
    assert names == template_names()
    assert len(names) >= 13
    assert all(t["title"]["zh"] and t["title"]["en"] for t in env["result"]["templates"])
    zh = ok(run("survey", "templates", "--lang", "zh")).output
    assert "欧洲顾客满意度指数" in zh
    assert "题数" in zh
    assert json.loads(ok(run("survey", "schema")).stdout) == shipped_schema()


def test_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    ok(run("survey", "new", "--template", "nps", "--out", good))
    result = ok(run("survey", "validate", good))
    assert "is a valid survey definition: 1 page(s), 4 question(s)" in result.output
    env = envelope(run("survey", "validate", good, "--format", "json"))
    assert env["result"]["valid"] is True
    assert env["result"]["n_questions"] == 4
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        good.read_text(encoding="utf-8").replace("show_if: nps <= 6", "show_if: nsp <= 6"),
        encoding="utf-8",
    )
    result = run("survey", "validate", bad)
    assert result.exit_code == 1
    assert "pages[0].questions[1].show_if (detractor_reasons)" in result.output
    assert "did you mean nps?" in result.output
    result = run("survey", "validate", bad, "--format", "json", "--lang", "zh")
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["result"]["issues"]
    assert [i["path"] for i in issues] == ["pages[0].questions[1].show_if"]
    assert issues[0]["line"] is not None
    assert CJK.search(issues[0]["zh"])


def test_columns() -> None:
    env = envelope(run("survey", "columns", "--template", "kano", "--format", "json"))
    columns = [c["column"] for c in env["result"]["columns"]]
    assert "kano_hotline_24h_func" in columns
    assert "kano_hotline_24h_imp" in columns
    assert run("survey", "columns").exit_code == 2


def test_new_without_a_project_writes_the_yaml_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = envelope(
        run("survey", "new", "--template", "ces", "--slug", "ces-q1", "--format", "json")
    )
    assert env["result"]["survey"]["stored"] is False
    written = tmp_path / "ces-q1.yaml"
    assert written.is_file()
    text = written.read_text(encoding="utf-8")
    assert "code: ces-q1" in text
    assert text.startswith("# CES survey template")
    result = run("survey", "new", "--template", "ces", "--slug", "ces-q1")
    assert result.exit_code == 2
    assert "--force" in result.output
    ok(run("survey", "new", "--template", "ces", "--slug", "ces-q1", "--force"))
    assert run("survey", "new").exit_code == 2
    assert run("survey", "new", "--template", "nope").exit_code == 2


def test_life_in_a_project(project: Path) -> None:
    env = envelope(
        run(
            "survey",
            "new",
            "--template",
            "nps",
            "--slug",
            "nps-2025",
            "--project",
            project,
            "--format",
            "json",
        )
    )
    assert env["result"]["survey"]["status"] == "draft"
    assert env["result"]["survey"]["stored"] is True
    assert (project / "surveys" / "nps-2025.yaml").is_file()
    mine = project / "surveys" / "nps-2025.yaml"
    env = envelope(
        run(
            "survey",
            "new",
            "--from",
            mine,
            "--slug",
            "nps-copy",
            "--project",
            project,
            "--format",
            "json",
        )
    )
    assert env["result"]["survey"]["from_template"] is None
    env = envelope(
        run(
            "survey",
            "publish",
            "nps-2025",
            "--wave",
            "2025Q1",
            "--project",
            project,
            "--format",
            "json",
        )
    )
    assert env["result"]["survey"]["status"] == "published"
    assert env["result"]["survey"]["wave"] == "2025Q1"
    zh = ok(run("survey", "list", "--project", project, "--lang", "zh")).output
    assert "已发布" in zh
    assert "草稿" in zh
    env = envelope(
        run("survey", "list", "--status", "published", "--project", project, "--format", "json")
    )
    assert [s["slug"] for s in env["result"]["surveys"]] == ["nps-2025"]
    assert run("survey", "list", "--status", "open", "--project", project).exit_code == 2
    env = envelope(run("survey", "close", "nps-2025", "--project", project, "--format", "json"))
    assert env["result"]["survey"]["status"] == "closed"
    result = run("survey", "close", "nps-2025", "--project", project)
    assert result.exit_code == 2
    assert "closed" in result.output
    result = run("survey", "publish", "nope", "--project", project, "--lang", "zh")
    assert result.exit_code == 2
    assert "没有问卷 nope" in result.output


def _submit_all(project: Path, slug: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Answer a published survey of the project through invitations, then export its answers."""
    engine = db.make_engine(open_project(project).database_url)
    try:
        with db.session_factory(engine)() as session:
            invitations = S.create_invitations(session, slug, len(rows))
            for inv, answers in zip(invitations, rows, strict=True):
                S.submit_response(session, inv.token, answers)
        return S.survey_analysis_frame(engine, slug)
    finally:
        engine.dispose()


def test_pls_runs_on_the_ecsi_templates_answers(project: Path, tmp_path: Path) -> None:
    ok(run("survey", "new", "--template", "ecsi", "--project", project))
    ok(run("survey", "publish", "ecsi", "--project", project))
    mobi = load_mobi()
    rows = [{k: int(v) for k, v in row.items()} for row in mobi.to_dict(orient="records")]
    exported = _submit_all(project, "ecsi", rows)
    pd.testing.assert_frame_equal(
        exported[list(mobi.columns)].astype("int64"), mobi, check_dtype=False
    )
    path = tmp_path / "ecsi_answers.csv"
    exported.to_csv(path, index=False)
    env = envelope(run("pls", path, "--model", "ecsi", "--format", "json"))
    assert env["result"]["n"] == 250
    # SmartPLS 2.0.M3 on mobi, path weighting (tests/golden/pls/README.md)
    golden = pd.read_csv(GOLDEN / "path_path_coefficients.csv", index_col="row")
    names = {"Perceived quality": "Quality", "Perceived value": "Value"}
    for path_row in env["result"]["paths"]:
        want = golden.loc[
            names.get(path_row["from"], path_row["from"]), names.get(path_row["to"], path_row["to"])
        ]
        assert path_row["coefficient"] == pytest.approx(want, abs=1e-6)


KANO_DESIGN = {
    # feature: (functional, dysfunctional) answers; the evaluation table (Berger et al. 1993)
    # gives: like/dislike = O, neutral/dislike = M, like/neutral = A, neutral/neutral = I,
    # dislike/like = R
    "online_self_service": ((1, 5), "O"),
    "hotline_24h": ((3, 5), "M"),
    "personal_advisor": ((1, 3), "A"),
    "loyalty_points": ((3, 3), "I"),
    "price_notice": ((5, 1), "R"),
    "birthday_surprise": ((1, 4), "A"),
}


def test_kano_runs_on_the_kano_templates_answers(project: Path, tmp_path: Path) -> None:
    ok(run("survey", "new", "--template", "kano", "--project", project))
    ok(run("survey", "publish", "kano", "--project", project))
    rows = []
    for i in range(30):
        answers: dict[str, Any] = {"csat": 4}
        for feature, ((func, dysf), _) in KANO_DESIGN.items():
            answers[feature] = {"functional": func, "dysfunctional": dysf}
            answers[f"imp_{feature}"] = 1 + i % 5
        rows.append(answers)
    exported = _submit_all(project, "kano", rows)
    path = tmp_path / "kano_answers.csv"
    exported.to_csv(path, index=False)
    env = envelope(run("kano", path, "--format", "json"))
    assert env["inputs"]["format"] == "pairs"
    assert set(env["inputs"]["importance"]) == set(KANO_DESIGN)
    assert env["result"]["categories"] == {f: cat for f, (_, cat) in KANO_DESIGN.items()}
