"""``allegiance csi RESPONSES``: the calculation-standard satisfaction index (SPEC section 4).

Reads the survey answers (one five-level column per factor, ``cs_<factor>``),
turns the AHP hierarchy (a YAML file, or the shipped template
``calculation_standard``) into factor weights with :mod:`allegiance.methods.ahp`,
and calls :func:`allegiance.methods.csi.csi`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from allegiance.cli.common import (
    EncodingOpt,
    FormatOpt,
    LangOpt,
    OutOpt,
    OutputFormat,
    ProjectOpt,
    emit,
    h,
    resolve_input,
)
from allegiance.i18n import Message, current_lang, t

DEFAULT_HIERARCHY = "calculation_standard"
TEMPLATE_KIND = "hierarchies"
CSV_TABLE = "factors"
"""With ``--format csv`` and no ``--out``, the factor table is printed (one table only)."""

FileArg = Annotated[Path, typer.Argument(help=h("cli.csi.opt.file"), show_default=False)]
HierarchyOpt = Annotated[str, typer.Option("--hierarchy", help=h("cli.csi.opt.hierarchy"))]
ByOpt = Annotated[list[str] | None, typer.Option("--by", "-b", help=h("cli.csi.opt.by"))]
WeightOpt = Annotated[str | None, typer.Option("--weight", "-w", help=h("cli.csi.opt.weight"))]
LevelScoresOpt = Annotated[
    str | None, typer.Option("--level-scores", help=h("cli.csi.opt.level_scores"))
]
PrefixOpt = Annotated[str, typer.Option("--prefix", help=h("cli.csi.opt.prefix"))]
BootOpt = Annotated[int, typer.Option("--bootstrap", min=0, help=h("cli.csi.opt.bootstrap"))]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help=h("cli.csi.opt.seed"))]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", help=h("cli.csi.opt.confidence"))]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.csi.opt.sheet"))]


def hierarchy_file(value: str, *, project: Path | None = None) -> Path:
    """``--hierarchy``: an existing file, else the name of a shipped hierarchy template."""
    from allegiance.templates import names, template_path

    path = resolve_input(Path(value).expanduser(), project)
    if path.is_file():
        return path
    if value in names(TEMPLATE_KIND) or not Path(value).suffix:
        return template_path(TEMPLATE_KIND, value)
    return path  # the AHP loader reports the missing file by name


def load_weights(value: str = DEFAULT_HIERARCHY, *, project: Path | None = None) -> Any:
    """The analysed AHP hierarchy behind ``--hierarchy`` (file or template name)."""
    from allegiance.methods import ahp

    return ahp.analyze(ahp.load_hierarchy(hierarchy_file(value, project=project)))


def _level_scores(value: str | None) -> tuple[float, ...]:
    if value is None:
        return (5, 4, 3, 2, 1)
    try:
        out = tuple(float(p) for p in value.replace("，", ",").split(",") if p.strip())
    except ValueError:
        out = ()
    if len(out) != 5:
        raise typer.BadParameter(
            t("cli.csi.bad_level_scores", None, value=value), param_hint="--level-scores"
        )
    return tuple(int(v) if v.is_integer() else v for v in out)


def _is_text(series: pd.Series[Any]) -> bool:
    return bool(
        pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
    )


@dataclasses.dataclass(frozen=True)
class _OneTable:
    """A result shown as one of its tables (``--format csv`` prints a single table)."""

    result: Any
    name: str

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(self.result.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {self.name: self.result.tables()[self.name]}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.to_dict()
        return out


ID_COLUMNS = ("factor", "criterion", "node")
"""Columns holding ids of the hierarchy (shown by its Chinese names with ``--lang zh``)."""


def zh_names(analysed: Any) -> dict[str, str]:
    """id -> Chinese name of every node of an analysed hierarchy (where it has one)."""
    return {n.id: n.name_zh for n in analysed.hierarchy.nodes() if n.name_zh}


def ri_table_name(key: str, lang: str) -> str:
    """The random-index table's name in ``lang`` (its key when there is no translation)."""
    name = t(f"ahp.ri_name.{key}", lang)
    return key if name == f"ahp.ri_name.{key}" else name


