"""``allegiance ahp FILE``: AHP priorities, consistency and global weights.

FILE is a YAML hierarchy (see docs/methods/ahp.md) or a CSV judgement matrix with
the labels in the first row and the first column; a bare name that is not a file
but a shipped hierarchy template (``allegiance.templates``, kind ``hierarchies``)
is read as that template. The command parses, calls
:func:`allegiance.methods.ahp.analyze` (or :func:`~allegiance.methods.ahp.ahp` /
:func:`~allegiance.methods.ahp.repair` for a single matrix) and renders with
:func:`emit`. JSON, CSV and ``--out`` files carry every column; the table view
shows a compact selection in the chosen language.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from allegiance.cli.common import (
    FormatOpt,
    LangOpt,
    OutOpt,
    OutputFormat,
    ProjectOpt,
    emit,
    envelope,
    h,
    resolve_input,
    stderr,
    write_csv,
)
from allegiance.errors import ConfigError, DataFileError, ValidationError
from allegiance.i18n import Message, current_lang, label, t


class Method(StrEnum):
    eigen = "eigen"
    geometric = "geometric"


class RIChoice(StrEnum):
    saaty1980 = "saaty1980"
    saaty2005 = "saaty2005"
    alonso_lamata = "alonso-lamata"
    donegan_dodd = "donegan-dodd"


class Aggregate(StrEnum):
    aij = "aij"
    aip = "aip"


FileArg = Annotated[Path, typer.Argument(help=h("cli.ahp.opt.file"), show_default=False)]
MethodOpt = Annotated[
    Method, typer.Option("--method", "-m", help=h("cli.ahp.opt.method"), case_sensitive=False)
]
RIOpt = Annotated[RIChoice, typer.Option("--ri", help=h("cli.ahp.opt.ri"), case_sensitive=False)]
ThresholdOpt = Annotated[float, typer.Option("--threshold", help=h("cli.ahp.opt.threshold"))]
RepairOpt = Annotated[bool, typer.Option("--repair", help=h("cli.ahp.opt.repair"))]
AggregateOpt = Annotated[
    Aggregate | None,
    typer.Option("--aggregate", help=h("cli.ahp.opt.aggregate"), case_sensitive=False),
]

_YAML = {".yaml", ".yml"}
_CSV = {".csv", ".txt", ".tsv"}

# The columns of the table view, per table (every column stays in JSON, CSV and --out files).
_VIEW: dict[str, list[str]] = {
    "global_weights": ["factor", "name", "criterion", "local_weight", "global_weight"],
    "weights": ["node", "name", "parent", "local_weight", "global_weight"],
    "nodes": ["node", "n_elements", "lambda_max", "ci", "ri", "cr", "consistent", "gci"],
    "levels": ["depth", "weighted_ci", "weighted_ri", "cr_share"],
    "alternatives": ["alternative", "name", "weight", "rank"],
    "suggestions": ["node", "row", "column", "judgement", "scale_value", "implied_value"],
    "repairs": ["node", "row", "column", "old_value", "new_value", "cr_after"],
    "completed": ["node", "row", "column", "completed_value"],
    "judges": ["node", "judge", "judge_weight", "cr", "consistent"],
    "consistency": ["node", "n_elements", "lambda_max", "ci", "ri", "cr", "consistent", "gci"],
}


def _resolve(file: Path, project: Path | None) -> Path:
    """A relative FILE not found here is looked up in the project folder, its data folder,
    then among the shipped hierarchy templates."""
    found = resolve_input(file, project)
    if found.exists() or file.is_absolute():
        return found
    if not file.suffix and len(file.parts) == 1:
        from allegiance.templates import template_path

        try:
            return template_path("hierarchies", file.name)
        except ConfigError:
            pass
    return file


def _ri_name(key: str, lang: str) -> str:
    """The random-index table's name in ``lang``."""
    name = t(f"ahp.ri_name.{key}", lang)
    return key if name == f"ahp.ri_name.{key}" else name


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.4f}"


class _View:
    """The table view of a result: fewer columns, names in the chosen language."""

    def __init__(self, result: Any, lang: str) -> None:
        self._result = result
        self._lang = lang
        self._zh = _zh_names(result) if lang == "zh" else {}

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(self._result.warnings)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self._result.to_dict()
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for name, frame in self._result.tables().items():
            view = frame.copy()
            if self._lang == "zh" and "name_zh" in view.columns:
                view["name"] = view["name_zh"]
            if name == "weights" and "label" in view.columns:  # a single matrix
                columns = ["label", "name", "weight", "rank"]
            else:
                columns = _VIEW.get(name, list(view.columns))
            columns = [c for c in columns if c in view.columns]
            if "gci" in columns and view["gci"].isna().all():
                columns.remove("gci")
            if "name" in columns and columns[0] in view.columns:
                same = view["name"].astype(str) == view[columns[0]].astype(str)
                if bool(same.all()):
                    columns.remove("name")
            view = view[columns].copy()
            if self._zh:
                # in Chinese the ids of the hierarchy give way to its Chinese names
                for col in _ID_COLUMNS:
                    if col in view.columns:
                        view[col] = view[col].map(lambda v: self._zh.get(str(v), v))
                if "name" in view.columns and columns[0] in _ID_COLUMNS:
                    view = view.drop(columns="name")
            for col in view.columns:
                if (
                    pd.api.types.is_bool_dtype(view[col])
                    or view[col].map(lambda v: isinstance(v, bool)).all()
                ):
                    view[col] = view[col].map(
                        lambda v: (
                            t("common.yes" if v else "common.no", self._lang)
                            if isinstance(v, bool)
                            else v
                        )
                    )
            out[name] = view
        return out


