"""The data reader: formats, encodings, missing answers, and errors that name file, row and column.

Every fixture is built in ``tmp_path`` by an independent writer (pandas,
pyarrow, pyreadstat, xlsxwriter or raw bytes), so the expected values are the
ones written, not ones our reader printed.
"""

from __future__ import annotations

import doctest
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from allegiance.errors import ColumnNotFoundError, DataFileError, ValidationError
from allegiance.io import (
    MISSING_TOKENS,
    DataTable,
    coerce_numeric,
    read_table,
    require_columns,
)
from allegiance.io import reader as reader_module

CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------
# fixture builders


def survey_frame() -> pd.DataFrame:
    """A small survey: Chinese names and answers, integers, floats, a missing answer."""
    return pd.DataFrame(
        {
            "受访者": [1, 2, 3, 4],
            "城市": ["北京", "上海", "广州", "深圳"],
            "推荐意愿": [9.0, 10.0, np.nan, 6.0],
            "满意度": [5, 4, 3, 5],
            "消费金额": [120.5, 88.25, 0.0, 1999.99],
        }
    )


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(
    path: Path, rows: list[list[Any]], *, sheet: str = "Sheet1", first_row: int = 0
) -> Path:
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.write(first_row + i, j, value)
    book.close()
    return path


def assert_names(err: DataFileError, *parts: str) -> None:
    text = str(err)
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


def assert_chinese(err: DataFileError, file: str) -> None:
    zh = err.render("zh")
    assert CJK.search(zh), zh
    assert file in zh
    assert zh != str(err)


def expect_frame(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        frame.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# ---------------------------------------------------------------------------
# formats round-trip


def test_csv_round_trip_keeps_types(tmp_path: Path) -> None:
    df = survey_frame()
    path = tmp_path / "survey.csv"
    df.to_csv(path, index=False)
    table = read_table(path)
    assert isinstance(table, DataTable)
    assert table.format == "csv"
    assert table.delimiter == ","
    assert table.encoding == "utf-8"
    assert table.path == path
    assert table.warnings == ()
    assert table.value_labels == {}
    assert table.column_labels == {}
    expect_frame(table.frame, df)
    assert table.frame["受访者"].dtype == np.int64
    assert table.frame["满意度"].dtype == np.int64
    assert table.frame["推荐意愿"].dtype == np.float64
    assert isinstance(table.frame.index, pd.RangeIndex)


@pytest.mark.parametrize(
    ("suffix", "sep"), [(".csv", ";"), (".txt", "\t"), (".tsv", "\t"), (".txt", ",")]
)
def test_delimiter_is_sniffed(tmp_path: Path, suffix: str, sep: str) -> None:
    df = survey_frame()
    path = tmp_path / f"survey{suffix}"
    df.to_csv(path, index=False, sep=sep)
    table = read_table(path)
    assert table.delimiter == sep
    assert table.format == ("tsv" if sep == "\t" else "csv")
    expect_frame(table.frame, df)


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "SURVEY.CSV"
    survey_frame().to_csv(path, index=False)
    expect_frame(read_table(path).frame, survey_frame())


def test_quoted_delimiters_and_newlines_in_values(tmp_path: Path) -> None:
    df = pd.DataFrame({"意见": ["等太久, 服务差", "第一行\n第二行", '说"好"'], "评分": [1, 2, 3]})
    path = tmp_path / "comments.csv"
    df.to_csv(path, index=False)
    expect_frame(read_table(path).frame, df)


def test_xlsx_round_trip_and_sheet_choice(tmp_path: Path) -> None:
    df = survey_frame()
    other = pd.DataFrame({"投诉原因": ["服务态度", "产品故障"], "次数": [17, 14]})
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        df.to_excel(writer, sheet_name="问卷", index=False)
        other.to_excel(writer, sheet_name="投诉", index=False)
    first = read_table(path)
    assert first.format == "xlsx"
    assert first.sheet == "问卷"
    assert first.encoding is None
    expect_frame(first.frame, df)
    assert first.frame["满意度"].dtype == np.int64
    by_name = read_table(path, sheet="投诉")
    by_index = read_table(path, sheet=1)
    assert by_name.sheet == by_index.sheet == "投诉"
    expect_frame(by_name.frame, other)
    expect_frame(by_index.frame, other)


def test_xlsx_dates_and_text_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "日期": pd.to_datetime(["2024-01-02", "2024-03-04"]),
            "工号": ["007", "012"],  # text with leading zeros: an identifier
            "评分": ["9", "10"],  # numbers stored as text, as Chinese Excel exports often do
        }
    )
    path = tmp_path / "dates.xlsx"
    df.to_excel(path, engine="xlsxwriter", index=False)
    frame = read_table(path).frame
    assert frame["日期"].tolist() == list(df["日期"])
    assert frame["工号"].tolist() == ["007", "012"]
    assert frame["评分"].tolist() == [9, 10]


