"""``allegiance reasons`` and ``allegiance comments ...``: coded reasons and free-text comments.

Shapes (every command also takes ``--format table|json|csv``, ``--out DIR``,
``--encoding``, ``--sheet``, ``--lang``, ``--project``)::

    allegiance reasons FILE [--column reasons] [--sep ;] [--by COL]... [--customers FILE]
                            [--factors SPEC] [--base answered|all] [--threshold 0.8]
    allegiance comments keywords FILE [--column comment] [--lang-column COL | --text-lang zh|en]
                            [--top 20] [--method tfidf|textrank] [--ngram 2]
    allegiance comments search FILE TERM... [--match substring|token] [--all] [--keep COL]...
    allegiance comments sentiment FILE [--by COL]... [--engine lexicon|vader] [--evaluate COL]
    allegiance comments verbatims FILE --keywords reasons.yaml [--reasons-column reasons]
                            [--by-factor factors.yaml]

Comment text is printed as written: in table format it is escaped so that
brackets in a comment are never read as Rich markup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
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
from allegiance.cli.display import Displayed, Shown, translate_value
from allegiance.errors import ConfigError
from allegiance.i18n import Message
from allegiance.io.reader import DataTable, read_table, require_columns

REASON_KEYS = ("generate.reason", "vocab.reason", "reason")
"""Where a reason code's label is looked up (the demo's reasons are ``generate.reason.*``)."""
FACTOR_KEYS = ("generate.cs_factor", "vocab.cs_factor", "cs_factor")
"""Where a factor code's label is looked up (the calculation-standard factors)."""


def _reason_label(value: Any) -> Any:
    return translate_value(value, REASON_KEYS)


def _reason_list(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return " / ".join(str(_reason_label(part)) for part in value.split(";") if part)


def _factor_label(value: Any) -> Any:
    return translate_value(value, FACTOR_KEYS)


REASON_VALUES: dict[str, Any] = {
    "reason": _reason_label,
    "reasons": _reason_list,
    "factor": _factor_label,
}
"""Codes in the reasons and verbatims tables shown with their labels (``--format table``)."""

FileArg = Annotated[Path, typer.Argument(help=h("cli.comments.opt.file"), show_default=False)]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=h("cli.score.opt.sheet"))]
CommentOpt = Annotated[str, typer.Option("--column", "-c", help=h("cli.comments.opt.column"))]
LangColumnOpt = Annotated[
    str | None, typer.Option("--lang-column", help=h("cli.comments.opt.lang_column"))
]
TextLangOpt = Annotated[
    str | None, typer.Option("--text-lang", help=h("cli.comments.opt.text_lang"))
]
KeepOpt = Annotated[list[str] | None, typer.Option("--keep", "-k", help=h("cli.comments.opt.keep"))]

comments_app = typer.Typer(
    name="comments",
    help=h("cli.comments.help"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _load(
    file: Path,
    *,
    project: Path | None,
    encoding: str | None,
    sheet: str | None,
    columns: Sequence[str | None],
) -> DataTable:
    path = resolve_input(file, project)
    table = read_table(path, encoding=encoding, sheet=sheet)
    require_columns(table.frame, [c for c in dict.fromkeys(columns) if c is not None], file=path)
    return table


def _inputs(table: DataTable, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"file": str(table.path), "rows": len(table.frame)}
    if table.encoding is not None:
        out["encoding"] = table.encoding
    if table.sheet is not None:
        out["sheet"] = table.sheet
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()})
    return out


def _finish(
    result: Any,
    table: DataTable,
    *,
    command: str,
    inputs: dict[str, Any],
    fmt: OutputFormat,
    out: Path | None,
    show: Sequence[str] | None = None,
) -> None:
    shown = Shown(
        inner=result,
        warnings=(*table.warnings, *result.warnings),
        escape=fmt is OutputFormat.table,
    )
    emit(shown, command=command, inputs=inputs, fmt=fmt, out=out, show=show)


