"""``allegiance pls DATA --model ecsi``: PLS path modelling of a satisfaction-index model.

Reads the survey answers with :func:`allegiance.io.reader.read_table`, loads the
model (a shipped template, ``ecsi``/``acsi``/``ccsi``, or a model file) with
:func:`allegiance.pls.templates.load_model`, estimates it with
:func:`allegiance.pls.estimate`, evaluates reliability and validity with
:func:`allegiance.pls.evaluate`, and, with ``--bootstrap N``, adds standard
errors, p values and intervals from :func:`allegiance.pls.bootstrap.bootstrap`.
With ``--by COL`` the model is also estimated within each group.

The JSON result holds ``paths`` (from, to, coefficient, and se, t, p, ci_low,
ci_high, bca_low, bca_high when bootstrapped), ``weights``, ``loadings``,
``r2``, ``index`` (the 0-100 index per construct), ``reliability`` (alpha,
rho_c, rho_a, ave), ``htmt``, ``fornell_larcker``, ``cross_loadings``, ``gof``,
``effects`` and, with ``--by``, ``groups``. Bootstrapped weights and loadings carry
the same se, t, p, percentile and BCa columns as the paths. ``--items OLD=NEW,...``
(or a mapping file) renames the model's items to the data file's columns. With
``--lang zh`` the terminal tables and warnings name the constructs by the
template's Chinese names (JSON and files keep the model's names).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from allegiance.cli.common import (
    EncodingOpt,
    FormatOpt,
    LangOpt,
    OutOpt,
    OutputFormat,
    ProjectOpt,
    emit,
    h,
    progress,
    resolve_input,
)
from allegiance.errors import AllegianceError
from allegiance.i18n import Message, current_lang, t
from allegiance.results import plain, records

if TYPE_CHECKING:
    from allegiance.pls import Evaluation, PathModel, PLSResult
    from allegiance.pls.bootstrap import BootstrapResult

FileArg = Annotated[Path, typer.Argument(help=h("cli.pls.opt.file"), show_default=False)]
ModelOpt = Annotated[str, typer.Option("--model", "-m", help=h("cli.pls.opt.model"))]
SchemeOpt = Annotated[str, typer.Option("--scheme", help=h("cli.pls.opt.scheme"))]
BootOpt = Annotated[int, typer.Option("--bootstrap", "-B", min=0, help=h("cli.pls.opt.bootstrap"))]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help=h("cli.pls.opt.seed"))]
MissingOpt = Annotated[str, typer.Option("--missing", help=h("cli.pls.opt.missing"))]
ByOpt = Annotated[str | None, typer.Option("--by", "-b", help=h("cli.pls.opt.by"))]
LevelOpt = Annotated[float, typer.Option("--level", help=h("cli.pls.opt.level"))]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.pls.opt.sheet"))]
ItemsOpt = Annotated[str | None, typer.Option("--items", help=h("cli.pls.opt.items"))]

SHOWN = ("paths", "constructs", "reliability")
"""The tables printed with ``--format table`` (every table goes to ``--out``)."""

BOOT_COLUMNS = ("se", "t", "p", "ci_low", "ci_high", "bca_low", "bca_high")


# --------------------------------------------------------------------------------------------
# The command's result: one fit (and its bootstrap), and the same per group
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Fitted:
    """One estimated model with its evaluation and, when asked for, its bootstrap."""

    fit: PLSResult
    quality: Evaluation
    boot: BootstrapResult | None

    def paths(self) -> pd.DataFrame:
        table = self.fit.paths_table().rename(columns={"source": "from", "target": "to"})
        if self.boot is not None:
            extra = self.boot.paths.loc[:, list(BOOT_COLUMNS)].reset_index(drop=True)
            table = pd.concat([table.reset_index(drop=True), extra], axis=1)
        return table

    def outer(self) -> pd.DataFrame:
        table = self.fit.outer_table()
        if self.boot is not None:
            for family, prefix in (("weights", "weight"), ("loadings", "loading")):
                frame = self.boot.table(family)
                for col in BOOT_COLUMNS:
                    table[f"{prefix}_{col}"] = frame[col].to_numpy()
        return table

    def effects(self) -> pd.DataFrame:
        table = self.fit.effects_table().rename(columns={"source": "from", "target": "to"})
        if self.boot is not None:
            for family in ("indirect", "total"):
                frame = self.boot.table(family).rename(columns={"source": "from", "target": "to"})
                frame = frame.loc[:, ["from", "to", "se", "p", "ci_low", "ci_high"]]
                frame.columns = pd.Index(
                    ["from", "to", *(f"{family}_{c}" for c in ("se", "p", "ci_low", "ci_high"))]
                )
                table = table.merge(frame, on=["from", "to"], how="left")
        return table

    def constructs(self) -> pd.DataFrame:
        table = self.fit.constructs_table()
        return table.loc[:, ["construct", "mode", "n_items", "r2", "r2_adj", "index"]]

    def reliability(self) -> pd.DataFrame:
        return self.quality.reliability

    def htmt(self) -> pd.DataFrame:
        """The HTMT matrix with the construct names as its first column."""
        return self.quality.htmt.rename_axis("construct").reset_index()

    def fornell_larcker(self) -> pd.DataFrame:
        """√AVE on the diagonal, construct correlations below it; construct names first."""
        return self.quality.fornell_larcker.rename_axis("construct").reset_index()

    def cross_loadings(self) -> pd.DataFrame:
        """Every item's correlation with every construct; the item's own construct first."""
        frame = self.quality.cross_loadings.rename_axis("item").reset_index()
        owner = [self.fit.model.construct_of(str(i)) for i in frame["item"]]
        frame.insert(1, "construct", owner)
        return frame

    def summary(self) -> pd.DataFrame:
        table = self.fit.summary_table()
        if self.boot is not None:
            table["n_boot"] = self.boot.n_boot
            table["seed"] = self.boot.seed
        return table

    def to_dict(self) -> dict[str, Any]:
        fit = self.fit
        outer = self.outer()
        weights = outer.loc[:, ["construct", "item", "weight"]]
        loadings = outer.loc[:, ["construct", "item", "loading"]]
        if self.boot is not None:
            weights = weights.join(_prefixed(outer, "weight_"))
            loadings = loadings.join(_prefixed(outer, "loading_"))
        constructs = self.constructs()
        return {
            "n": fit.n,
            "n_dropped": fit.n_dropped,
            "n_imputed": fit.n_imputed,
            "iterations": fit.iterations,
            "converged": fit.converged,
            "paths": records(self.paths()),
            "weights": records(weights),
            "loadings": records(loadings),
            "r2": records(constructs.loc[constructs["r2"].notna(), ["construct", "r2", "r2_adj"]]),
            "index": records(constructs.loc[:, ["construct", "index"]]),
            "reliability": records(self.reliability()),
            "htmt": records(self.htmt()),
            "fornell_larcker": records(self.fornell_larcker()),
            "cross_loadings": records(self.cross_loadings()),
            "gof": plain(fit.gof),
            "effects": records(self.effects()),
            "bootstrap": None if self.boot is None else plain(self.boot.settings()),
        }


def _unique(messages: list[Message]) -> tuple[Message, ...]:
    seen: dict[tuple[str, str], Message] = {}
    for m in messages:
        seen.setdefault((m.key, repr(sorted(m.params.items()))), m)
    return tuple(seen.values())


def _prefixed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    cols = [c for c in frame.columns if c.startswith(prefix)]
    return frame.loc[:, cols].rename(columns=lambda c: c.removeprefix(prefix))


@dataclasses.dataclass(frozen=True, eq=False)
class PLSOutput:
    """What ``allegiance pls`` shows: the whole sample and, with ``--by``, every group."""

    model: PathModel
    model_source: str
    scheme: str
    missing: str
    overall: Fitted
    by: str | None = None
    groups: tuple[tuple[str, Fitted], ...] = ()
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        main = self.overall
        out = {
            "paths": main.paths(),
            "constructs": main.constructs(),
            "reliability": main.reliability(),
            "outer": main.outer(),
            "effects": main.effects(),
            "htmt": main.htmt(),
            "fornell_larcker": main.fornell_larcker(),
            "cross_loadings": main.cross_loadings(),
            "summary": main.summary(),
        }
        if self.groups:
            out["group_paths"] = pd.concat(
                [g.paths().assign(group=key) for key, g in self.groups], ignore_index=True
            ).loc[:, lambda f: ["group", *[c for c in f.columns if c != "group"]]]
            out["group_constructs"] = pd.concat(
                [
                    g.constructs().assign(group=key, n=g.fit.n, gof=g.fit.gof)
                    for key, g in self.groups
                ],
                ignore_index=True,
            ).loc[:, lambda f: ["group", *[c for c in f.columns if c != "group"]]]
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": "pls",
            "model": {"source": self.model_source, **self.model.to_dict()},
            "settings": {"scheme": self.scheme, "missing": self.missing},
            **self.overall.to_dict(),
        }
        if self.by is not None:
            out["by"] = self.by
            out["groups"] = [{"group": key, **g.to_dict()} for key, g in self.groups]
        return out


DISPLAY_COLUMNS: dict[str, tuple[str, ...]] = {
    "paths": ("from", "to", "coefficient", "se", "p", "ci_low", "ci_high"),
    "reliability": ("construct", "k", "alpha", "rho_c", "rho_a", "ave"),
    "group_constructs": ("group", "construct", "n", "r2", "index", "gof"),
}
"""Columns printed in the terminal (``--format table``); files and JSON keep them all."""


NAME_COLUMNS = ("from", "to", "construct", "target", "predictor")
"""Columns holding construct names (shown by their Chinese names with ``--lang zh``)."""

NAME_PARAMS = ("construct", "other", "first", "second", "where", "name", "source", "target")
"""Warning parameters that may hold a construct name."""


def construct_names(model: PathModel, lang: str) -> dict[str, str]:
    """Construct name -> the name to show in ``lang`` (the template's ``name_zh`` in Chinese)."""
    if lang != "zh":
        return {}
    return {c.name: c.name_zh for c in model.constructs if c.name_zh}


def translate_frame(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``frame`` with construct names in the name columns and in the column headers replaced."""
    if not names:
        return frame
    out = frame.copy()
    for col in NAME_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: names.get(v, v) if isinstance(v, str) else v)
    return out.rename(columns=lambda c: names.get(c, c))


def translate_message(message: Message, names: dict[str, str]) -> Message:
    """A warning with the construct names among its parameters shown as ``names`` says."""
    if not names:
        return message
    params = {
        k: (names.get(v, v) if k in NAME_PARAMS and isinstance(v, str) else v)
        for k, v in message.params.items()
    }
    return Message(message.key, params)


@dataclasses.dataclass(frozen=True, eq=False)
class _Display:
    """The terminal view: the main tables, each with its most-read columns, construct names
    in the chosen language."""

    result: PLSOutput
    lang: str = "en"

    @property
    def _names(self) -> dict[str, str]:
        return construct_names(self.result.model, self.lang)

    @property
    def warnings(self) -> tuple[Message, ...]:
        names = self._names
        return tuple(translate_message(w, names) for w in self.result.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        names = self._names
        for name, frame in self.result.tables().items():
            keep = DISPLAY_COLUMNS.get(name)
            view = frame.loc[:, [c for c in keep if c in frame.columns]] if keep else frame
            out[name] = translate_frame(view, names)
        return out

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


@dataclasses.dataclass(frozen=True, eq=False)
class _OneTable:
    """``--format csv`` without ``--out`` prints one table: the paths."""

    result: PLSOutput
    name: str

    @property
    def warnings(self) -> tuple[Message, ...]:
        return self.result.warnings

    def tables(self) -> dict[str, pd.DataFrame]:
        return {self.name: self.result.tables()[self.name]}

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def _model(value: str, project: Path | None) -> tuple[PathModel, str]:
    from allegiance.pls.templates import load_model, model_names

    if value.strip().lower() in model_names():
        return load_model(value), value.strip().lower()
    path = resolve_input(Path(value).expanduser(), project)
    return load_model(path if path.is_file() else value), str(path)


def item_mapping(value: str, project: Path | None = None) -> dict[str, str]:
    """``--items``: ``OLD=NEW,OLD2=NEW2`` or a file (YAML/JSON mapping, or a CSV with two
    columns, model item then data column) renaming the model's items to a file's columns."""
    import yaml

    path = resolve_input(Path(value).expanduser(), project)
    pairs: list[tuple[str, str]] = []
    if path.is_file():
        if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
            from allegiance.io.reader import read_table

            frame = read_table(path).frame
            if frame.shape[1] < 2:
                raise typer.BadParameter(
                    t("cli.pls.bad_items", None, value=value), param_hint="--items"
                )
            pairs = [(str(a), str(b)) for a, b in frame.iloc[:, :2].itertuples(index=False)]
        else:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise typer.BadParameter(
                    t("cli.pls.bad_items", None, value=value), param_hint="--items"
                )
            pairs = [(str(a), str(b)) for a, b in data.items()]
    else:
        for part in value.replace("，", ",").split(","):
            if not part.strip():
                continue
            old, sep, new = part.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise typer.BadParameter(
                    t("cli.pls.bad_items", None, value=part), param_hint="--items"
                )
            pairs.append((old.strip(), new.strip()))
    return dict(pairs)


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    chosen = value.strip().lower()
    if chosen not in allowed:
        raise typer.BadParameter(
            t("cli.pls.bad_choice", None, value=value, allowed=", ".join(allowed)),
            param_hint=option,
        )
    return chosen


def fit_one(
    frame: pd.DataFrame,
    model: PathModel,
    *,
    scheme: str,
    missing: str,
    n_boot: int,
    seed: int | None,
    level: float,
    step: Any = None,
) -> Fitted:
    """Estimate, evaluate and (with ``n_boot > 0``) bootstrap ``model`` on ``frame``."""
    from allegiance.pls import estimate, evaluate
    from allegiance.pls.bootstrap import bootstrap

    fit = estimate(model, frame, scheme=scheme, missing=missing)  # type: ignore[arg-type]
    quality = evaluate(fit)
    boot = None
    if n_boot > 0:
        boot = bootstrap(
            frame,
            model=model,
            n_boot=n_boot,
            seed=seed,
            scheme=scheme,
            missing=missing,
            level=level,
            progress=step,
        )
    return Fitted(fit, quality, boot)


def pls_cmd(
    file: FileArg,
    model: ModelOpt = "ecsi",
    scheme: SchemeOpt = "path",
    n_boot: BootOpt = 0,
    seed: SeedOpt = None,
    missing: MissingOpt = "listwise",
    by: ByOpt = None,
    level: LevelOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    items: ItemsOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import read_table
    from allegiance.pls import MISSING, SCHEMES

    chosen_scheme = _choice(scheme, SCHEMES, "--scheme")
    chosen_missing = _choice(missing, MISSING, "--missing")
    path_model, source = _model(model, project)
    renamed = item_mapping(items, project) if items else {}
    if renamed:
        path_model = path_model.rename_items(renamed)
    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    table.require([*path_model.items, *([by] if by else [])])
    frame = table.frame.copy()
    for item in path_model.items:
        frame[item] = table.numeric(item)

    with progress(n_boot > 0) as update:

        def step(name: str, done: int, total: int) -> None:
            update(t(f"plsx.step.{name}"), done, total)

        overall = fit_one(
            frame,
            path_model,
            scheme=chosen_scheme,
            missing=chosen_missing,
            n_boot=n_boot,
            seed=seed,
            level=level,
            step=step,
        )
        groups: list[tuple[str, Fitted]] = []
        failed: list[Message] = []
        if by is not None:
            for key, part in frame.groupby(by, sort=True, dropna=False):
                label = "" if pd.isna(key) else str(key)
                try:
                    one = fit_one(
                        part,
                        path_model,
                        scheme=chosen_scheme,
                        missing=chosen_missing,
                        n_boot=n_boot,
                        seed=seed,
                        level=level,
                    )
                except AllegianceError as exc:
                    failed.append(
                        Message(
                            "plsx.warn.group_failed",
                            {"by": by, "group": label, "n": len(part), "reason": exc.render()},
                        )
                    )
                    continue
                groups.append((label, one))
    warnings: list[Message] = [*table.warnings, *overall.fit.warnings, *failed]
    if overall.boot is not None:
        warnings.extend(overall.boot.warnings)
    warnings.extend(overall.quality.warnings)
    result = PLSOutput(
        model=path_model,
        model_source=source,
        scheme=chosen_scheme,
        missing=chosen_missing,
        overall=overall,
        by=by,
        groups=tuple(groups),
        warnings=_unique(warnings),
    )
    inputs: dict[str, Any] = {
        "file": str(path),
        "rows": len(frame),
        "model": source,
        "scheme": chosen_scheme,
        "missing": chosen_missing,
        "bootstrap": n_boot,
        "seed": overall.boot.seed if overall.boot is not None else seed,
        "level": level,
        "by": by,
    }
    if renamed:
        inputs["items"] = renamed
    if table.encoding is not None:
        inputs["encoding"] = table.encoding
    shown: Any = result
    if fmt is OutputFormat.csv and out is None:
        shown = _OneTable(result, "group_paths" if by is not None else "paths")
    elif fmt is OutputFormat.table and out is None:
        shown = _Display(result, current_lang())
    show = (*SHOWN, "group_constructs") if by is not None else SHOWN
    emit(shown, command="pls", inputs=inputs, fmt=fmt, out=out, show=show)


def register(app: typer.Typer) -> None:
    """Add the ``pls`` command to ``app``."""
    app.command("pls", help=h("cli.pls.help"))(pls_cmd)