def test_parquet_round_trip(tmp_path: Path) -> None:
    df = survey_frame()
    path = tmp_path / "survey.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    table = read_table(path)
    assert table.format == "parquet"
    expect_frame(table.frame, df)
    assert table.frame["满意度"].dtype == np.int64


def test_sav_round_trip_keeps_codes_and_labels(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "q1": [1.0, 5.0, 3.0, np.nan],
            "city": ["北京", "上海", "", "广州"],
            "nps": [9.0, 10.0, 0.0, 7.0],
        }
    )
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={"q1": "总体满意度", "city": "城市", "nps": "推荐意愿"},
        variable_value_labels={"q1": {1: "很不满意", 3: "一般", 5: "很满意"}},
    )
    table = read_table(path)
    assert table.format == "sav"
    assert table.frame["q1"].tolist()[:3] == [1.0, 5.0, 3.0]  # codes, not labels
    assert np.isnan(table.frame["q1"].iloc[3])
    assert table.value_labels == {"q1": {1.0: "很不满意", 3.0: "一般", 5.0: "很满意"}}
    assert table.column_labels == {"q1": "总体满意度", "city": "城市", "nps": "推荐意愿"}
    # SPSS keeps a missing string as "", which is missing here
    assert table.frame["city"].isna().tolist() == [False, False, True, False]
    assert table.frame["nps"].tolist() == [9.0, 10.0, 0.0, 7.0]


def test_columns_selects_and_orders(tmp_path: Path) -> None:
    df = survey_frame()
    csv_path = tmp_path / "s.csv"
    df.to_csv(csv_path, index=False)
    xlsx_path = tmp_path / "s.xlsx"
    df.to_excel(xlsx_path, engine="xlsxwriter", index=False)
    pq_path = tmp_path / "s.parquet"
    df.to_parquet(pq_path, index=False)
    for path in (csv_path, xlsx_path, pq_path):
        frame = read_table(path, columns=["推荐意愿", "城市"]).frame
        assert list(frame.columns) == ["推荐意愿", "城市"]
        expect_frame(frame, df[["推荐意愿", "城市"]])
        with pytest.raises(ColumnNotFoundError) as info:
            read_table(path, columns=["推荐意向"])
        assert "推荐意向" in str(info.value)
        assert "推荐意愿" in str(info.value)  # the suggestion
        assert info.value.params["file"] == str(path)


# ---------------------------------------------------------------------------
# encodings

CHINESE = "推荐意愿,城市,意见\n9,北京,服务很好\n3,上海,等了太久\n"


