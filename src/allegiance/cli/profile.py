"""``allegiance customers profile``: the per-customer table (level, score, RFM, grade, CLV).

Reads the tables with :func:`allegiance.customers.inputs.read_source` (``--mapping`` as the
other ``customers`` commands), brings the step engine's state up to date, calls
:func:`allegiance.customers.profile.customer_profile` (which writes the Parquet table) and,
with ``--to-db TABLE``, copies the table into a database through
:func:`allegiance.store.export.export_parquet` (batches, one transaction). With ``--project``
the inputs, the state and the output default to the project's ``data/`` folder.
"""

from __future__ import annotations

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
    h,
    progress,
    resolve_input,
)
from allegiance.cli.customers import (
    CustomersOpt,
    EngineOpt,
    MappingOpt,
    MasterOpt,
    MemoryOpt,
    NoValidateOpt,
    _pairs,
    customers_app,
)
from allegiance.errors import InputError, StoreError, ValidationError
from allegiance.i18n import Message, current_lang, t

HEAD_COLUMNS = (
    "customer_id",
    "segment",
    "level",
    "level_change",
    "at_risk",
    "loyalty_score",
    "rfm_code",
    "tier",
    "grade",
    "p_alive",
    "clv",
)


class _Run:
    """The profile and, when asked for, the database export, as one result for ``emit``."""

    def __init__(self, profile: Any, export: Any = None) -> None:
        self.profile = profile
        self.export = export

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(self.profile.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = dict(self.profile.tables())
        head = out.get("head")
        if head is not None:  # the whole rows are in the Parquet table and in the JSON
            out["head"] = head[[c for c in HEAD_COLUMNS if c in head.columns]]
        if self.export is not None:
            out.update(self.export.tables())
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.profile.to_dict())
        out["export"] = None if self.export is None else self.export.to_dict()
        return out


def _given(value: str | None, project: Path | None) -> str | None:
    """A file option: database sources (``URL#table``) as they are, paths looked up in the
    project folder."""
    if value is None or "://" in value:
        return value
    return str(resolve_input(Path(value), project))


