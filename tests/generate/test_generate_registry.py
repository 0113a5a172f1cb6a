"""The open registry: order, seeds keyed by module name, determinism, writing Parquet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from allegiance.errors import ConfigError
from allegiance.generate import (
    DemoConfig,
    GenContext,
    GeneratedData,
    GeneratorModule,
    ModuleOutput,
    generate,
    module_rng,
    modules,
    register,
    registered,
    unregister,
    write_parquet,
)

CONFIG = DemoConfig(customers=800, months=6, seed=11)
BUILT_IN = ("customers", "activity", "survey", "complaints")
TABLES = ("customers", "activity", "survey_responses", "complaints")


@pytest.fixture
def clean_registry() -> Iterator[None]:
    before = registered()
    yield
    for name in set(registered()) - set(before):
        unregister(name)
    for module in before.values():
        register(module, replace=True)


def _assert_same(a: GeneratedData, b: GeneratedData, names: tuple[str, ...] = TABLES) -> None:
    for name in names:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_built_in_modules_run_in_dependency_order() -> None:
    order = [m.name for m in modules()]
    assert set(BUILT_IN) <= set(order)
    assert order[0] == "customers"
    for module in modules():
        for need in module.requires:
            assert order.index(need) < order.index(module.name)


def test_tables_and_truth_of_every_module() -> None:
    data = generate(CONFIG)
    assert set(TABLES) <= set(data.tables)
    assert set(BUILT_IN) <= set(data.truth)
    assert data.config is CONFIG


def test_progress_reports_each_module() -> None:
    calls: list[tuple[str, int, int]] = []
    generate(CONFIG, progress=lambda name, done, total: calls.append((name, done, total)))
    total = len(modules())
    assert [c[1] for c in calls] == list(range(1, total + 1))
    assert all(c[2] == total for c in calls)
    assert {c[0] for c in calls} == {m.name for m in modules()}


def test_same_seed_gives_identical_tables() -> None:
    _assert_same(generate(CONFIG), generate(CONFIG))


def test_different_seed_gives_different_tables() -> None:
    a = generate(CONFIG)
    b = generate(DemoConfig(customers=800, months=6, seed=12))
    for name in ("customers", "activity", "survey_responses"):
        assert not a.tables[name].equals(b.tables[name]), name


def test_module_streams_are_keyed_by_name() -> None:
    first = module_rng(5, "survey").random(4)
    assert np.array_equal(first, module_rng(5, "survey").random(4))
    assert not np.array_equal(first, module_rng(5, "complaints").random(4))
    assert not np.array_equal(first, module_rng(6, "survey").random(4))


@pytest.mark.usefixtures("clean_registry")
def test_adding_modules_does_not_change_existing_tables() -> None:
    before = generate(CONFIG)

    def dummy(ctx: GenContext) -> ModuleOutput:
        n = len(ctx.tables["customers"])
        noise = pd.DataFrame({"x": ctx.rng.random(n)})
        return ModuleOutput(tables={"dummy": noise}, truth={"n": n})

    def early(ctx: GenContext) -> ModuleOutput:
        return ModuleOutput(tables={"early": pd.DataFrame({"y": ctx.rng.random(3)})})

    register(GeneratorModule(name="aaa_dummy", requires=("customers",), run=dummy))
    register(GeneratorModule(name="aa_early", requires=(), run=early))
    after = generate(CONFIG)
    _assert_same(before, after)
    assert len(after.tables["dummy"]) == CONFIG.customers
    assert after.truth["aaa_dummy"] == {"n": CONFIG.customers}


@pytest.mark.usefixtures("clean_registry")
def test_registry_errors() -> None:
    def nothing(ctx: GenContext) -> ModuleOutput:
        return ModuleOutput(tables={})

    with pytest.raises(ConfigError, match="already registered"):
        register(GeneratorModule(name="customers", requires=(), run=nothing))
    with pytest.raises(ConfigError, match="letters, digits"):
        register(GeneratorModule(name="bad name", requires=(), run=nothing))
    with pytest.raises(ConfigError):
        register("customers")  # type: ignore[arg-type]

    register(GeneratorModule(name="needs_ghost", requires=("ghost",), run=nothing))
    with pytest.raises(ConfigError, match="ghost"):
        modules()
    unregister("needs_ghost")

    register(GeneratorModule(name="loop_a", requires=("loop_b",), run=nothing))
    register(GeneratorModule(name="loop_b", requires=("loop_a",), run=nothing))
    with pytest.raises(ConfigError, match="circle"):
        modules()
    unregister("loop_a")
    unregister("loop_b")

    def clash(ctx: GenContext) -> ModuleOutput:
        return ModuleOutput(tables={"customers": pd.DataFrame()})

    register(GeneratorModule(name="zz_clash", requires=("customers",), run=clash))
    with pytest.raises(ConfigError, match="already exist"):
        generate(CONFIG)


def test_write_parquet_round_trip(tmp_path: Path) -> None:
    data = generate(CONFIG)
    written = write_parquet(data, tmp_path / "out")
    assert set(written) == {*data.tables, "truth"}
    for name, frame in data.tables.items():
        assert written[name] == tmp_path / "out" / f"{name}.parquet"
        back = pd.read_parquet(written[name])
        assert list(back.columns) == list(frame.columns)
        assert len(back) == len(frame)
        assert pq.read_metadata(written[name]).num_rows == len(frame)
    activity = pd.read_parquet(written["activity"])
    assert str(activity["month"].dtype) == "date32[day][pyarrow]"
    np.testing.assert_array_equal(
        activity["amount"].to_numpy(), data.tables["activity"]["amount"].to_numpy()
    )
    truth = json.loads(written["truth"].read_text(encoding="utf-8"))
    assert truth["config"]["customers"] == CONFIG.customers
    assert truth["customers"]["latent"]["paths"]["Satisfaction->Loyalty"] == 0.49
    assert truth["survey"]["kano"]["features"]["coverage_5g"]["category"] == "M"
