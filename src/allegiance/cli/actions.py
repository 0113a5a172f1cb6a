"""``allegiance actions ...`` and ``allegiance care ...``: action plans and customer care.

The action register is a file (``actions.yaml`` in the project folder, or ``--register
FILE``; YAML or CSV), read and written by :mod:`allegiance.store.action_register`.

- ``actions list``: the actions, overdue flags and counts per owner.
- ``actions add`` / ``actions update ID``: add an action, change one (status, owner, due …).
- ``actions propose``: draft actions from weakest links (``--weakest``, e.g. the
  ``weakest_links.csv`` that ``allegiance drivers --out DIR`` writes), complaint causes
  (``--causes``: ``cause``, ``count`` and optionally ``class``), audit visits (``--audit``
  with ``--checklist``) and a blueprint (``--blueprint``); ``--add`` appends them to the register.
- ``actions effect RESPONSES``: before/after of each action's measure between its waves.
- ``actions notices``: the "you said, we did" texts and, with ``--respondents``, who gets them.
- ``care calendar CUSTOMERS``: the care contacts due per owner in a date range.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Annotated, Any

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
    resolve_input,
)
from allegiance.cli.display import Displayed
from allegiance.errors import ValidationError
from allegiance.i18n import current_lang

actions_app = typer.Typer(
    name="actions",
    help=h("cli.actions.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
care_app = typer.Typer(
    name="care",
    help=h("cli.care.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

RegisterOpt = Annotated[
    Path | None, typer.Option("--register", "-r", help=h("cli.actions.opt.register"))
]
ACTION_VALUES: dict[str, Any] = {
    "status": ("actions.status",),
    "source": ("actions.source",),
    "kind": ("actions.care",),
    "owner": ("actions.owner",),
}
LIST_COLUMNS: tuple[str, ...] = ("id", "title", "owner", "due", "status", "overdue")
"""The columns printed in table format (JSON, CSV and --out keep every column)."""
PROPOSAL_COLUMNS: tuple[str, ...] = ("id", "title", "source", "owner", "due", "evidence")
EFFECT_COLUMNS: tuple[str, ...] = ("title", "before", "after", "difference", "ci_low", "ci_high")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("actions.bad_option_date", option=option, value=value) from None


def _register_file(register: Path | None, project: Path | None) -> Path:
    from allegiance.store.action_register import register_path

    if register is not None:
        return resolve_input(register, project)
    root = project.expanduser() if project is not None else None
    return register_path(root)


def _read(path: Path, encoding: str | None = None) -> pd.DataFrame:
    from allegiance.io.reader import read_table

    return read_table(path, encoding=encoding).frame


def _titled(frame: pd.DataFrame) -> pd.DataFrame:
    """The title in the chosen language as ``title`` (table format)."""
    lang = current_lang()
    out = frame.copy()
    if f"title_{lang}" in out.columns:
        out["title"] = out[f"title_{lang}"]
    return out


@dataclasses.dataclass(frozen=True)
class _Frames:
    frames: dict[str, pd.DataFrame]
    info: dict[str, Any]
    warnings: tuple[Any, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return self.frames

    def to_dict(self) -> dict[str, Any]:
        from allegiance.results import plain, records

        return {
            **plain(self.info),
            "tables": {k: records(v) for k, v in self.frames.items()},
        }


# --------------------------------------------------------------------------- actions


def list_cmd(
    register: RegisterOpt = None,
    owner: Annotated[str | None, typer.Option("--owner", help=h("cli.actions.opt.owner"))] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help=h("cli.actions.opt.status_filter"))
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=h("cli.actions.opt.as_of"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import action_list
    from allegiance.store.action_register import load_register

    path = _register_file(register, project)
    result = action_list(
        load_register(path), as_of=_date(as_of, "--as-of"), owner=owner, status=status
    )
    table = _titled(result.actions)
    shown = Displayed(
        result,
        columns=ACTION_VALUES,
        active=fmt is OutputFormat.table,
        extra_tables={"actions": table[[c for c in LIST_COLUMNS if c in table.columns]]}
        if fmt is OutputFormat.table
        else {},
    )
    inputs = {"register": str(path), "owner": owner, "status": status, "as_of": as_of}
    emit(shown, command="actions list", inputs=inputs, fmt=fmt, out=out)


def add_cmd(
    title_zh: Annotated[
        str | None, typer.Option("--title-zh", help=h("cli.actions.opt.title_zh"))
    ] = None,
    title_en: Annotated[
        str | None, typer.Option("--title-en", help=h("cli.actions.opt.title_en"))
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help=h("cli.actions.opt.owner"))] = None,
    due: Annotated[str | None, typer.Option("--due", help=h("cli.actions.opt.due"))] = None,
    source: Annotated[str, typer.Option("--source", help=h("cli.actions.opt.source"))] = "manual",
    source_ref: Annotated[
        str | None, typer.Option("--source-ref", help=h("cli.actions.opt.source_ref"))
    ] = None,
    measure: Annotated[
        str | None, typer.Option("--measure", help=h("cli.actions.opt.measure"))
    ] = None,
    baseline_wave: Annotated[
        str | None, typer.Option("--baseline-wave", help=h("cli.actions.opt.baseline_wave"))
    ] = None,
    followup_wave: Annotated[
        str | None, typer.Option("--followup-wave", help=h("cli.actions.opt.followup_wave"))
    ] = None,
    action_id: Annotated[str | None, typer.Option("--id", help=h("cli.actions.opt.id"))] = None,
    register: RegisterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import action_list, add_action
    from allegiance.store.action_register import load_register, save_register

    if not (title_zh or title_en):
        raise ValidationError("actions.need_title")
    path = _register_file(register, project)
    frame = add_action(
        load_register(path),
        id=action_id,
        title_zh=title_zh,
        title_en=title_en,
        owner=owner,
        due=_date(due, "--due"),
        source=source,
        source_ref=source_ref,
        measure=measure,
        baseline_wave=baseline_wave,
        followup_wave=followup_wave,
    )
    save_register(frame, path)
    result = action_list(frame.tail(1))
    emit(result, command="actions add", inputs={"register": str(path)}, fmt=fmt, out=out)


def update_cmd(
    action_id: Annotated[str, typer.Argument(help=h("cli.actions.opt.id"), show_default=False)],
    status: Annotated[
        str | None, typer.Option("--status", help=h("cli.actions.opt.status"))
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help=h("cli.actions.opt.owner"))] = None,
    due: Annotated[str | None, typer.Option("--due", help=h("cli.actions.opt.due"))] = None,
    measure: Annotated[
        str | None, typer.Option("--measure", help=h("cli.actions.opt.measure"))
    ] = None,
    baseline_wave: Annotated[
        str | None, typer.Option("--baseline-wave", help=h("cli.actions.opt.baseline_wave"))
    ] = None,
    followup_wave: Annotated[
        str | None, typer.Option("--followup-wave", help=h("cli.actions.opt.followup_wave"))
    ] = None,
    we_did_zh: Annotated[
        str | None, typer.Option("--we-did-zh", help=h("cli.actions.opt.we_did_zh"))
    ] = None,
    we_did_en: Annotated[
        str | None, typer.Option("--we-did-en", help=h("cli.actions.opt.we_did_en"))
    ] = None,
    register: RegisterOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import action_list, update_action
    from allegiance.store.action_register import load_register, save_register

    path = _register_file(register, project)
    frame = update_action(
        load_register(path, missing_ok=False),
        action_id,
        status=status,
        owner=owner,
        due=_date(due, "--due"),
        measure=measure,
        baseline_wave=baseline_wave,
        followup_wave=followup_wave,
        we_did_zh=we_did_zh,
        we_did_en=we_did_en,
    )
    save_register(frame, path)
    result = action_list(frame[frame["id"] == action_id])
    emit(
        result,
        command="actions update",
        inputs={"register": str(path), "id": action_id},
        fmt=fmt,
        out=out,
    )


def _owners(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        key, sep, name = value.replace("＝", "=").partition("=")
        if not sep or not key.strip() or not name.strip():
            raise ValidationError("actions.bad_owner", value=value)
        out[key.strip()] = name.strip()
    return out


def _known_labels(
    weakest: pd.DataFrame | None, causes: pd.DataFrame | None
) -> dict[str, dict[str, str]]:
    """Labels of the codes allegiance knows: the calculation-standard factors (``cs_*``) and
    SPEC section 6's complaint causes."""
    from allegiance.generate import vocab

    out: dict[str, dict[str, str]] = {}
    factors = set(vocab.codes("cs_factor"))
    if weakest is not None and "item" in weakest.columns:
        for item in weakest["item"].astype(str):
            if item.startswith("cs_") and item[3:] in factors:
                out[item] = {
                    lang: vocab.label("cs_factor", item[3:], lang) for lang in ("zh", "en")
                }
    if causes is not None and "cause" in causes.columns:
        known = set(vocab.codes("cause"))
        for cause in causes["cause"].astype(str):
            if cause in known:
                out[cause] = {lang: vocab.label("cause", cause, lang) for lang in ("zh", "en")}
    return out


