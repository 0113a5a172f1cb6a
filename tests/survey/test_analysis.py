"""From stored answers to analysis tables: column names, reversal, AHP weights; the methods run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from tests.survey._defs import minimal, options, q, text

from allegiance.methods.ahp import ahp
from allegiance.methods.csi import csi
from allegiance.methods.servqual import servqual
from allegiance.survey import analysis
from allegiance.survey.definition import parse_definition
from allegiance.survey.templates import load_template

D = parse_definition(
    minimal(
        q("sat", "five_level", factor="speed"),
        q("neg", "likert", points=7, reverse=True, construct="Quality"),
        q("pos", "likert", points=7, construct="Quality"),
        q("face", "emoji", allow_na=True),
        q("k", "kano", kano_feature="wifi", functional=text("f"), dysfunctional=text("d")),
        q("kimp", "importance", kano_feature="wifi"),
        q(
            "s",
            "servqual",
            item=3,
            dimension="empathy",
            reverse=True,
            expectation=text("e"),
            perception=text("p"),
        ),
        q("pts", "allocation", options=options("a", "b")),
        q("w", "ahp", criteria=options("a", "b", "c")),
        q(
            "ch",
            "single",
            options=options("yes", "no", "o", yes={"score": 1}, no={"score": 0}, o={"other": True}),
        ),
        q("why", "multiple", options=options("x", "y", "z")),
        q("note", "text", required=False),
    )
)

ROWS = [
    {
        "sat": 5,
        "neg": 2,
        "pos": 6,
        "face": "na",
        "k": {"functional": 1, "dysfunctional": 5},
        "kimp": 4,
        "s": {"expectation": 2, "perception": 3},
        "pts": {"a": 70, "b": 30},
        "w": {"a:b": 3.0, "a:c": 5.0, "b:c": 2.0},
        "ch": "o",
        "ch.other": "maybe",
        "why": ["x", "z"],
        "note": "好",
    },
    {"sat": 1, "ch": "yes", "why": []},
]


def test_columns_and_values() -> None:
    frame = analysis.analysis_frame(D, ROWS)
    assert list(frame.columns) == [c.column for c in analysis.column_info(D)]
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["sat"] == 5
    assert first["pos"] == 6
    assert first["neg"] == 6  # reverse-keyed on 1-7: 8 - 2
    assert math.isnan(first["face"])  # "not applicable" is missing
    assert (first["kano_wifi_func"], first["kano_wifi_dysf"], first["kano_wifi_imp"]) == (1, 5, 4)
    assert (first["sq_e03"], first["sq_p03"]) == (6, 5)  # the pair reversed too
    assert (first["pts_a"], first["pts_b"]) == (70, 30)
    assert first["ch"] == "o"
    assert first["ch_other"] == "maybe"
    assert math.isnan(first["ch_score"])
    assert second["ch_score"] == 1
    assert first["why"] == "x;z"
    assert pd.isna(second["why"])
    assert first["note"] == "好"
    assert second[["neg", "pos", "kano_wifi_func", "pts_a", "w__a__b", "w__cr"]].isna().all()


def test_servqual_item_numbers_name_the_columns() -> None:
    d = parse_definition(
        minimal(q("s", "servqual", item=3, expectation=text("e"), perception=text("p")))
    )
    assert list(
        analysis.analysis_frame(d, [{"s": {"expectation": 7, "perception": 1}}]).columns
    ) == ["sq_e03", "sq_p03"]


def test_ahp_columns_match_the_method() -> None:
    frame = analysis.analysis_frame(D, ROWS)
    reference = ahp({("a", "b"): 3, ("a", "c"): 5, ("b", "c"): 2}, labels=["a", "b", "c"])
    got = frame.loc[0, ["w__w__a", "w__w__b", "w__w__c"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, reference.weights, rtol=1e-9)
    assert frame.loc[0, "w__cr"] == pytest.approx(reference.cr)
    assert frame.loc[0, "w__a__c"] == 5.0


def test_a_responses_frame_with_meta_columns() -> None:
    stored = pd.DataFrame(
        {
            "survey": ["t", "t"],
            "wave": ["w1", "w1"],
            "respondent_key": ["r1", "r2"],
            "customer_id": ["c1", None],
            "submitted_at": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True),
            "sat": [5, 1],
            "k": [{"functional": 2, "dysfunctional": 5}, None],
        }
    )
    frame = analysis.analysis_frame(D, stored)
    assert list(frame.columns[:4]) == ["wave", "respondent_key", "customer_id", "submitted_at"]
    assert frame["kano_wifi_func"].tolist()[0] == 2
    assert next(iter(analysis.analysis_frame(D, stored, meta=False).columns)) == "sat"


def test_tag_mappings() -> None:
    assert analysis.pls_items(D) == {"Quality": ["neg", "pos"]}
    assert analysis.csi_columns(D) == {"speed": "sat"}
    assert analysis.kano_pairs(D) == {"wifi": ("kano_wifi_func", "kano_wifi_dysf")}
    assert analysis.kano_importance(D) == {"wifi": "kano_wifi_imp"}
    table = analysis.column_table(D)
    assert bool(table.loc[table["column"] == "neg", "reverse"].item())
    assert not bool(table.loc[table["column"] == "pos", "reverse"].item())
    assert set(table.columns) >= {
        "column",
        "question",
        "question_type",
        "answer_part",
        "construct",
        "low",
        "high",
    }


def test_calculation_standard_answers_give_the_index_of_the_spec_formula() -> None:
    # every factor answered "satisfied" (4 of 5): DC_i = 4/5 for every factor, so CSI = 0.8
    # whatever the AHP weights (SPEC section 4: CSI = sum C_i DC_i with sum C_i = 1)
    d = load_template("calculation_standard")
    rows = [dict.fromkeys(analysis.csi_columns(d).values(), 4) for _ in range(40)]
    frame = analysis.analysis_frame(d, rows)
    from allegiance.methods.ahp import analyze, load_hierarchy
    from allegiance.templates import template_path

    hierarchy = analyze(load_hierarchy(template_path("hierarchies", "calculation_standard")))
    result = csi(frame, hierarchy=hierarchy, n_boot=0)
    assert result.csi == pytest.approx(0.8)


def test_servqual_answers_reverse_the_negative_items() -> None:
    # positively worded items: E 6, P 5; negatively worded (1988 items 10-13, 18-22): E 2, P 3,
    # which reversed (8 - x) are E 6, P 5 too, so every gap is -1
    d = load_template("servqual")
    rows = []
    for _ in range(5):
        row = {}
        for question in d.questions():
            if question.type == "servqual":
                row[question.id] = (
                    {"expectation": 2, "perception": 3}
                    if question.reverse
                    else {"expectation": 6, "perception": 5}
                )
        row["sq_imp"] = {
            "tangibles": 20,
            "reliability": 30,
            "responsiveness": 20,
            "assurance": 15,
            "empathy": 15,
        }
        rows.append(row)
    frame = analysis.analysis_frame(d, rows)
    inputs = analysis.servqual_inputs(d)
    result = servqual(
        frame,
        expectation=inputs["expectation"],
        perception=inputs["perception"],
        dimensions=inputs["dimensions"],
        importance=inputs["importance"],
    )
    assert result.gaps == pytest.approx(dict.fromkeys(inputs["importance"], -1.0))
