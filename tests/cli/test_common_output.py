"""Shared CLI output: translated yes/no cells, numbers never cut, CSV safe for spreadsheets."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from rich.console import Console

from allegiance.cli.common import rich_table, safe_csv_frame, write_csv
from allegiance.errors import ColumnNotFoundError
from allegiance.i18n import set_lang


def _render(frame: pd.DataFrame, width: int = 80) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, soft_wrap=True).print(rich_table("t", frame, width=width))
    return buf.getvalue()


def test_booleans_read_as_words_in_both_languages() -> None:
    frame = pd.DataFrame({"item": ["a", "b"], "flag": [True, False]})
    set_lang("zh")
    text = _render(frame)
    assert "是" in text
    assert "否" in text
    assert "True" not in text
    set_lang("en")
    text = _render(frame)
    assert "yes" in text
    assert "False" not in text


def test_numbers_are_never_cut_on_a_narrow_console() -> None:
    frame = pd.DataFrame(
        {
            "attribute": ["a very long attribute name that needs room"] * 2,
            **{f"measure_{i}": [-0.7734, 12345.678] for i in range(5)},
        }
    )
    text = _render(frame, width=60)
    assert "…" not in text
    assert text.count("-0.7734") == 5
    assert text.count("12,345.678") == 5


def test_csv_cells_that_excel_would_run_are_defused(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"comment": ['=HYPERLINK("x")', "+1 good", "-5", "@SUM(A1)", "fine"], "n": [1, 2, 3, 4, 5]}
    )
    safe = safe_csv_frame(frame)
    assert safe["comment"].tolist() == ['\'=HYPERLINK("x")', "'+1 good", "-5", "'@SUM(A1)", "fine"]
    assert safe["n"].tolist() == [1, 2, 3, 4, 5]
    write_csv(frame, tmp_path / "c.csv")
    back = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig")
    assert back["comment"].iloc[0].startswith("'=")


def test_column_suggestions_are_not_repeated() -> None:
    err = ColumnNotFoundError(["NPS", "nps "], ["nps", "csat"])
    assert err.render("en").count("'nps'") == 1


def test_wide_tables_split_into_parts_that_repeat_the_keys() -> None:
    frame = pd.DataFrame(
        {"attribute": [f"feature_{i}" for i in range(10)]}
        | {f"share_of_category_{c}": [0.123456, -0.5] * 5 for c in "AOMIRQ"}
        | {f"count_{c}": [1234567] + [2] * 9 for c in "AOMIRQ"}
    )
    text = _render(frame, width=70)
    assert "…" not in text
    assert "(1/" in text
    assert text.count("feature_9") >= 2  # the key column is repeated in every part
    assert text.count("1,234,567") == 6
    tall = pd.DataFrame({"attribute": ["a"], **{f"m{i}": [-0.79123] for i in range(12)}})
    assert "…" not in _render(tall, width=50)
