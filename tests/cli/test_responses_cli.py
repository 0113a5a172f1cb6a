"""``allegiance responses export|import|quality`` in a project."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from click.testing import Result
from typer.testing import CliRunner

from allegiance.cli.app import app


def run(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    ok(run("init", root))
    ok(run("survey", "new", "--template", "nps", "--slug", "nps-1", "--project", root))
    ok(run("survey", "publish", "nps-1", "--project", root))
    return root


ROWS = pd.DataFrame(
    {
        "respondent_key": ["a", "b", "c", "d", "e"],
        "language": ["zh", "zh", "en", "zh", "en"],
        "duration_s": [100, 120, 5, 90, 110],
        "nps": [9, 3, 10, 7, 12],
        "detractor_reasons": ["", "price", "", "", ""],
        "promoter_reasons": ["", "", "", "", ""],
        "comment": ["好", "", "", "", ""],
    }
)


def test_import_export_quality(project: Path, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    ROWS.to_csv(data, index=False)
    bad = run("responses", "import", data, "--survey", "nps-1", "--project", project)
    assert bad.exit_code != 0
    assert "row 6, column nps, value '12'" in bad.output
    zh = run("responses", "import", data, "--survey", "nps-1", "--project", project, "--lang", "zh")
    assert "第 6 行，列 nps" in zh.output
    side = tmp_path / "rejects.csv"
    env = json.loads(
        ok(
            run(
                "responses",
                "import",
                data,
                "--survey",
                "nps-1",
                "--quarantine",
                side,
                "--project",
                project,
                "--format",
                "json",
            )
        ).stdout
    )
    assert (env["result"]["n_written"], env["result"]["n_rejected"]) == (4, 1)
    assert list(pd.read_csv(side)["respondent_key"]) == ["e"]

    csv_text = ok(run("responses", "export", "--survey", "nps-1", "--project", project)).stdout
    header = csv_text.splitlines()[0].split(",")
    assert header[:3] == ["response_id", "respondent_key", "wave"]
    assert {"nps", "speeder", "straightliner", "duplicate"} <= set(header)
    sav = tmp_path / "nps.sav"
    ok(
        run(
            "responses",
            "export",
            "--survey",
            "nps-1",
            "--format",
            "sav",
            "--out",
            sav,
            "--lang",
            "zh",
            "--project",
            project,
        )
    )
    frame, meta = pyreadstat.read_sav(str(sav))
    assert list(frame["nps"]) == [9, 3, 10, 7]
    assert meta.column_names_to_labels["nps"].startswith("您向朋友或同事推荐")
    anchors = meta.variable_value_labels["nps"]
    assert sorted(anchors) == list(range(11))
    assert anchors[0].startswith("0 ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in anchors[0])
    assert meta.variable_value_labels["speeder"] == {0: "否", 1: "是"}

    margins = tmp_path / "m.yaml"
    margins.write_text("language: {zh: 0.5, en: 0.5}\n", encoding="utf-8")
    env = json.loads(
        ok(
            run(
                "responses",
                "quality",
                "--survey",
                "nps-1",
                "--margins",
                margins,
                "--project",
                project,
                "--format",
                "json",
            )
        ).stdout
    )
    body = env["result"]
    assert body["n"] == 4
    assert [f["speeder"] for f in body["flags"]] == [False, False, True, False]
    raking = body["raking"]
    assert raking["converged"]
    # 3 zh, 1 en raked to 50/50: weights 2/3 and 2 (mean 1); deff = 4·(3·4/9 + 4)/16 = 4/3
    assert raking["deff"] == pytest.approx(4 / 3)
    assert raking["n_eff"] == pytest.approx(3.0)
    assert [round(f["weight"], 6) for f in body["flags"]] == [0.666667, 0.666667, 2.0, 0.666667]

    # the raking weight goes with the export into an analysis: `score nps --weight weight`
    weighted = tmp_path / "weighted.csv"
    out = ok(
        run(
            "responses",
            "export",
            "--survey",
            "nps-1",
            "--margins",
            margins,
            "--out",
            weighted,
            "--lang",
            "en",
            "--project",
            project,
        )
    )
    assert "1.333" in out.output  # the design effect, 4/3
    assert "effective n 3.0 of 4" in out.output
    exported = pd.read_csv(weighted)
    assert [round(w, 6) for w in exported["weight"]] == [0.666667, 0.666667, 2.0, 0.666667]
    scored = json.loads(
        ok(
            run(
                "score",
                "nps",
                weighted,
                "--column",
                "nps",
                "--weight",
                "weight",
                "--format",
                "json",
            )
        ).stdout
    )
    row = scored["result"]["tables"]["nps"][0]
    # Kish: n_eff = (Σw)² / Σw² = n / deff = 3 (the raking's effective n)
    assert row["n"] == 4
    assert row["n_eff"] == pytest.approx(3.0)
    # weighted shares: promoters 9 (2/3) and 10 (2) of 4 → 2/3; detractor 3 (2/3) → 1/6
    assert row["nps"] == pytest.approx(100 * (8 / 12 - 2 / 12))