@pytest.mark.parametrize(
    ("written", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),  # GB18030 is a superset of GBK: same bytes, same text
        ("gb18030", "gb18030"),
    ],
)
def test_encoding_detected(tmp_path: Path, written: str, reported: str) -> None:
    path = write_text(tmp_path / f"{written}.csv", CHINESE, written)
    table = read_table(path)
    assert table.encoding == reported
    assert list(table.frame.columns) == ["推荐意愿", "城市", "意见"]
    assert table.frame["城市"].tolist() == ["北京", "上海"]
    assert table.frame["意见"].tolist() == ["服务很好", "等了太久"]
    assert table.frame["推荐意愿"].tolist() == [9, 3]
    assert table.warnings == ()


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # U+20BB7 (𠮷) and the euro sign exist in GB18030 but not in GBK.
    text = "姓名,金额\n𠮷野家,€5\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = write_text(tmp_path / "g.csv", text, "gb18030")
    table = read_table(path)
    assert table.encoding == "gb18030"
    assert table.frame["姓名"].tolist() == ["𠮷野家"]
    assert table.frame["金额"].tolist() == ["€5"]


def test_utf16_with_bom_as_excel_unicode_text(tmp_path: Path) -> None:
    # Excel's "Unicode text" export: UTF-16 with BOM, tab-separated.
    path = write_text(tmp_path / "u.txt", "城市\t推荐意愿\r\n北京\t9\r\n", "utf-16")
    table = read_table(path)
    assert table.encoding == "utf-16"
    assert table.delimiter == "\t"
    assert table.frame["城市"].tolist() == ["北京"]
    assert table.frame["推荐意愿"].tolist() == [9]


def test_forced_encoding(tmp_path: Path) -> None:
    path = write_text(tmp_path / "gbk.csv", CHINESE, "gbk")
    table = read_table(path, encoding="gbk")
    assert table.encoding == "gbk"
    assert table.frame["城市"].tolist() == ["北京", "上海"]


def test_forced_encoding_that_does_not_fit_names_line_and_offset(tmp_path: Path) -> None:
    header = "score,city\n"  # 11 ASCII bytes, so the first GBK byte sits at offset 11 + 2
    path = write_text(tmp_path / "gbk.csv", header + "5,北京\n", "gbk")
    with pytest.raises(DataFileError) as info:
        read_table(path, encoding="utf-8")
    err = info.value
    assert err.params["row"] == 2
    assert err.params["offset"] == 13
    assert err.params["encoding"] == "utf-8"
    assert err.params["bytes"].startswith("0x" + "北".encode("gbk")[:1].hex())
    assert_names(err, str(path), "line 2", "byte offset 13", "utf-8", "gb18030")
    assert_chinese(err, str(path))
    assert "第 2 行" in err.render("zh")


def test_unknown_encoding(tmp_path: Path) -> None:
    path = write_text(tmp_path / "a.csv", "a\n1\n")
    with pytest.raises(ValidationError) as info:
        read_table(path, encoding="no-such-codec")
    assert info.value.params["encoding"] == "no-such-codec"
    assert "no-such-codec" in str(info.value)


def test_last_resort_guess_warns(tmp_path: Path) -> None:
    # cp1252 text: neither valid UTF-8 nor valid GB18030 (é followed by a comma).
    lines = ["name,comment"] + [f"client{i},très élégant café crème é,ok" for i in range(30)]
    text = "name,comment,x\n" + "\n".join(lines[1:]) + "\n"
    data = text.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb18030")
    path = write_bytes(tmp_path / "latin.csv", data)
    table = read_table(path)
    # A guess, not a certainty (charset-normalizer may pick cp1250 for cp1252 text):
    # the text is decoded with the guessed encoding and the user is told.
    assert table.encoding is not None
    expected = "très élégant café crème é".encode("cp1252").decode(table.encoding)
    assert table.frame["comment"].iloc[0] == expected
    assert "élégant café" in expected
    assert [w.key for w in table.warnings] == ["reader.warn.encoding_guessed"]
    assert table.warnings[0].params["encoding"] == table.encoding


# ---------------------------------------------------------------------------
# missing answers, numbers and text


