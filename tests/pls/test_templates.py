"""The shipped ECSI, ACSI and CCSI models, and loading a model by name or file."""

from __future__ import annotations

from pathlib import Path

import pytest

from allegiance.datasets import load_mobi
from allegiance.errors import ConfigError
from allegiance.pls import ModelSyntaxError, PathModel
from allegiance.pls.templates import load_model, model_info, model_names

MOBI_ITEMS = {
    *(f"IMAG{i}" for i in range(1, 6)),
    *(f"CUEX{i}" for i in range(1, 4)),
    *(f"PERQ{i}" for i in range(1, 8)),
    "PERV1",
    "PERV2",
    *(f"CUSA{i}" for i in range(1, 4)),
    "CUSCO",
    *(f"CUSL{i}" for i in range(1, 4)),
}

# Tenenhaus et al. (2005), CSDA 48:159-205, the ECSI model of the mobile-phone survey.
ECSI_PATHS = {
    ("Image", "Expectation"),
    ("Image", "Satisfaction"),
    ("Image", "Loyalty"),
    ("Expectation", "Perceived quality"),
    ("Expectation", "Perceived value"),
    ("Expectation", "Satisfaction"),
    ("Perceived quality", "Perceived value"),
    ("Perceived quality", "Satisfaction"),
    ("Perceived value", "Satisfaction"),
    ("Satisfaction", "Complaints"),
    ("Satisfaction", "Loyalty"),
    ("Complaints", "Loyalty"),
}

# Fornell et al. (1996), Journal of Marketing 60(4):7-18, Figure 1.
ACSI_PATHS = {
    ("Customer expectations", "Perceived quality"),
    ("Customer expectations", "Perceived value"),
    ("Customer expectations", "Customer satisfaction (ACSI)"),
    ("Perceived quality", "Perceived value"),
    ("Perceived quality", "Customer satisfaction (ACSI)"),
    ("Perceived value", "Customer satisfaction (ACSI)"),
    ("Customer satisfaction (ACSI)", "Customer complaints"),
    ("Customer satisfaction (ACSI)", "Customer loyalty"),
    ("Customer complaints", "Customer loyalty"),
}


def _acyclic(model: PathModel) -> bool:
    order: list[str] = []
    remaining = {(s.source, s.target) for s in model.paths}
    nodes = set(model.construct_names)
    while nodes:
        free = {n for n in nodes if not any(t == n for _, t in remaining)}
        if not free:
            return False
        order.extend(sorted(free))
        nodes -= free
        remaining = {(s, t) for s, t in remaining if s not in free}
    return True


def test_three_models_are_shipped() -> None:
    assert model_names() == ["acsi", "ccsi", "ecsi"]
    for name in model_names():
        info = model_info(name)
        assert info.title_en
        assert info.title_zh
        assert info.source
        assert info.path.suffix == ".yaml"
    assert "ECSI" in model_info("ecsi").title("en")
    assert "中国" in model_info("ccsi").title("zh")


def test_ecsi_matches_the_mobi_columns_and_the_published_paths() -> None:
    model = load_model("ecsi")
    assert model.construct_names == (
        "Image",
        "Expectation",
        "Perceived quality",
        "Perceived value",
        "Satisfaction",
        "Complaints",
        "Loyalty",
    )
    assert set(model.items) == MOBI_ITEMS
    assert set(model.items) == set(load_mobi().columns)
    assert {(p.source, p.target) for p in model.paths} == ECSI_PATHS
    assert model.scale == (1.0, 10.0)


def test_acsi_has_fornells_six_constructs_and_nine_paths() -> None:
    model = load_model("acsi")
    assert len(model.constructs) == 6
    assert {(p.source, p.target) for p in model.paths} == ACSI_PATHS
    # the mobi items of the six ACSI constructs (no image)
    assert set(model.items) == MOBI_ITEMS - {f"IMAG{i}" for i in range(1, 6)}