def propose_cmd(
    weakest: Annotated[
        Path | None, typer.Option("--weakest", help=h("cli.actions.opt.weakest"))
    ] = None,
    causes: Annotated[
        Path | None, typer.Option("--causes", help=h("cli.actions.opt.causes"))
    ] = None,
    audit: Annotated[Path | None, typer.Option("--audit", help=h("cli.actions.opt.audit"))] = None,
    checklist: Annotated[
        str | None, typer.Option("--checklist", help=h("cli.actions.opt.checklist"))
    ] = None,
    blueprint: Annotated[
        Path | None, typer.Option("--blueprint", help=h("cli.actions.opt.blueprint"))
    ] = None,
    owner: Annotated[
        list[str] | None, typer.Option("--owner", help=h("cli.actions.opt.owners"))
    ] = None,
    due_days: Annotated[
        int, typer.Option("--due-days", min=0, help=h("cli.actions.opt.due_days"))
    ] = 90,
    top: Annotated[int, typer.Option("--top", min=1, help=h("cli.actions.opt.top"))] = 3,
    baseline_wave: Annotated[
        str | None, typer.Option("--baseline-wave", help=h("cli.actions.opt.baseline_wave"))
    ] = None,
    followup_wave: Annotated[
        str | None, typer.Option("--followup-wave", help=h("cli.actions.opt.followup_wave"))
    ] = None,
    add: Annotated[bool, typer.Option("--add", help=h("cli.actions.opt.add"))] = False,
    register: RegisterOpt = None,
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import propose_actions

    if not any((weakest, causes, audit, blueprint)):
        raise ValidationError("actions.nothing_given")
    inputs: dict[str, Any] = {}
    weak_frame = cause_frame = audit_items = steps = None
    if weakest is not None:
        path = resolve_input(weakest, project)
        weak_frame = _read(path, encoding)
        inputs["weakest"] = str(path)
    if causes is not None:
        path = resolve_input(causes, project)
        cause_frame = _read(path, encoding)
        inputs["causes"] = str(path)
    if audit is not None:
        from allegiance.cli.audit import _checklist
        from allegiance.methods.audit import audit_scores

        path = resolve_input(audit, project)
        audit_items = audit_scores(
            _read(path, encoding), checklist=_checklist(checklist, project), by=()
        ).items
        inputs["audit"] = str(path)
    if blueprint is not None:
        from allegiance.cli.blueprint import _read_steps
        from allegiance.methods.blueprint import blueprint as run_blueprint
        from allegiance.methods.blueprint import steps_from_frame

        path = resolve_input(blueprint, project)
        source, header_row = _read_steps(path, encoding, None)
        if not isinstance(source, list):
            source = steps_from_frame(source, header_row=header_row)
        steps = run_blueprint(source).steps
        inputs["blueprint"] = str(path)
    first_id = 1
    path = _register_file(register, project)
    if add:
        from allegiance.store.action_register import load_register

        existing = load_register(path)
        first_id = len(existing) + 1
    result = propose_actions(
        labels=_known_labels(weak_frame, cause_frame),
        weakest=weak_frame,
        causes=cause_frame,
        audit_items=audit_items,
        blueprint_steps=steps,
        owners=_owners(owner),
        due_days=due_days,
        top=top,
        baseline_wave=baseline_wave,
        followup_wave=followup_wave,
        first_id=first_id,
    )
    if add and len(result.actions):
        from allegiance.methods.actions import REGISTER_COLUMNS, validate_register
        from allegiance.store.action_register import load_register, save_register

        existing = load_register(path)
        new = result.actions[list(REGISTER_COLUMNS)].copy()
        taken = set(existing["id"].astype(str))
        new["id"] = [
            f"A{first_id + i:03d}" if f"A{first_id + i:03d}" not in taken else None
            for i in range(len(new))
        ]
        if new["id"].isna().any():
            raise ValidationError("actions.ids_taken", file=str(path))
        combined = pd.concat([existing, new], ignore_index=True) if len(existing) else new
        save_register(validate_register(combined), path)
        inputs["register"] = str(path)
    table = _titled(result.actions)
    shown = Displayed(
        result,
        columns=ACTION_VALUES,
        active=fmt is OutputFormat.table,
        extra_tables={"proposals": table[[c for c in PROPOSAL_COLUMNS if c in table.columns]]}
        if fmt is OutputFormat.table
        else {},
    )
    emit(shown, command="actions propose", inputs=inputs, fmt=fmt, out=out)


def effect_cmd(
    responses: Annotated[
        Path, typer.Argument(help=h("cli.actions.opt.responses"), show_default=False)
    ],
    wave: Annotated[str, typer.Option("--wave", help=h("cli.actions.opt.wave"))] = "wave",
    confidence: Annotated[
        float, typer.Option("--confidence", help=h("cli.actions.opt.confidence"))
    ] = 0.95,
    register: RegisterOpt = None,
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import measure_effects
    from allegiance.store.action_register import load_register

    path = _register_file(register, project)
    data_path = resolve_input(responses, project)
    result = measure_effects(
        load_register(path, missing_ok=False),
        _read(data_path, encoding),
        wave=wave,
        confidence=confidence,
    )
    table = _titled(result.effects)
    table = table[[c for c in EFFECT_COLUMNS if c in table.columns]]
    shown = Displayed(
        result,
        active=fmt is OutputFormat.table,
        extra_tables={"effects": table} if fmt is OutputFormat.table else {},
    )
    inputs = {"register": str(path), "responses": str(data_path), "wave": wave}
    emit(shown, command="actions effect", inputs=inputs, fmt=fmt, out=out)


def notices_cmd(
    respondents: Annotated[
        Path | None, typer.Option("--respondents", help=h("cli.actions.opt.respondents"))
    ] = None,
    template: Annotated[
        Path | None, typer.Option("--template", help=h("cli.actions.opt.template"))
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help=h("cli.actions.opt.threshold"))
    ] = None,
    wave: Annotated[str, typer.Option("--wave", help=h("cli.actions.opt.wave"))] = "wave",
    register: RegisterOpt = None,
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import load_notice_template, measure_effects, notices
    from allegiance.store.action_register import load_register

    path = _register_file(register, project)
    frame = load_register(path, missing_ok=False)
    people = None
    effects = None
    inputs: dict[str, Any] = {"register": str(path), "threshold": threshold}
    if respondents is not None:
        data_path = resolve_input(respondents, project)
        people = _read(data_path, encoding)
        inputs["respondents"] = str(data_path)
        if wave in people.columns:
            effects = measure_effects(frame, people, wave=wave).effects
    tmpl = load_notice_template(resolve_input(template, project)) if template else None
    measures = pd.DataFrame({"item": frame["measure"].dropna().astype(str)})
    result = notices(
        frame,
        people,
        effects=effects,
        template=tmpl,
        threshold=threshold,
        wave=wave,
        labels=_known_labels(measures, None),
    )
    emit(result, command="actions notices", inputs=inputs, fmt=fmt, out=out)


actions_app.command("list", help=h("cli.actions.list.help"))(list_cmd)
actions_app.command("add", help=h("cli.actions.add.help"))(add_cmd)
actions_app.command("update", help=h("cli.actions.update.help"))(update_cmd)
actions_app.command("propose", help=h("cli.actions.propose.help"))(propose_cmd)
actions_app.command("effect", help=h("cli.actions.effect.help"))(effect_cmd)
actions_app.command("notices", help=h("cli.actions.notices.help"))(notices_cmd)


# --------------------------------------------------------------------------- care


def _eol(values: list[str] | None) -> dict[str, date]:
    out: dict[str, date] = {}
    for value in values or []:
        product, sep, when = value.replace("＝", "=").partition("=")
        parsed = _date(when, "--eol") if sep and product.strip() else None
        if parsed is None:
            raise ValidationError("actions.bad_eol", value=value)
        out[product.strip()] = parsed
    return out


def calendar_cmd(
    customers: Annotated[
        Path, typer.Argument(help=h("cli.care.opt.customers"), show_default=False)
    ],
    start: Annotated[str | None, typer.Option("--from", help=h("cli.care.opt.start"))] = None,
    end: Annotated[str | None, typer.Option("--to", help=h("cli.care.opt.end"))] = None,
    purchases: Annotated[
        Path | None, typer.Option("--purchases", help=h("cli.care.opt.purchases"))
    ] = None,
    price_changes: Annotated[
        Path | None, typer.Option("--price-changes", help=h("cli.care.opt.price_changes"))
    ] = None,
    eol: Annotated[list[str] | None, typer.Option("--eol", help=h("cli.care.opt.eol"))] = None,
    join: Annotated[Path | None, typer.Option("--join", help=h("cli.care.opt.join"))] = None,
    owner_column: Annotated[
        str | None, typer.Option("--owner-column", help=h("cli.care.opt.owner_column"))
    ] = None,
    callback_days: Annotated[
        int, typer.Option("--callback-days", min=0, help=h("cli.care.opt.callback_days"))
    ] = 7,
    eol_days: Annotated[
        int, typer.Option("--eol-days", min=0, help=h("cli.care.opt.eol_days"))
    ] = 60,
    price_days: Annotated[
        int, typer.Option("--price-days", min=0, help=h("cli.care.opt.price_days"))
    ] = 30,
    kinds: Annotated[list[str] | None, typer.Option("--kind", help=h("cli.care.opt.kind"))] = None,
    show_all: Annotated[bool, typer.Option("--all", help=h("cli.care.opt.all"))] = False,
    encoding: EncodingOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.actions import CARE_KINDS, CareRules, care_calendar

    first = _date(start, "--from") or date.today()
    last = _date(end, "--to") or date.fromordinal(first.toordinal() + 30)
    cust_path = resolve_input(customers, project)
    cust = _read(cust_path, encoding)
    inputs: dict[str, Any] = {"customers": str(cust_path), "from": first, "to": last}
    if join is not None:
        join_path = resolve_input(join, project)
        other = _read(join_path, encoding)
        if "customer_id" not in other.columns:
            from allegiance.errors import ColumnNotFoundError

            raise ColumnNotFoundError(["customer_id"], other.columns, file=str(join_path))
        extra = [c for c in other.columns if c == "customer_id" or c not in cust.columns]
        cust = cust.merge(other[extra].drop_duplicates("customer_id"), on="customer_id", how="left")
        inputs["join"] = str(join_path)
    buys = _read(resolve_input(purchases, project), encoding) if purchases else None
    prices = _read(resolve_input(price_changes, project), encoding) if price_changes else None
    rules = CareRules(
        callback_days=callback_days,
        eol_lead_days=eol_days,
        price_notice_days=price_days,
        kinds=tuple(kinds) if kinds else CARE_KINDS,
    )
    result = care_calendar(
        cust,
        start=first,
        end=last,
        purchases=buys,
        price_changes=prices,
        end_of_life=_eol(eol),
        rules=rules,
        owner=owner_column,
    )
    inputs.update(
        purchases=None if purchases is None else str(purchases),
        price_changes=None if price_changes is None else str(price_changes),
        eol=list(eol or []),
        owner_column=owner_column,
    )
    limit = None if show_all else 200
    shown = Displayed(
        result,
        columns=ACTION_VALUES,
        active=fmt is OutputFormat.table,
        extra_tables={"due_contacts": result.due if limit is None else result.due.head(limit)}
        if fmt is OutputFormat.table
        else {},
    )
    if fmt is OutputFormat.table and limit is not None and len(result.due) > limit:
        from allegiance.i18n import Message

        shown = dataclasses.replace(
            shown,
            extra_warnings=(
                Message("actions.care_truncated", {"n": len(result.due), "shown": limit}),
            ),
        )
    emit(shown, command="care calendar", inputs=inputs, fmt=fmt, out=out)


care_app.command("calendar", help=h("cli.care.calendar.help"))(calendar_cmd)


def register(app: typer.Typer) -> None:
    """Add the ``actions`` and ``care`` command groups to ``app``."""
    app.add_typer(actions_app, name="actions", help=h("cli.actions.help"))
    app.add_typer(care_app, name="care", help=h("cli.care.help"))