def test_missing_tokens_become_missing(tmp_path: Path) -> None:
    tokens = ["", "   ", "NA", "N/A", "null", "-", "缺失", "无", " na ", "NULL", "#N/A", "NaN"]
    lines = ["推荐意愿,城市"] + [f"{tok},{tok}" for tok in tokens] + ["7,北京", "-5,上海"]
    path = write_text(tmp_path / "m.csv", "\n".join(lines) + "\n")
    frame = read_table(path).frame
    assert frame["推荐意愿"].dtype == np.int64 or frame["推荐意愿"].dtype == np.float64
    assert frame["推荐意愿"].isna().sum() == len(tokens)
    assert frame["推荐意愿"].tolist()[-2:] == [7, -5]
    assert frame["城市"].isna().sum() == len(tokens)
    assert frame["城市"].tolist()[-2:] == ["北京", "上海"]
    assert {t.strip().casefold() for t in tokens} <= MISSING_TOKENS


def test_missing_tokens_in_xlsx_and_parquet(tmp_path: Path) -> None:
    xlsx = write_xlsx(
        tmp_path / "m.xlsx",
        [["评分", "意见"], [5, "无"], ["N/A", " "], [3, "很好"], [None, "缺失"]],
    )
    frame = read_table(xlsx).frame
    assert frame["评分"].tolist()[0] == 5
    assert frame["评分"].isna().tolist() == [False, True, False, True]
    assert frame["意见"].isna().tolist() == [True, True, False, True]
    parquet = tmp_path / "m.parquet"
    pq.write_table(pa.table({"意见": ["无", "很好", "NA", None]}), parquet)
    assert read_table(parquet).frame["意见"].isna().tolist() == [True, False, True, True]


def test_numbers_stay_numeric_and_text_stays_text(tmp_path: Path) -> None:
    text = (
        "id,phone,score,ratio,city,mixed,hex,when,huge\n"
        "001,13800138000,+5,1.5,北京,5,0x10,2024-01-02,123456789012345678901234\n"
        "002,13900139000, 6 ,.25,上海,好,0x11,2024-02-03 10:11:12,1\n"
    )
    frame = read_table(write_text(tmp_path / "n.csv", text)).frame
    assert frame["id"].tolist() == ["001", "002"]  # leading zeros: an identifier
    assert frame["phone"].tolist() == [13800138000, 13900139000]
    assert frame["score"].tolist() == [5, 6]
    assert frame["ratio"].tolist() == [1.5, 0.25]
    assert frame["city"].tolist() == ["北京", "上海"]
    assert frame["mixed"].tolist() == ["5", "好"]  # Chinese text is never coerced away
    assert frame["hex"].tolist() == ["0x10", "0x11"]
    assert frame["when"].tolist() == [
        pd.Timestamp("2024-01-02"),
        pd.Timestamp("2024-02-03 10:11:12"),
    ]
    assert frame["huge"].tolist() == ["123456789012345678901234", "1"]


def test_all_missing_column_is_numeric_nan(tmp_path: Path) -> None:
    frame = read_table(write_text(tmp_path / "e.csv", "a,b\n1,\n2,NA\n")).frame
    assert frame["b"].dtype == np.float64
    assert frame["b"].isna().all()


def test_header_only_file_warns(tmp_path: Path) -> None:
    table = read_table(write_text(tmp_path / "h.csv", "推荐意愿,城市\n"))
    assert list(table.frame.columns) == ["推荐意愿", "城市"]
    assert len(table.frame) == 0
    assert [w.key for w in table.warnings] == ["reader.warn.no_rows"]


def test_header_names_are_stripped(tmp_path: Path) -> None:
    frame = read_table(write_text(tmp_path / "s.csv", " 推荐意愿 , 城市\n9,北京\n")).frame
    assert list(frame.columns) == ["推荐意愿", "城市"]


def test_trailing_delimiter_column_is_dropped_with_warning(tmp_path: Path) -> None:
    table = read_table(write_text(tmp_path / "t.csv", "a,b,\n1,2,\n3,4,\n"))
    assert list(table.frame.columns) == ["a", "b"]
    assert [w.key for w in table.warnings] == ["reader.warn.empty_column_dropped"]
    assert table.warnings[0].params["column"] == "3"