def _read_mapping(spec: str, *, key: str) -> Mapping[str, Any]:
    """A mapping from a YAML/JSON file, or from ``a=x,b=y`` text."""
    path = Path(spec).expanduser()
    if path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(key, value=str(path), path=str(path), detail=str(exc)) from exc
        if not isinstance(loaded, Mapping):
            raise ConfigError(key, value=str(path), path=str(path), detail=type(loaded).__name__)
        return {str(k): v for k, v in loaded.items()}
    pairs: dict[str, str] = {}
    for part in spec.replace("，", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(key, value=spec, path=spec, detail=part)
        name, value = part.split("=", 1)
        pairs[name.strip()] = value.strip()
    if not pairs:
        raise ConfigError(key, value=spec, path=spec, detail="-")
    return pairs


# --------------------------------------------------------------------------------------------
# allegiance reasons
# --------------------------------------------------------------------------------------------


def reasons_cmd(
    file: FileArg,
    column: Annotated[
        str, typer.Option("--column", "-c", help=h("cli.reasons.opt.column"))
    ] = "reasons",
    sep: Annotated[str, typer.Option("--sep", help=h("cli.reasons.opt.sep"))] = ";",
    by: Annotated[
        list[str] | None, typer.Option("--by", "-b", help=h("cli.reasons.opt.by"))
    ] = None,
    customers: Annotated[
        Path | None, typer.Option("--customers", help=h("cli.reasons.opt.customers"))
    ] = None,
    customer_id: Annotated[
        str, typer.Option("--customer-id", help=h("cli.reasons.opt.customer_id"))
    ] = "customer_id",
    factors: Annotated[
        str | None, typer.Option("--factors", help=h("cli.reasons.opt.factors"))
    ] = None,
    base: Annotated[str, typer.Option("--base", help=h("cli.reasons.opt.base"))] = "answered",
    threshold: Annotated[
        float, typer.Option("--threshold", help=h("cli.reasons.opt.threshold"))
    ] = 0.8,
    permutations: Annotated[
        int, typer.Option("--permutations", help=h("cli.reasons.opt.permutations"))
    ] = 999,
    seed: Annotated[int, typer.Option("--seed", help=h("cli.reasons.opt.seed"))] = 0,
    confidence: Annotated[
        float, typer.Option("--confidence", help=h("cli.reasons.opt.confidence"))
    ] = 0.95,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import reasons as method

    groups = list(by or [])
    needed = [column, customer_id] if customers is not None else [column, *groups]
    table = _load(file, project=project, encoding=encoding, sheet=sheet, columns=needed)
    frame = table.frame
    if customers is not None:
        people = _load(customers, project=project, encoding=None, sheet=None, columns=[customer_id])
        from_people = [g for g in groups if g in people.frame.columns]
        frame = method.join_customers(
            frame, people.frame, columns=from_people, customer_id=customer_id
        )
        require_columns(frame, groups, file=table.path)
    mapping = None
    if factors is not None:
        loaded = _read_mapping(factors, key="reasons.bad_factor_spec")
        mapping = {k: str(v) for k, v in loaded.items()}
    result = method.reasons(
        frame,
        column=column,
        sep=sep,
        by=groups or None,
        factors=mapping,
        base=base,  # type: ignore[arg-type]
        confidence=confidence,
        threshold=threshold,
        n_perm=permutations,
        seed=seed,
    )
    inputs = _inputs(
        table,
        column=column,
        sep=sep,
        by=groups,
        customers=None if customers is None else str(customers),
        factors=mapping,
        base=base,
        threshold=threshold,
        permutations=permutations,
        seed=seed,
        confidence=confidence,
    )
    show = ["reasons", "by_factor", "shares_by_group", "tests", "independence", "summary"]
    extra: dict[str, pd.DataFrame] = {}
    if fmt is OutputFormat.table and result.by_group is not None:
        extra["shares_by_group"] = result.crosstab("share_of_respondents")
    shown = Displayed(
        result,
        columns=REASON_VALUES,
        active=fmt is OutputFormat.table,
        extra_tables=extra,
    )
    _finish(shown, table, command="reasons", inputs=inputs, fmt=fmt, out=out, show=show)


# --------------------------------------------------------------------------------------------
# allegiance comments ...
# --------------------------------------------------------------------------------------------


def keywords_cmd(
    file: FileArg,
    column: CommentOpt = "comment",
    lang_column: LangColumnOpt = None,
    text_lang: TextLangOpt = None,
    top: Annotated[int, typer.Option("--top", "-n", help=h("cli.comments.opt.top"))] = 20,
    method: Annotated[str, typer.Option("--method", help=h("cli.comments.opt.method"))] = "tfidf",
    ngram: Annotated[int, typer.Option("--ngram", help=h("cli.comments.opt.ngram"))] = 2,
    no_stopwords: Annotated[
        bool, typer.Option("--no-stopwords", help=h("cli.comments.opt.no_stopwords"))
    ] = False,
    stopword: Annotated[
        list[str] | None, typer.Option("--stopword", help=h("cli.comments.opt.stopword"))
    ] = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import comments as text_methods

    table = _load(
        file, project=project, encoding=encoding, sheet=sheet, columns=[column, lang_column]
    )
    result = text_methods.keywords(
        table.frame,
        column=column,
        lang=text_lang,
        lang_column=lang_column,
        top=top,
        method=method_name(method),
        ngram=ngram,
        stopwords=not no_stopwords,
        extra_stopwords=tuple(stopword or ()),
    )
    inputs = _inputs(
        table,
        column=column,
        lang_column=lang_column,
        text_lang=text_lang,
        top=top,
        method=method,
        ngram=ngram,
        stopwords=not no_stopwords,
        extra_stopwords=list(stopword or []),
    )
    _finish(result, table, command="comments keywords", inputs=inputs, fmt=fmt, out=out)


def method_name(value: str) -> Any:
    """The keyword method as given (the method checks it)."""
    return value.strip().lower()


def search_cmd(
    file: FileArg,
    terms: Annotated[
        list[str], typer.Argument(help=h("cli.comments.opt.terms"), show_default=False)
    ],
    column: CommentOpt = "comment",
    match: Annotated[str, typer.Option("--match", help=h("cli.comments.opt.match"))] = "substring",
    every: Annotated[bool, typer.Option("--all", help=h("cli.comments.opt.all"))] = False,
    keep: KeepOpt = None,
    lang_column: LangColumnOpt = None,
    text_lang: TextLangOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import comments as method

    kept = list(keep or [])
    table = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        columns=[column, lang_column, *kept],
    )
    result = method.search_comments(
        table.frame,
        terms=terms,
        column=column,
        match=match,  # type: ignore[arg-type]
        mode="all" if every else "any",
        lang=text_lang,
        lang_column=lang_column,
        keep=kept,
    )
    inputs = _inputs(
        table,
        terms=list(terms),
        column=column,
        match=match,
        mode="all" if every else "any",
        keep=kept,
        n_matches=result.n_matches,
    )
    _finish(result, table, command="comments search", inputs=inputs, fmt=fmt, out=out)


def sentiment_cmd(
    file: FileArg,
    column: CommentOpt = "comment",
    by: Annotated[
        list[str] | None, typer.Option("--by", "-b", help=h("cli.comments.opt.by"))
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help=h("cli.comments.opt.engine"))] = "lexicon",
    neutral: Annotated[float, typer.Option("--neutral", help=h("cli.comments.opt.neutral"))] = 0.05,
    evaluate: Annotated[
        str | None, typer.Option("--evaluate", help=h("cli.comments.opt.evaluate"))
    ] = None,
    keep: KeepOpt = None,
    lang_column: LangColumnOpt = None,
    text_lang: TextLangOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import comments as method

    groups = list(by or [])
    kept = list(dict.fromkeys([*(keep or []), *([evaluate] if evaluate else [])]))
    table = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        columns=[column, lang_column, *groups, *kept],
    )
    result = method.sentiment(
        table.frame,
        column=column,
        lang=text_lang,
        lang_column=lang_column,
        engine=engine,  # type: ignore[arg-type]
        by=groups or None,
        neutral=neutral,
        keep=kept,
    )
    inputs = _inputs(
        table,
        column=column,
        by=groups,
        engine=engine,
        neutral=neutral,
        evaluate=evaluate,
        lang_column=lang_column,
        text_lang=text_lang,
    )
    shown: Any = result
    if evaluate is not None:
        check = method.evaluate_sentiment(result.scores, satisfaction=evaluate)
        shown = _WithEvaluation(result, check)
    _finish(
        shown,
        table,
        command="comments sentiment",
        inputs=inputs,
        fmt=fmt,
        out=out,
        show=["summary", "agreement", "by_level"],
    )


@dataclasses.dataclass(frozen=True)
class _WithEvaluation:
    """A sentiment result with its agreement with a satisfaction column."""

    sentiment: Any
    evaluation: Any

    @property
    def warnings(self) -> tuple[Message, ...]:
        return (*self.sentiment.warnings, *self.evaluation.warnings)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {**self.sentiment.tables(), **self.evaluation.tables()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = self.sentiment.to_dict()
        out["evaluation"] = self.evaluation.to_dict()
        return out


def verbatims_cmd(
    file: FileArg,
    keywords: Annotated[Path, typer.Option("--keywords", help=h("cli.comments.opt.keywords_file"))],
    column: CommentOpt = "comment",
    reasons_column: Annotated[
        str | None, typer.Option("--reasons-column", help=h("cli.comments.opt.reasons_column"))
    ] = None,
    sep: Annotated[str, typer.Option("--sep", help=h("cli.comments.opt.sep"))] = ";",
    per_reason: Annotated[
        int, typer.Option("--per-reason", help=h("cli.comments.opt.per_reason"))
    ] = 3,
    by_factor: Annotated[
        str | None, typer.Option("--by-factor", help=h("cli.comments.opt.by_factor"))
    ] = None,
    keep: KeepOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods import comments as method

    kept = list(keep or [])
    if not keywords.is_file():
        raise ConfigError(
            "comments.bad_keyword_file", path=str(keywords), detail="file not found", value=""
        )
    raw = _read_mapping(str(keywords), key="comments.bad_keyword_file")
    words = {str(k): [str(w) for w in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
    table = _load(
        file,
        project=project,
        encoding=encoding,
        sheet=sheet,
        columns=[column, reasons_column, *kept],
    )
    mapping = None
    if by_factor is not None:
        loaded = _read_mapping(by_factor, key="reasons.bad_factor_spec")
        mapping = {str(k): str(v) for k, v in loaded.items()}
    result = method.verbatims(
        table.frame,
        keywords=words,
        column=column,
        reasons_column=reasons_column,
        sep=sep,
        per_reason=per_reason,
        keep=kept,
        factors=mapping,
    )
    inputs = _inputs(
        table,
        keywords=str(keywords),
        column=column,
        reasons_column=reasons_column,
        per_reason=per_reason,
        by_factor=mapping,
        keep=kept,
    )
    shown = Displayed(result, columns=REASON_VALUES, active=fmt is OutputFormat.table)
    _finish(shown, table, command="comments verbatims", inputs=inputs, fmt=fmt, out=out)


_COMMANDS: tuple[tuple[str, str, Any], ...] = (
    ("keywords", "cli.comments.keywords.help", keywords_cmd),
    ("search", "cli.comments.search.help", search_cmd),
    ("sentiment", "cli.comments.sentiment.help", sentiment_cmd),
    ("verbatims", "cli.comments.verbatims.help", verbatims_cmd),
)

COMMAND_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _COMMANDS)
"""The sub-commands of ``allegiance comments``."""

for _name, _help, _func in _COMMANDS:
    comments_app.command(_name, help=h(_help))(_func)


def register(app: typer.Typer) -> None:
    """Add ``allegiance reasons`` and the ``allegiance comments`` group to ``app``."""
    app.command("reasons", help=h("cli.reasons.help"))(reasons_cmd)
    app.add_typer(comments_app, name="comments", help=h("cli.comments.help"))
