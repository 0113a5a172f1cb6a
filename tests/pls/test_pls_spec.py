"""The model as a value: construction, validation, dict/YAML/JSON round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from allegiance.errors import ConfigError
from allegiance.pls import Construct, ModelError, PathModel, StructuralPath

SPEC = {
    "name": "mini",
    "scale": [1, 10],
    "constructs": [
        {"name": "Image", "items": ["IMAG1", "IMAG2"], "mode": "A", "name_zh": "企业形象"},
        {"name": "Value", "items": ["PERV1", "PERV2"], "mode": "B"},
        {"name": "Loyalty", "items": ["CUSL1"], "scale": [0, 100]},
    ],
    "paths": [{"from": "Image", "to": ["Value", "Loyalty"]}, {"from": "Value", "to": "Loyalty"}],
}


def test_dict_builds_a_validated_value() -> None:
    model = PathModel.from_dict(SPEC)
    assert model.construct_names == ("Image", "Value", "Loyalty")
    assert model.items == ("IMAG1", "IMAG2", "PERV1", "PERV2", "CUSL1")
    assert model.construct("Value").mode == "B"
    assert model.predecessors("Loyalty") == ("Image", "Value")
    assert model.successors("Image") == ("Value", "Loyalty")
    assert model.endogenous == ("Value", "Loyalty")
    assert model.exogenous == ("Image",)
    assert model.construct_of("PERV2") == "Value"
    assert model.item_scale("CUSL1") == (0.0, 100.0)
    assert model.item_scale("IMAG1") == (1.0, 10.0)
    assert model.label("Image", "zh") == "企业形象"
    assert model.label("Image", "en") == "Image"
    assert len(model.paths) == 3
    assert str(model.paths[0]) == "Image -> Value"


@pytest.mark.parametrize("fmt", ["dict", "json", "yaml", "syntax"])
def test_round_trips(fmt: str) -> None:
    model = PathModel.from_dict(SPEC)
    if fmt == "dict":
        again = PathModel.from_dict(model.to_dict())
    elif fmt == "json":
        again = PathModel.from_json(model.to_json())
    elif fmt == "yaml":
        again = PathModel.from_yaml(model.to_yaml())
    else:
        again = PathModel.from_syntax(model.to_syntax())
        # the text syntax carries structure only (no Chinese names or scales)
        assert again.construct("Image").name_zh is None
        assert [(c.name, c.items, c.mode) for c in again.constructs] == [
            (c.name, c.items, c.mode) for c in model.constructs
        ]
        assert set(again.paths) == set(model.paths)
        return
    assert again == model
    assert hash(again) == hash(model)


def test_friendly_forms_are_the_same_value() -> None:
    a = PathModel.build(
        constructs={
            "Image": ["IMAG1", "IMAG2"],
            "Loyalty": {"items": ["CUSL1"], "mode": "reflective"},
        },
        paths={"Loyalty": ["Image"]},
    )
    b = PathModel(
        constructs=(Construct("Image", ("IMAG1", "IMAG2")), Construct("Loyalty", ("CUSL1",))),
        paths=(StructuralPath("Image", "Loyalty"),),
    )
    c = PathModel.from_dict({"syntax": "Image =~ IMAG1 + IMAG2\nLoyalty =~ CUSL1\nLoyalty ~ Image"})
    assert a == b == c
    d = PathModel.from_dict(
        {
            "syntax": "Image =~ IMAG1 + IMAG2\nLoyalty =~ CUSL1\nLoyalty ~ Image",
            "constructs": {"Image": {"name_zh": "形象"}},
        }
    )
    assert d.construct("Image").name_zh == "形象"


def test_load_reads_each_format(tmp_path: Path) -> None:
    model = PathModel.from_dict(SPEC)
    (tmp_path / "m.yaml").write_text(model.to_yaml(), encoding="utf-8")
    (tmp_path / "m.json").write_text(model.to_json(), encoding="utf-8")
    (tmp_path / "m.txt").write_text(model.to_syntax(), encoding="utf-8")
    assert PathModel.load(tmp_path / "m.yaml") == model
    assert PathModel.load(tmp_path / "m.json") == model
    assert PathModel.load(tmp_path / "m.txt").construct_names == model.construct_names
    with pytest.raises(ModelError, match="Could not read the model file"):
        PathModel.load(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["constructs"][2].update(items=[]), "construct 'Loyalty' has no items"),
        (
            lambda s: s["constructs"][1].update(items=["IMAG1"]),
            "item 'IMAG1' measures both 'Image' and 'Value'",
        ),
        (lambda s: s["constructs"][1].update(mode="C"), "has mode C; expected A"),
        (lambda s: s["constructs"].append(dict(s["constructs"][0])), "'Image' is defined twice"),
        (lambda s: s["paths"].append({"from": "Image", "to": "Brand"}), "names construct 'Brand'"),
        (lambda s: s["paths"].append({"from": "Loyalty", "to": "Image"}), "cycle"),
        (lambda s: s["paths"].append({"from": "Image", "to": "Image"}), "path to itself"),
        (lambda s: s["paths"].append({"from": "Value", "to": "Loyalty"}), "given twice"),
        (
            lambda s: s["constructs"].append({"name": "Alone", "items": ["X1"]}),
            "'Alone' has no path",
        ),
        (lambda s: s.update(extra=1), "unknown keys extra"),
        (lambda s: s["constructs"][0].update(scale=[5, 1]), "answer scale of construct 'Image'"),
        (lambda s: s["constructs"][0].update(items=["IMAG1", "IMAG1"]), "listed twice"),
    ],
)
def test_invalid_models_say_what_is_wrong(change: object, message: str) -> None:
    import copy

    spec = copy.deepcopy(SPEC)
    change(spec)  # type: ignore[operator]
    with pytest.raises(ModelError, match=message) as info:
        PathModel.from_dict(spec)
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)
    zh = info.value.render("zh")
    assert zh != str(info.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_the_seminr_style_message() -> None:
    with pytest.raises(ModelError) as info:
        PathModel.build(constructs={"Loyalty": [], "Image": ["I1"]}, paths=[("Image", "Loyalty")])
    assert str(info.value).startswith(
        "Could not build the measurement model: construct 'Loyalty' has no items"
    )
    assert "无法建立测量模型" in info.value.render("zh")


def test_longer_cycles_are_found() -> None:
    with pytest.raises(ModelError, match=r"A -> B -> C -> A"):
        PathModel.build(
            constructs={"A": ["a"], "B": ["b"], "C": ["c"]},
            paths=[("A", "B"), ("B", "C"), ("C", "A")],
        )


def test_bad_text_inputs() -> None:
    with pytest.raises(ModelError, match="invalid JSON at line 1"):
        PathModel.from_json("{nope")
    with pytest.raises(ModelError, match="invalid YAML at line"):
        PathModel.from_yaml("constructs: [\n")
    with pytest.raises(ModelError, match="expected a mapping"):
        PathModel.from_yaml("- a\n- b\n")