_ID_COLUMNS = ("node", "factor", "criterion", "parent", "label", "row", "column", "alternative")
"""Columns that hold ids of the hierarchy (shown by their Chinese names with ``--lang zh``)."""


def _zh_names(result: Any) -> dict[str, str]:
    """id -> Chinese name of every node, element and alternative of ``result``."""
    out: dict[str, str] = {}
    hierarchy = getattr(result, "hierarchy", None)
    if hierarchy is not None:
        for node in hierarchy.nodes():
            if node.name_zh:
                out[node.id] = node.name_zh
        for alt in getattr(hierarchy, "alternatives", ()) or ():
            if getattr(alt, "name_zh", None):
                out[alt.id] = alt.name_zh
        return out
    single = getattr(result, "result", result)  # a RepairResult holds the repaired matrix
    for label_, name_zh in zip(single.labels, single.names_zh, strict=True):
        if name_zh and name_zh != label_:
            out[label_] = name_zh
    return out


def _csv_needs_out(result: Any, lang: str) -> None:
    """``--format csv`` prints one table; with several, name them (in the chosen language)
    with the file each would be written to by ``--out``."""
    tables = result.tables()
    if len(tables) == 1:
        return
    names = "; ".join(f"{label(name, lang)} ({name}.csv)" for name in tables)
    raise ValidationError("error.csv_many_tables", n=len(tables), names=names or "-")


def _write_files(result: Any, *, command: str, inputs: dict[str, Any], out: Path) -> None:
    """Every table as CSV and the JSON envelope, like :func:`emit` does with ``--out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in result.tables().items():
        write_csv(frame, out / f"{name}.csv")
    env = envelope(command, inputs, result.to_dict(), tuple(result.warnings))
    (out / f"{command}.json").write_text(
        json.dumps(env, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    stderr().print(t("common.written", current_lang(), path=str(out)))


def _render(
    result: Any,
    *,
    inputs: dict[str, Any],
    fmt: OutputFormat,
    out: Path | None,
    headline: Callable[[Console], None],
) -> None:
    if fmt is OutputFormat.table:
        if out is not None:
            _write_files(result, command="ahp", inputs=inputs, out=out)
        emit(
            _View(result, current_lang()),
            command="ahp",
            inputs=inputs,
            fmt=fmt,
            extra=headline,
        )
        return
    if fmt is OutputFormat.csv and out is None:
        _csv_needs_out(result, current_lang())
    emit(result, command="ahp", inputs=inputs, fmt=fmt, out=out)


def ahp_cmd(
    file: FileArg,
    method: MethodOpt = Method.eigen,
    ri: RIOpt = RIChoice.saaty1980,
    threshold: ThresholdOpt = 0.10,
    repair: RepairOpt = False,
    aggregate: AggregateOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import ahp as ahp_mod

    path = _resolve(file, project)
    if not path.is_file():
        raise DataFileError("ahp.file.not_found", file=str(path))
    inputs: dict[str, Any] = {
        "file": str(path),
        "method": method.value,
        "ri": ri.value,
        "threshold": threshold,
        "repair": repair,
    }
    suffix = path.suffix.lower()
    lang_now = current_lang()
    if suffix in _CSV:
        frame = ahp_mod.load_matrix(path)
        node = path.stem
        result: Any
        if repair:
            result = ahp_mod.repair(
                frame, method=method.value, ri=ri.value, threshold=threshold, node=node
            )
            single = result.result
        else:
            single = result = ahp_mod.ahp(
                frame, method=method.value, ri=ri.value, threshold=threshold, node=node
            )

        def matrix_headline(con: Console) -> None:
            verdict = t("ahp.yes" if single.consistent else "ahp.no", lang_now)
            con.print(
                t(
                    "ahp.headline_matrix",
                    lang_now,
                    cr=_fmt(single.cr),
                    verdict=verdict,
                    threshold=threshold,
                    lambda_max=_fmt(single.lambda_max),
                    table=_ri_name(single.ri_table, lang_now),
                )
            )

        _render(result, inputs=inputs, fmt=fmt, out=out, headline=matrix_headline)
        return
    if suffix not in _YAML:
        raise DataFileError("ahp.file.bad_type", file=str(path))
    hierarchy = ahp_mod.load_hierarchy(path)
    if aggregate is not None:
        inputs["aggregate"] = aggregate.value
    analysis = ahp_mod.analyze(
        hierarchy,
        method=method.value,
        ri=ri.value,
        threshold=threshold,
        aggregation=aggregate.value if aggregate is not None else None,
        repair=repair,
    )

    def hierarchy_headline(con: Console) -> None:
        verdict = t("ahp.yes" if analysis.consistent else "ahp.no", lang_now)
        con.print(
            t(
                "ahp.headline",
                lang_now,
                cr=_fmt(analysis.cr),
                verdict=verdict,
                threshold=threshold,
                table=_ri_name(analysis.ri_table, lang_now),
            )
        )

    _render(analysis, inputs=inputs, fmt=fmt, out=out, headline=hierarchy_headline)


def register(app: typer.Typer) -> None:
    """Add the ``ahp`` command to ``app``."""
    app.command("ahp", help=h("cli.ahp.help"))(ahp_cmd)
