"""The section registry and build_report: ordering, timing, errors, flattening."""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from allegiance.errors import AllegianceError, ValidationError
from allegiance.i18n import Message
from allegiance.reports import registry
from allegiance.reports.registry import (
    ColumnFormat,
    KeyFigure,
    ProgressEvent,
    Section,
    SectionOutput,
    build_report,
    get_section,
    isolated_registry,
    register_section,
    registered,
    sections,
    unregister_section,
)


def _empty(_ctx: Any) -> SectionOutput:
    return SectionOutput()


def test_sections_are_sorted_by_order_then_id() -> None:
    a = Section(id="b_late", title_key="x", order=50, build=_empty)
    b = Section(id="a_early", title_key="x", order=5, build=_empty)
    c = Section(id="a_late", title_key="x", order=50, build=_empty)
    with isolated_registry(a, b, c):
        assert [s.id for s in sections()] == ["a_early", "a_late", "b_late"]


def test_duplicate_section_id_is_an_error() -> None:
    first = Section(id="dup", title_key="x", order=1, build=_empty)
    second = Section(id="dup", title_key="y", order=2, build=_empty)
    with isolated_registry(first), pytest.raises(ValidationError, match="already registered"):
        register_section(second)


def test_registered_is_temporary_and_isolated_registry_restores() -> None:
    before = [s.id for s in sections()]
    temp = Section(id="temp_section", title_key="x", order=1, build=_empty)
    with registered(temp):
        assert get_section("temp_section") is temp
    assert "temp_section" not in [s.id for s in sections()]
    with isolated_registry():
        assert sections() == []
        register_section(temp)
    assert [s.id for s in sections()] == before


def test_registered_cleans_up_when_the_block_raises() -> None:
    temp = Section(id="temp_raise", title_key="x", order=1, build=_empty)
    with pytest.raises(RuntimeError), registered(temp):
        raise RuntimeError("boom")
    with pytest.raises(ValidationError, match="Unknown report section"):
        get_section("temp_raise")


def test_unregister_unknown_section_names_the_registered_ones(
    example_sections: tuple[Section[Any], ...],
) -> None:
    with pytest.raises(ValidationError, match="example, failing, other"):
        unregister_section("nope")
    unregister_section("other")
    assert [s.id for s in sections()] == ["example", "failing"]


@pytest.mark.parametrize("bad", ["", "a.b", "has space", "é", "-lead"])
def test_section_and_figure_ids_are_checked(bad: str) -> None:
    with pytest.raises(ValidationError, match="Invalid section id"):
        Section(id=bad, title_key="x", order=1, build=_empty)
    with pytest.raises(ValidationError, match="Invalid figure id"):
        KeyFigure(bad, "x", 1.0)


def test_key_figure_validation_and_normalisation() -> None:
    with pytest.raises(ValidationError, match="Unknown figure kind"):
        KeyFigure("a", "x", 1.0, kind="ratio")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="decimals"):
        KeyFigure("a", "x", 1.0, digits=-1)
    with pytest.raises(ValidationError, match="value of type list"):
        KeyFigure("a", "x", [1.0])  # type: ignore[arg-type]
    f = KeyFigure("a", "x", np.float64(0.1))
    assert type(f.value) is float
    assert f.value == 0.1
    i = KeyFigure("b", "x", np.int64(2**40 + 1))
    assert type(i.value) is int
    assert i.value == 2**40 + 1
    assert KeyFigure("c", "x", float("nan")).value is None
    assert KeyFigure("d", "x", float("inf")).value is None


def test_section_output_ids_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="used twice"):
        SectionOutput(figures=(KeyFigure("a", "x", 1), KeyFigure("a", "y", 2)))
    with pytest.raises(ValidationError, match="Unknown figure kind"):
        ColumnFormat(kind="bogus")  # type: ignore[arg-type]