def test_ccsi_has_six_constructs_eleven_paths_and_chinese_names() -> None:
    model = load_model("ccsi")
    zh = [c.name_zh for c in model.constructs]
    assert zh == ["品牌形象", "预期质量", "感知质量", "感知价值", "满意度", "忠诚度"]
    assert len(model.paths) == 11
    assert set(model.predecessors("Satisfaction")) == {
        "Brand image",
        "Expected quality",
        "Perceived quality",
        "Perceived value",
    }
    assert model.successors("Satisfaction") == ("Loyalty",)
    assert model.label("Brand image", "zh") == "品牌形象"


@pytest.mark.parametrize("name", ["ecsi", "acsi", "ccsi"])
def test_every_template_is_a_valid_model(name: str) -> None:
    model = load_model(name)
    assert _acyclic(model)
    assert all(c.items for c in model.constructs)
    assert all(c.name_zh for c in model.constructs)
    assert all(c.mode == "A" for c in model.constructs)
    assert len(set(model.items)) == len(model.items)
    # round trips through the dict, JSON and the text syntax
    assert PathModel.from_dict(model.to_dict()) == model
    assert PathModel.from_json(model.to_json()) == model
    again = PathModel.from_syntax(model.to_syntax())
    assert again.construct_names == model.construct_names
    assert set(again.paths) == set(model.paths)


def test_names_ignore_case_and_spaces() -> None:
    assert load_model(" ECSI ") == load_model("ecsi")


def test_model_files_by_extension(tmp_path: Path) -> None:
    model = load_model("ecsi")
    (tmp_path / "m.yaml").write_text(model.to_yaml(), encoding="utf-8")
    (tmp_path / "m.json").write_text(model.to_json(), encoding="utf-8")
    (tmp_path / "m.txt").write_text(model.to_syntax(), encoding="utf-8")
    (tmp_path / "m.lav").write_text(model.to_syntax(), encoding="utf-8")
    for name in ("m.yaml", "m.json"):
        assert load_model(tmp_path / name) == model
        assert load_model(str(tmp_path / name)) == model
    for name in ("m.txt", "m.lav"):
        assert load_model(tmp_path / name).items == model.items


def test_unknown_model_names_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_model("scsb")
    assert info.value.key == "plsx.error.model_not_found"
    assert "acsi, ccsi, ecsi" in str(info.value)
    with pytest.raises(ConfigError):
        load_model(tmp_path / "missing.yaml")


def test_bad_model_text_says_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "Image =~ IMAG1 + IMAG2\nLoyalty =~ CUSL1 +\nLoyalty ~ ~ Image\n", encoding="utf-8"
    )
    with pytest.raises(ModelSyntaxError) as info:
        load_model(bad)
    assert info.value.line == 3
    assert isinstance(info.value.col, int)


def test_ccsi_uses_the_mobi_items_without_complaints() -> None:
    assert set(load_model("ccsi").items) == MOBI_ITEMS - {"CUSCO"}


def test_acsi_and_ccsi_fit_mobi_and_differ_from_ecsi_as_their_paths_say() -> None:
    from allegiance.pls import estimate

    data = load_mobi()
    r2 = {
        name: estimate(load_model(name), data).constructs_table().set_index("construct")["r2"]
        for name in ("ecsi", "acsi", "ccsi")
    }
    ecsi, acsi, ccsi = r2["ecsi"], r2["acsi"], r2["ccsi"]
    # CCSI satisfaction has ECSI's four predictors (image, expectation, quality, value):
    # its R² differs only through the weights the rest of the model induces.
    assert ccsi["Satisfaction"] == pytest.approx(ecsi["Satisfaction"], abs=0.01)
    # ACSI drops image as a driver of satisfaction: less is explained
    assert acsi["Customer satisfaction (ACSI)"] < ecsi["Satisfaction"] - 0.005
    # CCSI adds image -> perceived quality: quality is much better explained than in ECSI,
    # where expectation alone drives it (as in the ACSI)
    assert ccsi["Perceived quality"] > ecsi["Perceived quality"] + 0.2
    assert acsi["Perceived quality"] == pytest.approx(ecsi["Perceived quality"], abs=0.01)
    # ACSI has no image at all, CCSI no complaints
    assert "Image" not in acsi.index
    assert "Complaints" not in ccsi.index
    assert 0.5 < ecsi["Satisfaction"] < 0.8