def test_sheet_option_on_csv_warns(tmp_path: Path) -> None:
    table = read_table(write_text(tmp_path / "a.csv", "a\n1\n"), sheet="x")
    assert [w.key for w in table.warnings] == ["reader.warn.sheet_ignored"]


# ---------------------------------------------------------------------------
# broken files


def test_ragged_row_too_few_fields(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.csv", "受访者,城市,推荐意愿\n1,北京,9\n2,上海\n3,广州,7\n")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.ragged_short"
    assert err.params["file"] == str(path)
    assert err.params["row"] == 3
    assert err.params["found"] == 2
    assert err.params["expected"] == 3
    assert err.params["column"] == "推荐意愿"
    assert_names(err, str(path), "line 3", "found 2 field(s)", "has 3 columns", '"推荐意愿"')
    assert_chinese(err, str(path))
    assert "第 3 行" in err.render("zh")


def test_ragged_row_too_many_fields_after_multiline_value(tmp_path: Path) -> None:
    # The quoted value spans lines 2-3, so the bad record starts on line 5.
    text = 'id;意见;评分\n1;"很好\n非常好";9\n2;一般;7\n3;差;2;多余\n'
    path = write_text(tmp_path / "r.csv", text)
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.ragged_long"
    assert err.params["row"] == 5
    assert err.params["found"] == 4
    assert err.params["column"] == "4"
    assert err.params["value"] == "多余"
    assert err.params["delimiter"] == ";"
    assert_names(err, str(path), "line 5", "column 4", '"多余"')
    assert_chinese(err, str(path))


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    path = write_text(tmp_path / "q.csv", '受访者,意见,评分\n1,"他说好,9\n2,一般,3\n3,差,4\n')
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.unclosed_quote"
    assert (err.params["row"], err.params["end_row"], err.params["column"]) == (2, 4, "意见")
    assert_names(err, str(path), "lines 2 to 4", "double quote", '"意见"')
    assert_chinese(err, str(path))


def test_blank_and_whitespace_only_lines_are_skipped(tmp_path: Path) -> None:
    path = write_text(tmp_path / "w.csv", "\n城市,评分\n北京,1\n   \n\n上海,2\n")
    table = read_table(path)
    assert table.header_row == 2
    assert table.frame["城市"].tolist() == ["北京", "上海"]


def test_parquet_keeps_a_named_index_as_a_column(tmp_path: Path) -> None:
    df = survey_frame().set_index("受访者")
    path = tmp_path / "i.parquet"
    df.to_parquet(path)
    frame = read_table(path).frame
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame["受访者"].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = write_bytes(tmp_path / "empty.csv", content)
    with pytest.raises(DataFileError) as info:
        read_table(path)
    assert info.value.key == "reader.empty"
    assert_names(info.value, str(path), "empty")
    assert_chinese(info.value, str(path))


def test_duplicate_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "d.csv", "城市,推荐意愿, 城市\n北京,9,上海\n")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.duplicate_header"
    assert err.params["row"] == 1
    assert err.params["column"] == "城市"
    assert err.params["positions"] == "1, 3"
    assert_names(err, str(path), "row 1", '"城市"', "columns 1, 3")
    assert_chinese(err, str(path))


def test_blank_header_with_data(tmp_path: Path) -> None:
    path = write_text(tmp_path / "b.csv", "城市,,推荐意愿\n北京,,9\n上海,x,7\n")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.blank_header"
    assert err.params["row"] == 1
    assert err.params["column"] == "2"
    assert err.params["value"] == "x"
    assert err.params["value_row"] == 3
    assert_names(err, str(path), "row 1", "column 2", '"x"')
    assert_chinese(err, str(path))


