"""``allegiance compare FILE`` (segments, waves, competitors) and ``allegiance loyalty-link FILE``
(loyalty by satisfaction level, the very-satisfied multiple, employees and customers by branch).

Each command reads its data file(s) with :func:`allegiance.io.reader.read_table`, turns
the columns it uses into numbers (a bad answer stops the command with the file, row,
column and value), calls :mod:`allegiance.methods.compare` or
:mod:`allegiance.methods.loyalty_link` and renders the result with :func:`emit`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

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
    resolve_input,
)
from allegiance.cli.display import Displayed
from allegiance.errors import ValidationError
from allegiance.i18n import Message, t

COMPARE_VALUES: dict[str, tuple[str, ...]] = {
    "kind": ("compare.value.kind",),
    "statistic": ("compare.value.statistic",),
    "test": ("section.compare.test", "compare.value.test"),
    "effect": ("section.compare.effect", "compare.value.effect"),
    "verdict": ("section.compare.verdict",),
}
"""Codes in the compare tables shown in the chosen language (``--format table``)."""

LOYALTY_VALUES: dict[str, tuple[str, ...]] = {
    "method": ("section.loyalty_link.method",),
    "measure": ("compare.value.measure",),
}
"""Codes in the loyalty-link tables shown in the chosen language (``--format table``)."""

INDEX = "index"
"""The name of the satisfaction index among the compared measures."""

FileArg = Annotated[Path, typer.Argument(help=h("cli.compare.opt.file"), show_default=False)]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.score.opt.sheet"))]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", help=h("cli.score.opt.confidence"))]
AdjustOpt = Annotated[str, typer.Option("--adjust", help=h("cli.compare.opt.adjust"))]
AlphaOpt = Annotated[float, typer.Option("--alpha", help=h("cli.compare.opt.alpha"))]


def _names(value: str | None, *, option: str) -> list[str]:
    """A comma-separated list (full-width commas accepted); empty when not given."""
    if value is None:
        return []
    out = [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]
    if not out:
        raise typer.BadParameter(t("cli.compare.bad_list", None, option=option, value=value))
    return out


def _kind_pairs(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        column, sep, kind = value.partition("=")
        if not sep or not column.strip() or not kind.strip():
            raise typer.BadParameter(t("cli.compare.bad_kind", None, value=value))
        out[column.strip()] = kind.strip().lower()
    return out


@dataclasses.dataclass(frozen=True)
class _Loaded:
    table: Any
    frame: Any
    path: Path


def _load(file: Path, *, project: Path | None, encoding: str | None, sheet: str | None) -> _Loaded:
    from allegiance.io.reader import read_table

    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    return _Loaded(table, table.frame.copy(), path)


def _numeric(
    loaded: _Loaded, column: str, *, allowed: tuple[float, float] | None, integer: bool
) -> None:
    loaded.frame[column] = loaded.table.numeric(column, allowed=allowed, integer=integer)


def _inputs(loaded: _Loaded, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"file": str(loaded.path), "rows": len(loaded.frame)}
    if loaded.table.encoding is not None:
        out["encoding"] = loaded.table.encoding
    if loaded.table.sheet is not None:
        out["sheet"] = loaded.table.sheet
    out.update(extra)
    return out


@dataclasses.dataclass(frozen=True)
class _WithReaderWarnings:
    """A result plus the warnings of the file reader(s)."""

    result: Any
    extra: tuple[Message, ...]

    @property
    def warnings(self) -> tuple[Message, ...]:
        return (*self.extra, *self.result.warnings)

    def tables(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.tables()
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.result.to_dict()
        return out


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------


def _csi_index(hierarchy: Path | None, project: Path | None, n_boot: int, seed: int) -> Any:
    """The calculation-standard CSI with the shipped hierarchy template (or ``--hierarchy``)."""
    from allegiance.methods import ahp
    from allegiance.methods.compare import CSIIndex
    from allegiance.templates import template_path

    source = template_path("hierarchies", "calculation_standard")
    if hierarchy is not None:
        source = resolve_input(hierarchy, project)
    analysed = ahp.analyze(ahp.load_hierarchy(source))
    return CSIIndex(hierarchy=analysed, name=INDEX, n_boot=n_boot, seed=seed)


def compare_cmd(
    file: FileArg,
    by: Annotated[str | None, typer.Option("--by", "-b", help=h("cli.compare.opt.by"))] = None,
    wave: Annotated[str | None, typer.Option("--wave", help=h("cli.compare.opt.wave"))] = None,
    order: Annotated[str | None, typer.Option("--order", help=h("cli.compare.opt.order"))] = None,
    measures: Annotated[
        str | None, typer.Option("--measures", "-m", help=h("cli.compare.opt.measures"))
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=h("cli.compare.opt.kind"))
    ] = None,
    factors: Annotated[
        str | None, typer.Option("--factors", help=h("cli.compare.opt.factors"))
    ] = None,
    csat_points: Annotated[
        int, typer.Option("--csat-points", help=h("cli.compare.opt.csat_points"))
    ] = 5,
    brand: Annotated[str | None, typer.Option("--brand", help=h("cli.compare.opt.brand"))] = None,
    ours: Annotated[str | None, typer.Option("--ours", help=h("cli.compare.opt.ours"))] = None,
    respondent: Annotated[
        str, typer.Option("--respondent", help=h("cli.compare.opt.respondent"))
    ] = "respondent_key",
    items: Annotated[str, typer.Option("--items", help=h("cli.compare.opt.items"))] = "cs_*",
    customers: Annotated[
        Path | None, typer.Option("--customers", help=h("cli.compare.opt.customers"))
    ] = None,
    customer_id: Annotated[
        str, typer.Option("--customer-id", help=h("cli.compare.opt.customer_id"))
    ] = "customer_id",
    csi: Annotated[bool, typer.Option("--csi/--no-csi", help=h("cli.compare.opt.csi"))] = True,
    hierarchy: Annotated[
        Path | None, typer.Option("--hierarchy", help=h("cli.compare.opt.hierarchy"))
    ] = None,
    index_boot: Annotated[
        int, typer.Option("--index-boot", min=0, help=h("cli.compare.opt.index_boot"))
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0, help=h("cli.compare.opt.seed"))] = 0,
    adjust: AdjustOpt = "holm",
    alpha: AlphaOpt = 0.05,
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import require_columns
    from allegiance.methods import compare

    if by is None and wave is None and brand is None:
        raise ValidationError("compare.nothing_to_compare")
    if brand is not None and ours is None:
        raise ValidationError("compare.ours_needed")
    loaded = _load(file, project=project, encoding=encoding, sheet=sheet)
    extra_warnings: list[Message] = list(loaded.table.warnings)
    joined_from: str | None = None
    if customers is not None:
        from allegiance.cli.joins import join_file

        frame, more, joined = join_file(
            loaded.frame,
            customers,
            key=customer_id,
            survey_file=loaded.path,
            project=project,
            encoding=encoding,
        )
        loaded = _Loaded(loaded.table, frame, loaded.path)
        extra_warnings.extend(more)
        joined_from = str(joined)
    columns = [str(c) for c in loaded.frame.columns]
    kinds = _kind_pairs(kind)
    wanted = _names(measures, option="--measures")
    index_spec = None
    if wanted:
        computed = INDEX in wanted and INDEX not in columns
        chosen = compare.expand_columns([w for w in wanted if not computed or w != INDEX], columns)
        if computed:
            index_spec = _csi_index(hierarchy, project, index_boot, seed)
    else:
        chosen = [c for c in ("nps", "csat", "ces", INDEX) if c in columns]
        if csi and INDEX not in columns and (by is not None or wave is not None):
            spec = _csi_index(hierarchy, project, index_boot, seed)
            index_spec = spec if spec.available(loaded.frame) else None
        if not chosen and index_spec is None and brand is None:
            raise ValidationError("compare.no_default_measures", columns=", ".join(columns[:20]))
    if not csi:
        index_spec = None
    factor_list = compare.expand_columns(_names(factors, option="--factors"), columns)
    require_columns(loaded.frame, [c for c in (by, wave, brand) if c], file=loaded.path)
    kind_map = {m: kinds.get(m, "") for m in chosen}
    for m in chosen:
        resolved = kind_map[m] or (
            "nps" if m.lower() == "nps" else "csat" if m.lower() == "csat" else "mean"
        )
        if resolved == "nps":
            _numeric(loaded, m, allowed=(0, 10), integer=True)
        elif resolved == "csat":
            _numeric(loaded, m, allowed=(1, csat_points), integer=True)
        else:
            _numeric(loaded, m, allowed=None, integer=False)
    for f in factor_list:
        if f not in chosen:
            _numeric(loaded, f, allowed=None, integer=False)
    if index_spec is not None:
        for column in index_spec.factor_columns(loaded.frame)[0]:
            if column not in chosen and column not in factor_list:
                _numeric(loaded, column, allowed=(1, 5), integer=True)
    segments = waves = competitors = None
    measured = [*chosen, *([index_spec.name] if index_spec is not None else [])]
    if by is not None and measured:
        segments = compare.compare_segments(
            loaded.frame,
            by=by,
            measures=chosen or [index_spec.name],  # type: ignore[union-attr]
            kinds=kinds or None,
            factors=factor_list,
            csat_points=csat_points,
            adjust=adjust,
            confidence=confidence,
            index=index_spec,
        )
    if wave is not None and measured:
        waves = compare.compare_waves(
            loaded.frame,
            wave=wave,
            measures=chosen or [index_spec.name],  # type: ignore[union-attr]
            kinds=kinds or None,
            order=_names(order, option="--order") or None,
            csat_points=csat_points,
            adjust=adjust,
            alpha=alpha,
            confidence=confidence,
            index=index_spec,
        )
    if brand is not None:
        item_list = compare.expand_columns(_names(items, option="--items"), columns)
        require_columns(loaded.frame, [respondent], file=loaded.path)
        for item in item_list:
            if item not in chosen and item not in factor_list:
                _numeric(loaded, item, allowed=None, integer=False)
        competitors = compare.compare_competitors(
            loaded.frame,
            brand=brand,
            respondent=respondent,
            items=item_list,
            ours=str(ours),
            adjust=adjust,
            alpha=alpha,
            confidence=confidence,
        )
    result = compare.CompareResult(segments=segments, waves=waves, competitors=competitors)
    inputs = _inputs(
        loaded,
        by=by,
        wave=wave,
        order=_names(order, option="--order"),
        measures=measured,
        kinds=kinds,
        index=None
        if index_spec is None
        else {
            "measure": index_spec.name,
            "method": "csi",
            "hierarchy": str(hierarchy) if hierarchy else "calculation_standard",
            "n_boot": index_spec.n_boot,
            "seed": index_spec.seed,
        },
        customers=joined_from,
        factors=factor_list,
        csat_points=csat_points,
        brand=brand,
        ours=ours,
        respondent=respondent if brand else None,
        adjust=adjust,
        alpha=alpha,
        confidence=confidence,
    )
    emit(
        Displayed(
            result,
            columns=COMPARE_VALUES,
            active=fmt is OutputFormat.table,
            extra_warnings=tuple(extra_warnings),
        ),
        command="compare",
        inputs=inputs,
        fmt=fmt,
        out=out,
    )


# --------------------------------------------------------------------------------------------
# loyalty-link
# --------------------------------------------------------------------------------------------


def _rules(values: list[str] | None) -> dict[str, Any]:
    """``COL=3`` / ``COL=4,5`` (codes) or ``COL>=9`` (threshold) → rules by column."""
    from allegiance.methods.loyalty_link import LoyalRule

    out: dict[str, Any] = {}
    for value in values or []:
        text = value.replace("，", ",").replace("＞", ">").replace("＝", "=")
        try:
            if ">=" in text:
                column, number = text.split(">=", 1)
                rule = LoyalRule(threshold=float(number))
            else:
                column, _, codes = text.partition("=")
                rule = LoyalRule(codes=tuple(float(c) for c in codes.split(",") if c.strip()))
        except (ValueError, ValidationError):
            raise typer.BadParameter(t("cli.loyalty_link.bad_rule", None, value=value)) from None
        if not column.strip():
            raise typer.BadParameter(t("cli.loyalty_link.bad_rule", None, value=value))
        out[column.strip()] = rule
    return out


def _numbers(value: str, *, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in value.replace("，", ",").split(",") if p.strip())
    except ValueError:
        raise typer.BadParameter(
            t("cli.compare.bad_list", None, option=option, value=value)
        ) from None


def loyalty_link_cmd(
    file: FileArg,
    satisfaction: Annotated[
        str, typer.Option("--satisfaction", "-s", help=h("cli.loyalty_link.opt.satisfaction"))
    ],
    loyalty: Annotated[
        list[str] | None, typer.Option("--loyalty", "-l", help=h("cli.loyalty_link.opt.loyalty"))
    ] = None,
    loyal: Annotated[
        list[str] | None, typer.Option("--loyal", help=h("cli.loyalty_link.opt.loyal"))
    ] = None,
    levels: Annotated[
        str, typer.Option("--levels", help=h("cli.loyalty_link.opt.levels"))
    ] = "1,2,3,4,5",
    very: Annotated[float, typer.Option("--very", help=h("cli.loyalty_link.opt.very"))] = 5,
    merely: Annotated[float, typer.Option("--merely", help=h("cli.loyalty_link.opt.merely"))] = 4,
    customers: Annotated[
        Path | None, typer.Option("--customers", help=h("cli.loyalty_link.opt.customers"))
    ] = None,
    customer_id: Annotated[
        str, typer.Option("--customer-id", help=h("cli.loyalty_link.opt.customer_id"))
    ] = "customer_id",
    churned: Annotated[
        str, typer.Option("--churned", help=h("cli.loyalty_link.opt.churned"))
    ] = "churned",
    employees: Annotated[
        Path | None, typer.Option("--employees", help=h("cli.loyalty_link.opt.employees"))
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help=h("cli.loyalty_link.opt.branch"))
    ] = None,
    branches: Annotated[
        Path | None, typer.Option("--branches", help=h("cli.loyalty_link.opt.branches"))
    ] = None,
    employee_satisfaction: Annotated[
        str,
        typer.Option(
            "--employee-satisfaction", help=h("cli.loyalty_link.opt.employee_satisfaction")
        ),
    ] = "esat",
    confidence: ConfidenceOpt = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.io.reader import require_columns
    from allegiance.methods import loyalty_link as ll

    rules = _rules(loyal)
    level_values = _numbers(levels, option="--levels")
    measures = list(dict.fromkeys(loyalty or []))
    loaded = _load(file, project=project, encoding=encoding, sheet=sheet)
    require_columns(loaded.frame, [satisfaction, *measures], file=loaded.path)
    _numeric(loaded, satisfaction, allowed=(min(level_values), max(level_values)), integer=False)
    warnings: list[Message] = list(loaded.table.warnings)
    frame = loaded.frame
    if customers is not None:
        cust = _load(customers, project=project, encoding=encoding, sheet=None)
        require_columns(cust.frame, [customer_id, churned], file=cust.path)
        require_columns(frame, [customer_id], file=loaded.path)
        warnings.extend(cust.table.warnings)
        frame = ll.link_retention(frame, cust.frame, customer_id=customer_id, churned=churned)
        measures.append("retained")
    if not measures:
        raise ValidationError("loyalty_link.no_loyalty")
    curve = ll.loyalty_curve(
        frame,
        satisfaction=satisfaction,
        loyalty=measures,
        rules=rules,
        levels=level_values,
        very=very,
        merely=merely,
        confidence=confidence,
    )
    link = None
    if branches is not None:
        from allegiance.cli.joins import join_file

        frame, more, _joined = join_file(
            frame,
            branches,
            key=customer_id,
            survey_file=loaded.path,
            project=project,
            encoding=encoding,
        )
        warnings.extend(more)
        if branch is None and "branch_id" in frame.columns:
            branch = "branch_id"
    if employees is not None:
        if branch is None:
            raise ValidationError("loyalty_link.branch_needed")
        emp = _load(employees, project=project, encoding=encoding, sheet=None)
        require_columns(emp.frame, [branch, employee_satisfaction], file=emp.path)
        require_columns(frame, [branch], file=loaded.path)
        warnings.extend(emp.table.warnings)
        link = ll.employee_link(
            frame,
            emp.frame,
            branch=branch,
            customer_satisfaction=satisfaction,
            employee_satisfaction=employee_satisfaction,
            confidence=confidence,
        )
    result = ll.LoyaltyLinkResult(curve=curve, employees=link)
    inputs = _inputs(
        loaded,
        satisfaction=satisfaction,
        loyalty=measures,
        loyal={k: v.to_dict() for k, v in rules.items()},
        levels=list(level_values),
        very=very,
        merely=merely,
        customers=str(customers) if customers else None,
        employees=str(employees) if employees else None,
        branches=str(branches) if branches else None,
        branch=branch,
        confidence=confidence,
    )
    emit(
        Displayed(
            result,
            columns=LOYALTY_VALUES,
            active=fmt is OutputFormat.table,
            extra_warnings=tuple(warnings),
        ),
        command="loyalty-link",
        inputs=inputs,
        fmt=fmt,
        out=out,
    )


COMMAND_NAMES: tuple[str, ...] = ("compare", "loyalty-link")
"""The commands this module adds."""


def register(app: typer.Typer) -> None:
    """Add ``compare`` and ``loyalty-link`` to ``app``."""
    app.command("compare", help=h("cli.compare.help"))(compare_cmd)
    app.command("loyalty-link", help=h("cli.loyalty_link.help"))(loyalty_link_cmd)
