"""Every shipped survey template validates, has both languages, and is tagged for the analyses."""

from __future__ import annotations

import re

import pytest

from allegiance.methods import kano as kano_method
from allegiance.methods.servqual import ITEM_DIMENSIONS
from allegiance.pls.templates import load_model
from allegiance.survey import analysis
from allegiance.survey.definition import labels_of
from allegiance.survey.templates import load_template, template_names, templates_summary

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")

REQUIRED = {
    "calculation_standard",
    "ecsi",
    "acsi",
    "ccsi",
    "servqual",
    "kano",
    "nps",
    "ces",
    "airline",
    "hotel",
    "bank_branch",
    "employee",
    "mystery_shopper",
}


def test_the_required_templates_ship() -> None:
    assert set(template_names()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_template_validates_and_every_label_has_both_languages(name: str) -> None:
    d = load_template(name)
    labels = list(labels_of(d))
    assert len(labels) > 5
    for path, label in labels:
        assert label.en.strip(), path
        assert label.zh.strip(), path
        # the Chinese text is Chinese and the English text English
        assert CJK.search(label.zh), (path, label)
        assert not CJK.search(label.en), (path, label)
        assert LATIN.search(label.en), (path, label)
    assert d.template is not None
    assert d.template.name == name
    assert d.template.analyses


def test_summary_lists_every_template() -> None:
    names = [s.name for s in templates_summary()]
    assert names == template_names()


@pytest.mark.parametrize("model", ["ecsi", "acsi", "ccsi"])
def test_index_templates_tag_the_model_constructs_and_items(model: str) -> None:
    spec = load_model(model)
    d = load_template(model)
    expected = {c.name: list(c.items) for c in spec.constructs}
    assert analysis.pls_items(d) == expected
    assert all(q.type == "likert" and q.points == 10 for q in d.questions())


def test_calculation_standard_tags_every_factor_of_the_hierarchy() -> None:
    from allegiance.methods.ahp import load_hierarchy
    from allegiance.templates import template_path

    hierarchy = load_hierarchy(template_path("hierarchies", "calculation_standard"))
    leaves = [n.id for n in hierarchy.leaves()]
    columns = analysis.csi_columns(load_template("calculation_standard"))
    assert len(columns) == 14
    assert all(col == f"cs_{factor}" for factor, col in columns.items())
    assert sorted(columns) == sorted(leaves)


def test_servqual_template_is_the_22_items_in_order() -> None:
    inputs = analysis.servqual_inputs(load_template("servqual"))
    assert inputs["expectation"] == [f"sq_e{i:02d}" for i in range(1, 23)]
    assert inputs["perception"] == [f"sq_p{i:02d}" for i in range(1, 23)]
    assert inputs["dimensions"] == list(ITEM_DIMENSIONS)
    assert set(inputs["importance"]) == set(ITEM_DIMENSIONS)
    d = load_template("servqual")
    reversed_items = sorted(q.item for q in d.questions() if q.type == "servqual" and q.reverse)
    assert reversed_items == [10, 11, 12, 13, 18, 19, 20, 21, 22]


def test_kano_template_columns_are_found_by_the_kano_method() -> None:
    d = load_template("kano")
    columns = [c.column for c in analysis.column_info(d)]
    assert kano_method.find_pairs(columns) == analysis.kano_pairs(d)
    assert set(analysis.kano_importance(d)) == set(analysis.kano_pairs(d))