def test_xlsx_errors_use_spreadsheet_rows_and_letters(tmp_path: Path) -> None:
    dup = write_xlsx(
        tmp_path / "dup.xlsx", [["城市", "评分", "城市"], ["北京", 9, "上海"]], first_row=2
    )
    with pytest.raises(DataFileError) as info:
        read_table(dup)
    assert info.value.params["row"] == 3
    assert info.value.params["positions"] == "A, C"
    blank = write_xlsx(tmp_path / "blank.xlsx", [["城市", None, "评分"], ["北京", "x", 9]])
    with pytest.raises(DataFileError) as info:
        read_table(blank)
    assert info.value.params["column"] == "B"
    assert info.value.params["row"] == 1
    assert_names(info.value, str(blank), "column B")


def test_xlsx_header_below_blank_rows_sets_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "late.xlsx", [["推荐意愿"], [9], [10], ["很好"]], sheet="数据", first_row=3
    )
    table = read_table(path)
    assert table.header_row == 4
    with pytest.raises(DataFileError) as info:
        table.numeric("推荐意愿")
    assert info.value.params["row"] == 7  # header on spreadsheet row 4, "很好" on row 7
    assert info.value.params["value"] == "很好"


@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".xlsx", "xlsx"), (".parquet", "parquet"), (".sav", "sav")]
)
def test_corrupted_binary_files(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = write_bytes(
        tmp_path / f"broken{suffix}", b"PK\x03\x04 this is not really a file \x00\xff"
    )
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.corrupt"
    assert err.params["format"] == fmt
    assert_names(err, str(path), fmt, "damaged")
    assert_chinese(err, str(path))


def test_binary_file_with_csv_name(tmp_path: Path) -> None:
    real = tmp_path / "real.xlsx"
    survey_frame().to_excel(real, engine="xlsxwriter", index=False)
    path = write_bytes(tmp_path / "renamed.csv", real.read_bytes())
    with pytest.raises(DataFileError) as info:
        read_table(path)
    assert info.value.key == "reader.binary"
    assert_names(info.value, str(path), ".xlsx")
    assert_chinese(info.value, str(path))


def test_file_not_found_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataFileError) as info:
        read_table(missing)
    assert info.value.key == "reader.not_found"
    assert_names(info.value, str(missing), "not found")
    assert_chinese(info.value, str(missing))
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DataFileError) as info:
        read_table(folder)
    assert info.value.key == "reader.is_directory"
    assert_names(info.value, str(folder), "folder")
    assert_chinese(info.value, str(folder))


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "old.xls", b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    err = info.value
    assert err.key == "reader.unsupported"
    assert err.params["extension"] == ".xls"
    assert_names(err, str(path), ".xls", ".csv", ".xlsx", ".parquet", ".sav")
    assert_chinese(err, str(path))