def test_build_report_runs_every_section_in_order(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    report = build_report(ctx, lang="en")
    assert [s.id for s in report.sections] == ["example", "failing", "other"]
    assert ctx.calls == ["example", "failing", "other"]
    assert report.lang == "en"
    assert report.title == "Customer satisfaction and loyalty report"
    assert report.generated_at.tzinfo is not None


def test_figures_flatten_section_and_figure_ids(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    report = build_report(ctx, lang="en")
    figs = report.figures()
    scores = ctx.scores["score"]
    assert figs["example.n"] == len(ctx.scores)
    assert figs["example.mean"] == float(scores.mean())
    assert figs["example.top_share"] == float((scores == 10).mean())
    assert figs["example.missing"] is None
    assert figs["other.ratio"] == 1 / 3
    assert not any(k.startswith("failing.") for k in figs)
    assert list(report.tables()) == ["example.by_segment"]


def test_one_failing_section_does_not_stop_the_others(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    report = build_report(ctx, lang="en")
    by_id = {s.id: s for s in report.sections}
    failing = by_id["failing"]
    assert not failing.ok
    assert failing.error is not None
    assert failing.error.key == "error.input"
    assert failing.output.figures == ()
    assert by_id["example"].ok
    assert by_id["other"].ok
    assert by_id["other"].output.figures[0].value == 1 / 3
    assert any(w.key == "report.section_failed" for w in report.warnings)


def test_other_exceptions_propagate(ctx: Any) -> None:
    def broken(_ctx: Any) -> SectionOutput:
        raise KeyError("a bug, not bad data")

    section = Section(id="broken", title_key="x", order=1, build=broken)
    with pytest.raises(KeyError, match="a bug"):
        build_report(ctx, lang="en", sections=[section])


def test_a_build_returning_the_wrong_type_is_a_bug(ctx: Any) -> None:
    section = Section(id="wrong", title_key="x", order=1, build=lambda _ctx: {"a": 1})
    with pytest.raises(TypeError, match="expected SectionOutput"):
        build_report(ctx, lang="en", sections=[section])


def test_compute_time_is_measured_per_section(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    start = time.perf_counter()
    report = build_report(ctx, lang="en")
    wall = time.perf_counter() - start
    by_id = {s.id: s for s in report.sections}
    # other_build sleeps 20 ms; perf_counter is monotonic, so its time is at least that.
    assert by_id["other"].seconds >= 0.02
    assert all(s.seconds >= 0 for s in report.sections)
    assert report.seconds == pytest.approx(sum(s.seconds for s in report.sections))
    assert report.seconds <= wall


def test_select_sections_by_id_and_unknown_ids(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    report = build_report(ctx, lang="en", sections=["other", "example"])
    assert [s.id for s in report.sections] == ["example", "other"]
    with pytest.raises(ValidationError, match=r"Unknown report section 'nope'|nope"):
        build_report(ctx, lang="en", sections=["nope"])
    with pytest.raises(ValidationError, match="used twice"):
        build_report(ctx, lang="en", sections=["other", example_sections[2]])


def test_progress_is_told_before_and_after_each_section(
    example_sections: tuple[Section[Any], ...], ctx: Any
) -> None:
    events: list[ProgressEvent] = []
    build_report(ctx, lang="zh", progress=events.append)
    assert [(e.section_id, e.done) for e in events] == [
        ("example", False),
        ("example", True),
        ("failing", False),
        ("failing", True),
        ("other", False),
        ("other", True),
    ]
    assert {e.total for e in events} == {3}
    assert events[0].title == "示例章节"
    assert all(e.seconds is not None and e.seconds >= 0 for e in events if e.done)


def test_language_comes_from_argument_then_context(
    example_sections: tuple[Section[Any], ...], make_ctx: Any
) -> None:
    zh_ctx = make_ctx(lang="zh_CN.UTF-8")
    assert build_report(zh_ctx).lang == "zh"
    assert build_report(zh_ctx, lang="en").lang == "en"
    assert build_report(zh_ctx).sections[0].title == "示例章节"
    with pytest.raises(AllegianceError, match="Unknown language"):
        build_report(zh_ctx, lang="fr")


def test_to_dict_is_json_safe(example_sections: tuple[Section[Any], ...], ctx: Any) -> None:
    report = build_report(ctx, lang="en")
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["figures"] == report.figures()
    failing = next(s for s in data["sections"] if s["id"] == "failing")
    assert failing["error"]["code"] == "error.input"
    example = next(s for s in data["sections"] if s["id"] == "example")
    assert len(example["tables"]["by_segment"]) == len(report.tables()["example.by_segment"])


def test_register_rejects_non_sections() -> None:
    with isolated_registry(), pytest.raises(ValidationError, match="Expected a report Section"):
        register_section("example")  # type: ignore[arg-type]


def test_load_sections_imports_section_modules_and_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "sections"
    folder.mkdir()
    (folder / "demo_section.py").write_text(
        "from allegiance.reports.registry import Section, SectionOutput, register_section\n"
        "register_section(Section(id='demo', title_key='x', order=1,"
        " build=lambda ctx: SectionOutput()))\n",
        encoding="utf-8",
    )
    (folder / "_private.py").write_text("raise RuntimeError('must not be imported')\n")
    package = types.ModuleType("allegiance.reports.sections")
    package.__path__ = [str(folder)]
    monkeypatch.setitem(sys.modules, "allegiance.reports.sections", package)

    plugin_calls: list[str] = []

    class FakeEntryPoint:
        value = "other_pkg.report:register"

        def load(self) -> Any:
            def register() -> None:
                plugin_calls.append("called")
                register_section(Section(id="plugin", title_key="x", order=2, build=_empty))

            return register

    monkeypatch.setattr(
        registry.metadata,
        "entry_points",
        lambda *, group: [FakeEntryPoint()] if group == registry.ENTRY_POINT_GROUP else [],
    )
    try:
        with isolated_registry():
            loaded = registry.load_sections()
            assert loaded == [
                "allegiance.reports.sections.demo_section",
                "other_pkg.report:register",
            ]
            assert [s.id for s in sections()] == ["demo", "plugin"]
            assert plugin_calls == ["called"]
    finally:
        sys.modules.pop("allegiance.reports.sections.demo_section", None)


def test_message_titles_are_accepted_for_figures(example_texts: None) -> None:
    f = KeyFigure("a", Message("report.example.warning", {"segment": "VIP", "n": 3}), 1.5)
    assert registry.text(f.label_key, "zh") == "细分 VIP 只有 3 份答卷。"
    assert registry.text(f.label_key, "en") == "Segment VIP has only 3 answers."
