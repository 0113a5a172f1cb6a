"""Run the registered generators and write what they made."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from allegiance.errors import ConfigError, ValidationError
from allegiance.generate.config import DemoConfig
from allegiance.generate.registry import GenContext, ModuleOutput, module_rng, modules
from allegiance.results import plain

__all__ = ["GeneratedData", "generate", "write_parquet"]

Progress = Callable[[str, int, int], None]

# Dictionary-encode a column in Parquet only when it has few distinct values: writing a
# dictionary of a million customer ids is several times slower than plain strings + zstd.
_DICTIONARY_LIMIT = 65536


@dataclass(frozen=True)
class GeneratedData:
    """The demo company: tables by name, true parameters by module, and the config."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, dict[str, Any]]
    config: DemoConfig
    sources: dict[str, str] = field(default_factory=dict)
    """Which module made each table (table name → module name)."""

    def truth_json(self) -> dict[str, Any]:
        """Truth plus the config, as JSON-safe values."""
        out: dict[str, Any] = {"config": self.config.to_dict()}
        out.update(plain(self.truth))
        return out


def generate(config: DemoConfig, *, progress: Progress | None = None) -> GeneratedData:
    """Run every registered module in dependency order.

    ``progress(name, done, total)`` is called after each module finishes.
    """
    if not isinstance(config, DemoConfig):
        raise ValidationError("generate.error.not_a_config", value=type(config).__name__)
    plan = modules()
    tables: dict[str, pd.DataFrame] = {}
    truth: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for done, module in enumerate(plan, start=1):
        context = GenContext(
            config=config,
            rng=module_rng(config.seed, module.name),
            tables=dict(tables),
            truth=dict(truth),
        )
        output = module.run(context)
        if not isinstance(output, ModuleOutput):
            raise ConfigError("generate.error.bad_output", name=module.name)
        clash = sorted(set(output.tables) & set(tables))
        if clash:
            raise ConfigError(
                "generate.error.duplicate_table", name=module.name, tables=", ".join(clash)
            )
        tables.update(output.tables)
        sources.update(dict.fromkeys(output.tables, module.name))
        truth[module.name] = dict(output.truth)
        if progress is not None:
            progress(module.name, done, len(plan))
    return GeneratedData(tables=tables, truth=truth, config=config, sources=sources)


def _dictionary_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) and len(dtype.categories) <= _DICTIONARY_LIMIT:
            out.append(str(name))
    return out


def write_parquet(
    data: GeneratedData, /, folder: Path | str, *, compression: str = "zstd"
) -> dict[str, Path]:
    """Write each table as ``<name>.parquet`` and the truth as ``truth.json`` into ``folder``.

    Returns ``{table name: path}`` plus ``"truth"``. The folder is created if needed.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in data.tables.items():
        path = target / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(
            table,
            path,
            compression=compression,
            use_dictionary=_dictionary_columns(frame),
        )
        written[name] = path
    truth_path = target / "truth.json"
    truth_path.write_text(
        json.dumps(data.truth_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    written["truth"] = truth_path
    return written