def test_sheet_not_found(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", [["a"], [1]], sheet="问卷")
    for sheet in ("投诉", 3):
        with pytest.raises(DataFileError) as info:
            read_table(path, sheet=sheet)
        assert info.value.key == "reader.sheet_not_found"
        assert_names(info.value, str(path), str(sheet), "0: 问卷")


def test_errors_are_value_errors_not_raw_tracebacks(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.csv", "a,b\n1\n")
    with pytest.raises(ValueError, match=r"r\.csv, line 2"):
        read_table(path)


# ---------------------------------------------------------------------------
# require_columns and coerce_numeric


def test_require_columns() -> None:
    frame = pd.DataFrame({"推荐意愿": [9], "Region": ["北京"]})
    require_columns(frame, ["推荐意愿"])
    with pytest.raises(ColumnNotFoundError) as info:
        require_columns(frame, ["region", "q9"], file="s.csv")
    assert info.value.missing == ["region", "q9"]
    assert "'Region'" in str(info.value)
    assert info.value.params["file"] == "s.csv"


def test_coerce_numeric_nps_scale(tmp_path: Path) -> None:
    text = "id,推荐意愿\n1,9\n2,10\n3,\n4,无\n5,７\n6,11\n7,x\n"
    table = read_table(write_text(tmp_path / "nps.csv", text))
    with pytest.raises(DataFileError) as info:
        coerce_numeric(table.frame, "推荐意愿", file=table.path, allowed=(0, 10), integer=True)
    err = info.value
    # header line 1, ids 1..6 on lines 2..7: "11" (id 6) is on line 7
    assert err.params == {
        "file": str(table.path),
        "row": 7,
        "column": "推荐意愿",
        "value": "11",
        "low": "0",
        "high": "10",
        "expected": "a whole number from 0 to 10",
    }
    assert str(err) == (
        f'{table.path}, row 7, column "推荐意愿": found "11", expected a whole number from 0 to 10.'
    )
    assert (
        err.render("zh")
        == f"{table.path} 第 7 行，“推荐意愿”列：值为“11”，应为 0 到 10 之间的整数。"
    )
    good = table.frame.iloc[:5]
    values = coerce_numeric(good, "推荐意愿", allowed=(0, 10), integer=True)
    assert values.dtype == np.float64
    assert values.iloc[[0, 1, 4]].tolist() == [9.0, 10.0, 7.0]  # full-width ７ counts
    assert values.isna().tolist() == [False, False, True, True, False]


def test_coerce_numeric_first_problem_in_row_order() -> None:
    frame = pd.DataFrame({"q": ["1", "2.5", "abc", "99"]})
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame, "q", integer=True, allowed=(1, 5))
    assert info.value.params["row"] == 3
    assert info.value.params["value"] == "2.5"
    assert info.value.key == "reader.value.integer_range_nofile"
    assert info.value.params["file"] == "?"  # DataFileError's placeholder for "no file"
    assert str(info.value).startswith('Row 3, column "q"')
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame, "q")
    assert info.value.params["row"] == 4
    assert info.value.params["value"] == "abc"
    assert info.value.params["expected"] == "a number"
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame.iloc[[0, 1, 3]], "q", allowed=(0, 10))
    assert info.value.params["row"] == 5
    assert info.value.params["value"] == "99"
    assert info.value.params["expected"] == "a number from 0 to 10"


def test_coerce_numeric_keeps_file_rows_after_filtering(tmp_path: Path) -> None:
    text = "region,score\n北,1\n南,2\n北,3\n南,x\n"
    table = read_table(write_text(tmp_path / "f.csv", text))
    south = table.frame[table.frame["region"] == "南"]
    with pytest.raises(DataFileError) as info:
        coerce_numeric(south, "score", file=table.path)
    assert info.value.params["row"] == 5  # line 5 of the file, though the 2nd row of the subset


def test_coerce_numeric_on_numeric_columns() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.0], "c": [1.0, np.inf, 2.0]})
    assert coerce_numeric(frame, "a", integer=True).tolist() == [1.0, 2.0, 3.0]
    b = coerce_numeric(frame, "b", allowed=(0, 5))
    assert np.isnan(b.iloc[1])
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame, "b", integer=True)
    assert (info.value.params["row"], info.value.params["value"]) == (2, "0.5")
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame, "c")
    assert info.value.params["row"] == 3
    with pytest.raises(DataFileError):
        coerce_numeric(pd.DataFrame({"flag": [True, False]}), "flag")
    with pytest.raises(ColumnNotFoundError):
        coerce_numeric(frame, "z")
    with pytest.raises(ValidationError):
        coerce_numeric(frame, "a", allowed=(10, 0))


def test_coerce_numeric_non_integer_index_uses_position() -> None:
    frame = pd.DataFrame({"q": ["1", "bad"]}, index=["r1", "r2"])
    with pytest.raises(DataFileError) as info:
        coerce_numeric(frame, "q")
    assert info.value.params["row"] == 3


# ---------------------------------------------------------------------------
# properties

