"""The Excel workbook: sheets, numbers as numbers, translated headers, frozen panes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allegiance.reports.registry import ReportTable, Section, SectionOutput, build_report
from allegiance.reports.xlsx import number_format, sheet_name, write_xlsx


@pytest.fixture
def workbook_path(example_sections: tuple[Section[Any], ...], ctx: Any, tmp_path: Path) -> Path:
    return write_xlsx(build_report(ctx, lang="en"), tmp_path / "report.xlsx")


def test_sheets_are_summary_tables_and_notes(workbook_path: Path) -> None:
    book = openpyxl.load_workbook(workbook_path)
    assert book.sheetnames == ["Summary", "Scores by segment", "Notes"]


def test_summary_holds_every_figure_as_a_number(
    example_sections: tuple[Section[Any], ...], ctx: Any, tmp_path: Path
) -> None:
    report = build_report(ctx, lang="en")
    path = write_xlsx(report, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Section", "Figure", "Value", "ID", "Note")
    values = {r[3]: r[2] for r in rows[1:]}
    expected = report.figures()
    assert set(values) == set(expected)
    for key, value in expected.items():
        assert values[key] == value, key
        if isinstance(value, (int, float)):
            assert isinstance(values[key], (int, float))
    assert isinstance(values["example.mean"], float)
    assert values["example.missing"] is None
    assert ws.freeze_panes == "A2"
    # percent figures keep full precision in the cell; only the format rounds
    cell = next(r[2] for r in ws.iter_rows(min_row=2) if r[3].value == "example.top_share")
    assert cell.number_format == "0.0%"
    assert cell.value == expected["example.top_share"]


def test_table_sheet_has_labels_numbers_and_frozen_header(
    example_sections: tuple[Section[Any], ...], ctx: Any, tmp_path: Path, hostile: str
) -> None:
    report = build_report(ctx, lang="en")
    path = write_xlsx(report, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Scores by segment"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Segment", "Answers", "Mean", "Share", "Comment")
    frame = report.tables()["example.by_segment"]
    assert len(rows) == len(frame) + 1
    for row, (_, expected) in zip(rows[1:], frame.iterrows(), strict=True):
        assert row[0] == expected["example_segment"]
        assert isinstance(row[1], int)
        assert row[1] == expected["example_n"]
        assert isinstance(row[2], float)
        assert row[2] == expected["example_mean"]
        assert row[3] == expected["example_share"]
    assert ws.freeze_panes == "A2"
    assert ws["D2"].number_format == "0.0%"
    assert ws.column_dimensions["A"].width >= len(hostile)
    assert hostile in [r[4] for r in rows]


def test_notes_sheet_lists_errors_warnings_and_notes(workbook_path: Path) -> None:
    ws = openpyxl.load_workbook(workbook_path)["Notes"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Section", "Type", "Message")
    kinds = {(r[0], r[1]) for r in rows[1:]}
    assert ("Failing example", "error") in kinds
    assert ("Example section", "note") in kinds
    assert ("Example section", "warning") in kinds


def test_chinese_workbook(
    example_sections: tuple[Section[Any], ...], ctx: Any, tmp_path: Path
) -> None:
    path = write_xlsx(build_report(ctx, lang="zh"), tmp_path / "zh.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["摘要", "各细分得分", "说明"]
    assert next(book["摘要"].iter_rows(values_only=True))[:3] == ("章节", "指标", "数值")
    assert next(book["各细分得分"].iter_rows(values_only=True)) == (
        "细分",
        "答卷数",
        "平均值",
        "占比",
        "评论",
    )


def test_text_is_never_a_formula_or_link_and_missing_is_blank(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "text": ["=1+1", "https://example.com", "123"],
            "x": [1.5, float("nan"), 3.0],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-31", "2024-02-29", None]),
        }
    )
    section = Section(
        id="s",
        title_key="x",
        order=1,
        build=lambda _c: SectionOutput(tables=(ReportTable("t", "Odd/table:name*?", frame),)),
    )
    path = write_xlsx(build_report(object(), lang="en", sections=[section]), tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Odd_table_name__"]
    ws = book["Odd_table_name__"]
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["=1+1", "https://example.com", "123"]
    assert ws.cell(2, 1).data_type == "s"
    assert ws.cell(2, 1).hyperlink is None
    assert ws.cell(3, 1).hyperlink is None
    assert [ws.cell(r, 2).value for r in (2, 3, 4)] == [1.5, None, 3.0]
    assert [ws.cell(r, 3).value for r in (2, 3, 4)] == [True, False, True]
    assert ws.cell(2, 4).value == pd.Timestamp("2024-01-31").to_pydatetime()
    assert ws.cell(4, 4).value is None


def test_duplicate_and_long_table_titles_get_unique_sheet_names(tmp_path: Path) -> None:
    long_title = "A very long table title that Excel cannot take in full"
    frame = pd.DataFrame({"x": [1]})
    tables = (
        ReportTable("a", long_title, frame),
        ReportTable("b", long_title, frame),
        ReportTable("c", "summary", frame),
    )
    section = Section(id="s", title_key="x", order=1, build=lambda _c: SectionOutput(tables=tables))
    path = write_xlsx(build_report(object(), lang="en", sections=[section]), tmp_path / "t.xlsx")
    names = openpyxl.load_workbook(path).sheetnames
    assert names[0] == "Summary"
    assert names[1] == long_title[:31]
    assert names[2].endswith(" (2)")
    assert names[3] == "summary (2)"
    assert all(len(n) <= 31 for n in names)


@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=20
    )
)
def test_every_double_survives_the_workbook_exactly(values: list[float]) -> None:
    import tempfile

    frame = pd.DataFrame({"x": values})
    section = Section(
        id="s",
        title_key="x",
        order=1,
        build=lambda _c: SectionOutput(tables=(ReportTable("t", "t", frame),)),
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write_xlsx(
            build_report(object(), lang="en", sections=[section]), Path(folder) / "x.xlsx"
        )
        ws = openpyxl.load_workbook(path)["t"]
        got = [ws.cell(r, 1).value for r in range(2, len(values) + 2)]
    assert [float(g) for g in got] == values


@given(titles=st.lists(st.text(max_size=40), min_size=1, max_size=12))
def test_sheet_names_are_always_valid_and_unique(titles: list[str]) -> None:
    used: set[str] = set()
    names = [sheet_name(title, used=used) for title in titles]
    lowered = [n.lower() for n in names]
    assert len(set(lowered)) == len(names)
    for name in names:
        assert 1 <= len(name) <= 31
        assert not re.search(r"[\[\]:*?/\\]", name)
        assert not name.startswith("'")
        assert not name.endswith("'")
        assert name.lower() != "history"


@pytest.mark.parametrize(
    ("kind", "digits", "expected"),
    [
        ("percent", 1, "0.0%"),
        ("percent", 0, "0%"),
        ("count", 2, "#,##0"),
        ("number", 2, "#,##0.00"),
        ("score", 0, "#,##0"),
        ("text", 1, None),
    ],
)
def test_number_format(kind: Any, digits: int, expected: str | None) -> None:
    assert number_format(kind, digits) == expected