@dataclasses.dataclass(frozen=True)
class _Named:
    """The terminal view in Chinese: factor, criterion and node ids give way to the
    hierarchy's Chinese names, and the random-index table is named in Chinese."""

    result: Any
    names: dict[str, str]
    lang: str

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(self.result.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for name, frame in self.result.tables().items():
            view = frame.copy()
            for col in ID_COLUMNS:
                if col in view.columns:
                    view[col] = view[col].map(lambda v: self.names.get(v, v))
            if "ri_table" in view.columns:
                view["ri_table"] = view["ri_table"].map(lambda v: ri_table_name(str(v), self.lang))
            view = view.drop(columns=[c for c in ("name", "name_zh", "label_en") if c in view])
            out[name] = view
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.to_dict()
        return out


def _headline(result: Any, names: dict[str, str] | None = None) -> Any:
    names = names or {}

    def show(con: Console) -> None:
        lang = current_lang()
        scores = ", ".join(str(s) for s in result.level_scores)
        ci = ""
        if result.n_boot and result.ci_low == result.ci_low:
            ci = t(
                "cli.csi.interval",
                lang,
                level=f"{100 * result.confidence:g}",
                low=f"{100 * result.ci_low:.1f}",
                high=f"{100 * result.ci_high:.1f}",
            )
        con.print(
            t("cli.csi.headline", lang, csi=f"{result.csi_100:.1f}", interval=ci, scores=scores)
        )
        if result.hierarchy_cr is not None:
            con.print(t("cli.csi.hierarchy_cr", lang, cr=f"{result.hierarchy_cr:.4f}"))
        try:
            weakest = result.weakest()
        except ValueError:
            return
        con.print(
            t(
                "cli.csi.weakest",
                lang,
                factor=names.get(str(weakest["factor"]), str(weakest["factor"])),
                dc=f"{float(weakest['dc']):.3f}",
                gap=f"{float(weakest['gap']):.4f}",
            )
        )

    return show


def csi_cmd(
    file: FileArg,
    hierarchy: HierarchyOpt = DEFAULT_HIERARCHY,
    by: ByOpt = None,
    weight: WeightOpt = None,
    level_scores: LevelScoresOpt = None,
    prefix: PrefixOpt = "cs_",
    bootstrap: BootOpt = 2000,
    seed: SeedOpt = 0,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import read_table, require_columns
    from allegiance.methods.csi import csi, csi_weights

    scores = _level_scores(level_scores)
    analysed = load_weights(hierarchy, project=project)
    plan = csi_weights(hierarchy=analysed)
    answer_columns = {
        named or f"{prefix}{factor}"
        for factor, named in zip(
            plan.factors, plan.columns or (None,) * len(plan.factors), strict=True
        )
    }
    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    frame = table.frame.copy()
    require_columns(frame, [c for c in (*(by or []), weight) if c is not None], file=path)
    for column in frame.columns:
        # numbers are checked here so that a bad answer is reported with its file and row;
        # text answers (很满意 …) are read by the method
        if column in answer_columns and not _is_text(frame[column]):
            frame[column] = table.numeric(column, allowed=(1, 5), integer=True)
    if weight is not None:
        frame[weight] = table.numeric(weight, allowed=(0.0, float("inf")))
    result = csi(
        frame,
        hierarchy=analysed,
        level_scores=scores,
        factor_prefix=prefix,
        by=list(by) if by else None,
        weight=weight,
        n_boot=bootstrap,
        confidence=confidence,
        seed=seed,
    )
    if table.warnings:
        result = dataclasses.replace(result, warnings=(*table.warnings, *result.warnings))
    inputs: dict[str, Any] = {
        "file": str(path),
        "rows": len(frame),
        "hierarchy": str(hierarchy_file(hierarchy, project=project)),
        "level_scores": list(scores),
        "prefix": prefix,
        "by": list(by or []),
        "weight": weight,
        "bootstrap": bootstrap,
        "seed": seed,
        "confidence": confidence,
    }
    if table.encoding is not None:
        inputs["encoding"] = table.encoding
    if table.sheet is not None:
        inputs["sheet"] = table.sheet
    shown: Any = result
    names = zh_names(analysed) if current_lang() == "zh" else {}
    if fmt is OutputFormat.csv and out is None:
        shown = _OneTable(result, CSV_TABLE)
    elif fmt is OutputFormat.table and out is None and names:
        shown = _Named(result, names, current_lang())
    emit(
        shown,
        command="csi",
        inputs=inputs,
        fmt=fmt,
        out=out,
        extra=_headline(result, names),
        show=("index", "subindices", "factors", "consistency", "overall"),
    )


def register(app: typer.Typer) -> None:
    """Add the ``csi`` command to ``app``."""
    app.command("csi", help=h("cli.csi.help"))(csi_cmd)