CJK_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=6
)
SAFE_CJK = CJK_TEXT.filter(lambda s: s.strip().casefold() not in MISSING_TOKENS)
COLUMN = st.one_of(
    st.lists(st.integers(min_value=-(2**53), max_value=2**53), min_size=1, max_size=8),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8),
    st.lists(SAFE_CJK, min_size=1, max_size=8),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n_cols = draw(st.integers(min_value=1, max_value=4))
    names = draw(st.lists(SAFE_CJK, min_size=n_cols, max_size=n_cols, unique=True))
    n_rows = draw(st.integers(min_value=1, max_value=8))
    data = {}
    for name in names:
        values = draw(COLUMN)
        data[name] = (values * n_rows)[:n_rows]
    frame = pd.DataFrame(data)
    for name in names:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("str")
    return frame


@given(frame=frames(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_any_frame_round_trips_through_csv(
    tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame, encoding: str
) -> None:
    path = tmp_path_factory.mktemp("prop") / "frame.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    table = read_table(path)
    assert table.encoding == encoding
    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False, check_exact=True)
    for name in frame.columns:
        if pd.api.types.is_integer_dtype(frame[name].dtype):
            assert pd.api.types.is_integer_dtype(table.frame[name].dtype)
        elif pd.api.types.is_float_dtype(frame[name].dtype):
            assert pd.api.types.is_float_dtype(table.frame[name].dtype)
        else:
            assert pd.api.types.is_string_dtype(table.frame[name].dtype)


@pytest.mark.parametrize("text", ["模\n1\n", "一业,为之\n1,2\n"])
def test_short_gbk_file_that_is_also_valid_utf8(tmp_path: Path, text: str) -> None:
    data = text.encode("gbk")
    data.decode("utf-8")  # the bytes are valid UTF-8 too: only plausibility can decide
    table = read_table(write_bytes(tmp_path / "tiny.csv", data))
    assert table.encoding == "gb18030"
    assert list(table.frame.columns) == text.splitlines()[0].split(",")


def test_utf8_european_text_stays_utf8(tmp_path: Path) -> None:
    table = read_table(write_text(tmp_path / "fr.csv", "café,crème\n1,2\n"))
    assert table.encoding == "utf-8"
    assert list(table.frame.columns) == ["café", "crème"]


# ---------------------------------------------------------------------------
# docs and speed


def test_docstring_examples_run() -> None:
    result = doctest.testmod(reader_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2
    assert result.failed == 0


@pytest.mark.slow
def test_million_row_csv_reads_in_seconds(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 1_000_000
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "城市": rng.choice(["北京", "上海", "广州", "深圳"], n),
            "推荐意愿": rng.integers(0, 11, n),
            "满意度": rng.integers(1, 6, n),
            "金额": rng.integers(0, 100_000, n) / 100,
        }
    )
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    start = time.perf_counter()
    table = read_table(path)
    elapsed = time.perf_counter() - start
    expect_frame(table.frame, df)
    assert elapsed < 10, f"reading 1,000,000 rows took {elapsed:.1f} s"


def test_whitespace_separated_text_is_read_as_columns(tmp_path: Path) -> None:
    # CDNOW_master.txt's layout: runs of spaces, leading spaces, CRLF line ends
    path = tmp_path / "log.txt"
    path.write_bytes(
        b" customer_id  date number_of_cds  dollar_value\r\n"
        b" 00001 19970101  1   11.77\r\n"
        b" 00002 19970112  5   77.00\r\n"
    )
    table = read_table(path)
    assert list(table.frame.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert table.frame["customer_id"].tolist() == ["00001", "00002"]
    assert table.frame["dollar_value"].tolist() == [11.77, 77.0]
    assert table.delimiter == " "


def test_one_column_of_two_word_text_stays_one_column(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("full name\nZhang San\nLi Si\n", encoding="utf-8")
    assert read_table(path).frame.columns.tolist() == ["full name"]


def test_ragged_whitespace_text_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    rows = "".join(f"{i}  1997010{i}  3.5\n" for i in range(1, 8))
    path.write_text("id  date  amount\n" + rows + "8  19970108\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    assert info.value.key == "reader.ragged_short"
    assert_names(info.value, "log.txt", "9")