def profile_cmd(
    activity: Annotated[
        str | None,
        typer.Argument(help=h("cli.customers.opt.activity_project"), show_default=False),
    ] = None,
    customers: CustomersOpt = None,
    facts: Annotated[str | None, typer.Option("--facts", help=h("cli.loyalty.opt.facts"))] = None,
    transactions: Annotated[
        str | None, typer.Option("--transactions", help=h("cli.customers.opt.transactions"))
    ] = None,
    rules: Annotated[str | None, typer.Option("--rules", help=h("cli.loyalty.opt.rules"))] = None,
    state: Annotated[Path | None, typer.Option("--state", help=h("cli.loyalty.opt.state"))] = None,
    full: Annotated[bool, typer.Option("--full", help=h("cli.loyalty.opt.full"))] = False,
    hierarchy: Annotated[
        str, typer.Option("--hierarchy", help=h("cli.loyalty.opt.hierarchy"))
    ] = "loyalty_standard",
    normalisation: Annotated[
        str, typer.Option("--normalisation", help=h("cli.loyalty.opt.normalisation"))
    ] = "max",
    q: Annotated[int, typer.Option("--q", help=h("cli.customers.opt.q"))] = 5,
    tiers: Annotated[str | None, typer.Option("--tiers", help=h("cli.customers.opt.tiers"))] = None,
    weights: Annotated[
        str | None, typer.Option("--weights", help=h("cli.customers.opt.weights"))
    ] = None,
    cuts: Annotated[str, typer.Option("--cuts", help=h("cli.customers.opt.cuts"))] = "0.7,0.4",
    scaling: Annotated[
        str, typer.Option("--scaling", help=h("cli.customers.opt.scaling"))
    ] = "rank",
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, help=h("cli.customers.opt.clv_horizon"))
    ] = 12,
    discount: Annotated[
        float, typer.Option("--discount", help=h("cli.customers.opt.discount"))
    ] = 0.01,
    margin: Annotated[float, typer.Option("--margin", help=h("cli.customers.opt.margin"))] = 1.0,
    risk_months: Annotated[
        int, typer.Option("--risk-months", min=1, help=h("cli.customers.opt.risk_months"))
    ] = 1,
    drop: Annotated[int, typer.Option("--drop", min=1, help=h("cli.customers.opt.drop"))] = 2,
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help=h("cli.customers.opt.parquet"))
    ] = None,
    to_db: Annotated[str | None, typer.Option("--to-db", help=h("cli.customers.opt.to_db"))] = None,
    db: Annotated[str | None, typer.Option("--db", help=h("cli.customers.opt.db"))] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help=h("cli.customers.opt.replace"))
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help=h("cli.customers.opt.batch"))
    ] = 50_000,
    mapping: MappingOpt = None,
    engine: EngineOpt = "duckdb",
    master: MasterOpt = None,
    memory_limit: MemoryOpt = None,
    no_validate: NoValidateOpt = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.customers.engine import connect
    from allegiance.customers.inputs import load_mapping, read_source
    from allegiance.customers.profile import PROFILE_TABLE, STEPS_FOLDER, customer_profile

    root = project.expanduser() if project is not None else None
    data_dir = (root or Path(".")) / "data"

    def default(name: str) -> str | None:
        path = data_dir / f"{name}.parquet"
        return str(path) if root is not None and path.is_file() else None

    act = _given(activity, root) or default("activity")
    if act is None:
        raise InputError("customers.profile.no_activity")
    cus = _given(customers, root) or default("customers")
    fac = _given(facts, root) or default("loyalty_facts")
    txn = _given(transactions, root)
    folder = state if state is not None else data_dir / STEPS_FOLDER
    if parquet is not None:
        target = parquet
    elif root is not None:
        target = data_dir / f"{PROFILE_TABLE}.parquet"
    elif out is not None:
        target = out / f"{PROFILE_TABLE}.parquet"
    else:
        target = Path(f"{PROFILE_TABLE}.parquet")
    tier_list = _pairs(tiers, option="--tiers", example="top:0.01,large:0.04,medium:0.15,small:0.8")
    weight_list = _pairs(weights, option="--weights", example="monetary:0.5,frequency:0.3")
    try:
        cut_values = tuple(float(x) for x in cuts.replace("，", ",").split(","))
    except ValueError:
        raise ValidationError(
            "customers.error.option", option="--cuts", value=cuts, example="0.7,0.4"
        ) from None
    url = None
    if to_db is not None:
        url = _database(db, root)
    columns = load_mapping(mapping)
    validate = not no_validate
    shown = fmt is OutputFormat.table
    export = None
    with connect(engine, master=master, memory_limit=memory_limit) as eng, progress(shown) as step:
        label = t("cli.customers.profile.progress", current_lang())
        read = {
            kind: None
            if src is None
            else read_source(eng, src, kind=kind, mapping=columns.get(kind), validate=validate)
            for kind, src in (("activity", act), ("customers", cus))
        }
        txn_table = (
            None
            if txn is None
            else read_source(
                eng, txn, kind="activity", mapping=columns.get("activity"), validate=validate
            )
        )
        result = customer_profile(
            eng,
            read["activity"],
            customers=read["customers"],
            facts=fac,
            transactions=txn_table,
            rules=rules,
            full=full,
            steps=folder,
            path=target,
            hierarchy=_hierarchy(hierarchy, root),
            normalisation=normalisation,
            q=q,
            tiers=tier_list,
            weights=dict(weight_list) if weight_list else None,
            cuts=cut_values,
            scaling=scaling,
            horizon=horizon,
            discount_rate=discount,
            margin=margin,
            risk_months=risk_months,
            risk_drop=drop,
            progress=lambda _s, done, total: step(label, done, total),
            lang=current_lang(),
        )
    if to_db is not None and url is not None:
        from allegiance.store.export import export_parquet

        with progress(shown) as step:
            label = t("cli.customers.profile.exporting", current_lang())
            export = export_parquet(
                result.path,
                url,
                to_db,
                batch_size=batch_size,
                replace=replace,
                progress=lambda done, total: step(label, done, total),
            )
    run = _Run(result, export)

    def headline(con: Console) -> None:
        lang_now = current_lang()
        con.print(
            t(
                "cli.customers.profile.written",
                lang_now,
                n=f"{result.n_customers:,}",
                path=str(result.path),
                at_risk=f"{result.n_at_risk:,}",
            )
        )
        if export is not None:
            con.print(
                t(
                    "cli.customers.profile.exported",
                    lang_now,
                    rows=f"{export.n_rows:,}",
                    table=export.table,
                    url=export.url,
                    batches=export.n_batches,
                )
            )

    emit(
        run,
        command="customers profile",
        inputs={
            "activity": act,
            "customers": cus,
            "facts": fac,
            "transactions": txn,
            "rules": rules or "steps_default",
            "state": str(folder),
            "hierarchy": hierarchy,
            "horizon": horizon,
            "discount": discount,
            "margin": margin,
            "risk_months": risk_months,
            "drop": drop,
            "parquet": str(target),
            "to_db": to_db,
            "engine": engine,
        },
        fmt=fmt,
        out=out,
        extra=headline,
        show=["levels", "grades", "tiers", "value", "head"],
    )


def _hierarchy(name: str, project: Path | None) -> Any:
    from allegiance.cli.csi import hierarchy_file
    from allegiance.methods import ahp

    return ahp.analyze(ahp.load_hierarchy(hierarchy_file(name, project=project)))


def _database(given: str | None, project: Path | None) -> str:
    """The database for ``--to-db``: ``--db``, else ``ALLEGIANCE_DATABASE_URL``, else the
    project's database."""
    if given:
        return given
    from allegiance.settings import get_settings

    configured = get_settings().database_url
    if configured:
        return configured
    if project is not None:
        from allegiance.project import open_project

        return open_project(project).database_url
    raise StoreError("store.export.no_url")


def register(app: typer.Typer) -> None:
    """Add ``profile`` to the ``customers`` command group (registered by
    :mod:`allegiance.cli.customers`)."""
    del app
    if not any(c.name == "profile" for c in customers_app.registered_commands):
        customers_app.command("profile", help=h("cli.customers.profile.help"))(profile_cmd)
