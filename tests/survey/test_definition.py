"""Survey definitions: every question type, the errors (file, line, path, both languages), schema."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.survey._defs import minimal, options, q, text

from allegiance.errors import ConfigError
from allegiance.survey import definition as D
from allegiance.survey.definition import (
    DefinitionError,
    load_definition,
    parse_definition,
    survey_schema,
)

CJK = re.compile(r"[\u4e00-\u9fff]")

#: One valid question of every type, with the answer columns it must export.
VALID: dict[str, tuple[dict[str, Any], list[str]]] = {
    "five_level": (q("sat", "five_level", factor="reliability", measures="satisfaction"), ["sat"]),
    "likert": (
        q("l", "likert", points=10, anchors={"low": text("low"), "high": text("high")}),
        ["l"],
    ),
    "likert_scale": (q("rep", "likert", scale="repurchase"), ["rep"]),
    "likert_labels": (
        q("agree", "likert", points=3, labels=[text("a"), text("b"), text("c")]),
        ["agree"],
    ),
    "nps": (q("rec", "nps", measures="recommend"), ["rec"]),
    "ces": (q("effort", "ces"), ["effort"]),
    "ces5": (q("effort5", "ces", variant="effort5"), ["effort5"]),
    "stars": (q("st", "stars", points=7), ["st"]),
    "emoji": (q("face", "emoji", faces=3, allow_na=True), ["face"]),
    "importance": (q("imp", "importance", kano_feature="wifi"), ["kano_wifi_imp"]),
    "kano": (
        q(
            "k",
            "kano",
            kano_feature="wifi",
            functional=text("with?"),
            dysfunctional=text("without?"),
        ),
        ["kano_wifi_func", "kano_wifi_dysf"],
    ),
    "servqual": (
        q(
            "s1",
            "servqual",
            item=1,
            dimension="tangibles",
            expectation=text("E"),
            perception=text("P"),
        ),
        ["sq_e01", "sq_p01"],
    ),
    "servqual_zone": (
        q("z", "servqual_zone", adequate=text("A"), desired=text("D"), perceived=text("P")),
        ["z_a", "z_d", "z_p"],
    ),
    "allocation": (
        q("pts", "allocation", options=options("a", "b", "c")),
        ["pts_a", "pts_b", "pts_c"],
    ),
    "ahp": (
        q("w", "ahp", criteria=options("a", "b", "c")),
        ["w__a__b", "w__a__c", "w__b__c", "w__w__a", "w__w__b", "w__w__c", "w__cr"],
    ),
    "single": (
        q("ch", "single", options=options("x", "y", "z", z={"other": True, "score": 1})),
        ["ch", "ch_other", "ch_score"],
    ),
    "multiple": (
        q(
            "why",
            "multiple",
            max_choices=2,
            options=options("x", "y", "none", none={"exclusive": True}),
        ),
        ["why"],
    ),
    "text": (q("comment", "text", required=False, max_length=100), ["comment"]),
}


@pytest.mark.parametrize("case", sorted(VALID))
def test_every_question_type_is_valid_and_exports_its_columns(case: str) -> None:
    question, columns = VALID[case]
    d = parse_definition(minimal(question))
    (only,) = d.questions()
    assert only.type == question["type"]
    assert D.analysis_columns(only) == columns


def test_all_question_types_are_covered() -> None:
    assert {v[0]["type"] for v in VALID.values()} == set(D.QUESTION_TYPES)


def test_round_trip_through_to_data_keeps_everything() -> None:
    d = parse_definition(minimal(*(v[0] for v in VALID.values())))
    again = parse_definition(d.to_data())
    assert again == d
    assert parse_definition(d.to_yaml()) == d


def _issues(data: Any) -> list[D.DefinitionIssue]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    return list(info.value.issues)


# (question or definition change, expected path, expected key)
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "missing zh",
        q("a", "nps") | {"text": {"en": "How likely?"}},
        "pages[0].questions[0].text",
        "survey.def.label_missing",
    ),
    (
        "plain text label",
        q("a", "nps") | {"text": "How likely?"},
        "pages[0].questions[0].text",
        "survey.def.label_one_language",
    ),
    (
        "empty en",
        q("a", "nps") | {"text": {"en": " ", "zh": "是"}},
        "pages[0].questions[0].text",
        "survey.def.label_empty",
    ),
    ("unknown type", q("a", "npss"), "pages[0].questions[0].type", "survey.def.bad_type"),
    ("no type", {"id": "a", "text": text("x")}, "pages[0].questions[0]", "survey.def.no_type"),
    (
        "unknown field",
        q("a", "nps", txt=text("x")),
        "pages[0].questions[0].txt",
        "survey.def.unknown_field_hint",
    ),
    ("bad id", q("1a", "nps"), "pages[0].questions[0].id", "survey.def.bad_id"),
    ("likert without points", q("a", "likert"), "pages[0].questions[0]", "survey.def.need_points"),
    (
        "likert 12 points",
        q("a", "likert", points=12),
        "pages[0].questions[0].points",
        "survey.def.too_large",
    ),
    (
        "labels count",
        q("a", "likert", points=4, labels=[text("x")]),
        "pages[0].questions[0].labels",
        "survey.def.labels_count",
    ),
    (
        "unknown scale",
        q("a", "likert", scale="nope"),
        "pages[0].questions[0].scale",
        "survey.def.unknown_scale",
    ),
    (
        "points vs scale",
        q("a", "likert", scale="repurchase", points=5),
        "pages[0].questions[0].points",
        "survey.def.points_scale",
    ),
    (
        "emoji 4 faces",
        q("a", "emoji", faces=4),
        "pages[0].questions[0].faces",
        "survey.def.bad_choice",
    ),
    (
        "kano without dysfunctional",
        q("a", "kano", functional=text("f")),
        "pages[0].questions[0].dysfunctional",
        "survey.def.missing",
    ),
    (
        "servqual item 0",
        q("a", "servqual", item=0, expectation=text("e"), perception=text("p")),
        "pages[0].questions[0].item",
        "survey.def.too_small",
    ),
    (
        "allocation one option",
        q("a", "allocation", options=options("x")),
        "pages[0].questions[0].options",
        "survey.def.too_few",
    ),
    (
        "ahp ten criteria",
        q("a", "ahp", criteria=options(*"abcdefghij")),
        "pages[0].questions[0].criteria",
        "survey.def.too_many",
    ),
    (
        "ahp threshold 0",
        q("a", "ahp", criteria=options("x", "y"), cr_threshold=0),
        "pages[0].questions[0].cr_threshold",
        "survey.def.too_small",
    ),
    (
        "duplicate option",
        q("a", "single", options=options("x", "x")),
        "pages[0].questions[0].options[1].code",
        "survey.def.duplicate_code",
    ),
    (
        "other on allocation",
        q("a", "allocation", options=options("x", "y", y={"other": True})),
        "pages[0].questions[0].options[1].other",
        "survey.def.other_not_here",
    ),
    (
        "exclusive on single",
        q("a", "single", options=options("x", "y", y={"exclusive": True})),
        "pages[0].questions[0].options[1].exclusive",
        "survey.def.exclusive_not_here",
    ),
    (
        "two other options",
        q("a", "multiple", options=options("x", "y", x={"other": True}, y={"other": True})),
        "pages[0].questions[0].options",
        "survey.def.many_other",
    ),
    (
        "max choices",
        q("a", "multiple", max_choices=3, options=options("x", "y")),
        "pages[0].questions[0].max_choices",
        "survey.def.max_choices",
    ),
    (
        "min over max",
        q("a", "multiple", min_choices=2, max_choices=1, options=options("x", "y")),
        "pages[0].questions[0].min_choices",
        "survey.def.min_choices",
    ),
    (
        "show_if syntax",
        q("a", "nps", show_if="x = 1"),
        "pages[0].questions[0].show_if",
        "survey.def.show_if_syntax",
    ),
    (
        "show_if unknown",
        q("a", "nps", show_if="nope > 1"),
        "pages[0].questions[0].show_if",
        "survey.def.show_if_unknown",
    ),
    (
        "show_if itself",
        q("a", "nps", show_if="a > 1"),
        "pages[0].questions[0].show_if",
        "survey.def.show_if_later",
    ),
    ("reserved column", q("wave", "nps"), "pages[0].questions[0]", "survey.def.reserved_column"),
    (
        "importance of unknown",
        q("a", "importance", of="nope"),
        "pages[0].questions[0].of",
        "survey.def.unknown_of",
    ),
]


@pytest.mark.parametrize(("case", "question", "path", "key"), INVALID, ids=[c[0] for c in INVALID])
def test_an_invalid_question_is_named_by_path_and_reason(
    case: str, question: dict[str, Any], path: str, key: str
) -> None:
    issues = _issues(minimal(question))
    assert [(i.path, i.key) for i in issues] == [(path, key)], case
    issue = issues[0]
    en, zh = issue.render("en"), issue.render("zh")
    assert path in en
    assert path in zh
    assert CJK.search(zh)
    assert not CJK.search(en.replace(str(issue.params.get("value", "")), ""))


def test_the_missing_language_is_named() -> None:
    (issue,) = _issues(minimal(q("a", "nps") | {"text": {"zh": "推荐？"}}))
    assert issue.params == {"lang": "en"}
    assert "no en text" in issue.render("en")
    assert "缺少 en 文字" in issue.render("zh")


def test_cross_question_checks() -> None:
    data = minimal(
        q("a", "nps"),
        q("a", "nps"),
        q("b", "kano", kano_feature="f", functional=text("f"), dysfunctional=text("d")),
        q("c", "kano", kano_feature="f", functional=text("f"), dysfunctional=text("d")),
        q("d_other", "text"),
        q("d", "single", options=options("x", "o", o={"other": True})),
        q("e", "nps", show_if="b.perception == 1 or zz == 1"),
        q("f", "text", show_if="sat > 2", required=False),
    )
    found = {(i.path, i.key) for i in _issues(data)}
    assert ("pages[0].questions[1].id", "survey.def.duplicate_question") in found
    assert ("pages[0].questions[3]", "survey.def.duplicate_feature") in found
    assert ("pages[0].questions[3]", "survey.def.duplicate_column") in found  # kano_f_func again
    assert ("pages[0].questions[5]", "survey.def.duplicate_column") in found  # d_other twice
    assert ("pages[0].questions[6].show_if", "survey.def.show_if_part") in found
    assert ("pages[0].questions[6].show_if", "survey.def.show_if_unknown") in found
    assert ("pages[0].questions[7].show_if", "survey.def.show_if_unknown") in found


def test_show_if_may_not_look_at_the_same_randomised_page() -> None:
    data = {
        "code": "t",
        "title": text("T"),
        "pages": [
            {"id": "p1", "questions": [q("a", "nps")]},
            {
                "id": "p2",
                "randomize": True,
                "questions": [q("b", "nps"), q("c", "nps", show_if="b > 5 and a > 5")],
            },
            {"id": "p3", "show_if": "c >= 0 and d == 1", "questions": [q("d", "nps")]},
        ],
    }
    found = [(i.path, i.key, i.params.get("question")) for i in _issues(data)]
    assert found == [
        ("pages[1].questions[1].show_if", "survey.def.show_if_random", "b"),
        ("pages[2].show_if", "survey.def.show_if_later", "d"),
    ]


def test_errors_carry_the_yaml_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "code: t\n"  # 1
        "title: {en: T, zh: 问卷}\n"  # 2
        "pages:\n"  # 3
        "  - id: p1\n"  # 4
        "    questions:\n"  # 5
        "      - id: a\n"  # 6
        "        type: nps\n"  # 7
        "        text: {en: Recommend}\n"  # 8
        "      - id: b\n"  # 9
        "        type: text\n"  # 10
        "        text: {en: Why, zh: 为什么}\n"  # 11
        "        show_if: a <= 6 and c == 1\n"  # 12
        "        colour: red\n",  # 13
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    issues = info.value.issues
    assert [(i.line, i.path, i.question) for i in issues] == [
        (8, "pages[0].questions[0].text", "a"),
        (13, "pages[0].questions[1].colour", "b"),
    ]
    assert all(i.file == str(path) for i in issues)
    message = info.value.render("en")
    assert f"{path}, line 8, pages[0].questions[0].text (a)" in message
    assert "第 13 行" in info.value.render("zh")
    # once the structure is right, the skip-logic error is found with its line
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("{en: Recommend}", "{en: Recommend, zh: 推荐}")
        .replace("        colour: red\n", ""),
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    (issue,) = info.value.issues
    assert (issue.line, issue.path, issue.key) == (
        12,
        "pages[0].questions[1].show_if",
        "survey.def.show_if_unknown",
    )
    assert issue.params["column"] == 12  # "a <= 6 and c == 1": c is the 12th character


def test_yaml_syntax_and_duplicate_keys_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("code: t\ntitle: {en: T, zh: 问卷\npages: []\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert info.value.issues[0].key == "survey.def.yaml"
    path.write_text("code: t\ncode: u\ntitle: {en: T, zh: 问卷}\npages: []\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert info.value.issues[0].key == "survey.def.yaml"
    assert info.value.issues[0].line == 2
    with pytest.raises(ConfigError) as missing:
        load_definition(tmp_path / "nope.yaml")
    assert missing.value.key == "survey.def.no_file"


def test_a_definition_that_is_not_a_mapping() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition("- just\n- a list\n")
    assert info.value.issues[0].key == "survey.def.not_mapping"


def test_definition_error_is_a_config_error_in_both_languages() -> None:
    with pytest.raises(ConfigError) as info:
        parse_definition(minimal(q("a", "nope")), source="mine.yaml")
    assert info.value.render("en").startswith("The survey definition mine.yaml has 1 problem(s):")
    assert info.value.render("zh").startswith("问卷定义 mine.yaml 有 1 处问题：")


# --------------------------------------------------------------------------------- schema


def test_the_shipped_schema_is_the_generated_one() -> None:
    hint = "regenerate: allegiance survey schema > src/allegiance/survey/survey.schema.json"
    assert D.shipped_schema() == json.loads(D.schema_text()), hint
    assert D.shipped_schema() == json.loads(json.dumps(survey_schema()))


def test_the_schema_is_valid_and_agrees_with_the_models() -> None:
    schema = survey_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = minimal(*(v[0] for v in VALID.values()))
    assert list(validator.iter_errors(good)) == []
    bad = copy.deepcopy(good)
    bad["pages"][0]["questions"][0]["text"] = {"en": "only English"}
    assert list(validator.iter_errors(bad))
    bad = copy.deepcopy(good)
    bad["pages"][0]["questions"][0]["type"] = "nope"
    assert list(validator.iter_errors(bad))


def test_choices_of_the_scales() -> None:
    d = parse_definition(minimal(*(v[0] for v in VALID.values())))
    assert [c.value for c in D.choices(d.question("sat"))] == [5, 4, 3, 2, 1]
    assert D.choices(d.question("sat"))[0].label.zh == "很满意"
    assert [c.value for c in D.choices(d.question("rec"))] == list(range(11))
    assert [c.value for c in D.choices(d.question("effort"))] == list(range(1, 8))
    assert [c.value for c in D.choices(d.question("effort5"))] == list(range(1, 6))
    assert [c.value for c in D.choices(d.question("st"))] == list(range(1, 8))
    assert [c.value for c in D.choices(d.question("face"))] == [1, 2, 3]
    assert [c.value for c in D.choices(d.question("rep"))] == [1, 2, 3]
    assert D.choices(d.question("rep"))[2].label.zh == "70%以上"
    assert [c.label.en for c in D.choices(d.question("agree"))] == ["a", "b", "c"]
    assert [c.value for c in D.choices(d.question("k"))] == [1, 2, 3, 4, 5]
    assert D.choices(d.question("l"))[0].label.en == "1 low"


def test_labels_of_walks_every_label() -> None:
    d = parse_definition(minimal(*(v[0] for v in VALID.values())))
    paths = dict(D.labels_of(d))
    assert "title" in paths
    assert "pages[0].questions[10].functional" in paths
    assert "pages[0].questions[16].options[2].label" in paths


def test_yaml_of_a_definition_keeps_aliases_out(tmp_path: Path) -> None:
    d = parse_definition(minimal(q("a", "nps")))
    assert "&" not in d.to_yaml()
    assert yaml.safe_load(d.to_yaml())["pages"][0]["questions"][0]["type"] == "nps"
