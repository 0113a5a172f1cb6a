"""``allegiance blueprint FILE|P1 P2 ...``: service blueprint reliability.

The steps come from a file (CSV, XLSX, Parquet or YAML: one row per step in process order
with ``step``/``name``, optional ``name_zh``/``name_en``, and ``p`` or ``successes`` and
``attempts``) or from the command line as probabilities (``0.98``) or counts (``490/500``).
The command calls :func:`allegiance.methods.blueprint.blueprint` and renders the result with
:func:`emit`; the JSON ``result`` holds ``reliability``, ``ci_low``/``ci_high``, per-step
figures under ``tables.steps`` and, with ``--improve``, ``whatif`` (``overall_after``,
``gain``, ``gain_relative``).
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
from allegiance.errors import AllegianceError, DataFileError, ValidationError
from allegiance.i18n import current_lang, t

StepsArg = Annotated[
    list[str], typer.Argument(help=h("cli.blueprint.opt.steps"), show_default=False)
]


def _parse_token(token: str, k: int) -> dict[str, Any]:
    """``0.98`` → p; ``490/500`` → successes/attempts; ``name=0.98`` names the step."""
    text = token.strip().replace("，", ",").replace("＝", "=").replace("／", "/")
    name = None
    if "=" in text:
        name, _, text = (part.strip() for part in text.partition("="))
    try:
        if "/" in text:
            s, _, n = text.partition("/")
            return {"name": name or str(k + 1), "successes": int(s), "attempts": int(n)}
        return {"name": name or str(k + 1), "p": float(text)}
    except ValueError:
        raise ValidationError("blueprint.bad_token", token=token) from None


def _is_step(token: str) -> bool:
    try:
        _parse_token(token, 0)
    except ValidationError:
        return False
    return True


def _improvements(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        step, sep, number = value.replace("＝", "=").partition("=")
        try:
            if not sep or not step.strip():
                raise ValueError(value)
            out[step.strip()] = float(number)
        except ValueError:
            raise ValidationError("blueprint.bad_improve", value=value) from None
    return out


def _read_steps(path: Path, encoding: str | None, sheet: str | None) -> tuple[Any, int]:
    """A frame (tables) or a list of mappings (YAML), and the header row for messages."""
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        if not path.is_file():
            raise DataFileError("reader.not_found", file=str(path))
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise DataFileError(
                "blueprint.bad_yaml", file=str(path), error=str(exc).replace("\n", " ")
            ) from None
        steps = data.get("steps") if isinstance(data, dict) else data
        if not isinstance(steps, list):
            raise DataFileError("blueprint.bad_yaml", file=str(path), error="expected `steps:`")
        return steps, 0
    from allegiance.io.reader import read_table

    table = read_table(path, encoding=encoding, sheet=sheet)
    return table.frame, table.header_row


def blueprint_cmd(
    steps: StepsArg,
    improve: Annotated[
        list[str] | None, typer.Option("--improve", help=h("cli.blueprint.opt.improve"))
    ] = None,
    target: Annotated[str, typer.Option("--target", help=h("cli.blueprint.opt.target"))] = "best",
    delta: Annotated[
        float | None, typer.Option("--delta", help=h("cli.blueprint.opt.delta"))
    ] = None,
    interval: Annotated[
        str, typer.Option("--interval", help=h("cli.blueprint.opt.interval"))
    ] = "wilson",
    product_interval: Annotated[
        str, typer.Option("--product-interval", help=h("cli.blueprint.opt.product_interval"))
    ] = "delta",
    draws: Annotated[
        int, typer.Option("--draws", min=100, help=h("cli.blueprint.opt.draws"))
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help=h("cli.blueprint.opt.seed"))] = 0,
    confidence: Annotated[
        float, typer.Option("--confidence", help=h("cli.blueprint.opt.confidence"))
    ] = 0.95,
    encoding: EncodingOpt = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=h("cli.blueprint.opt.sheet"))] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
    lang: LangOpt = None,
    project: ProjectOpt = None,
) -> None:
    from allegiance.methods.blueprint import blueprint, steps_from_frame

    inputs: dict[str, Any] = {}
    source: Any
    header_row = 1
    path = None
    first = steps[0] if steps else ""
    if len(steps) == 1 and (Path(first).exists() or not _is_step(first)):
        path = resolve_input(Path(first), project)
        source, header_row = _read_steps(path, encoding, sheet)
        inputs["file"] = str(path)
    else:
        source = [_parse_token(s, k) for k, s in enumerate(steps)]
        inputs["steps"] = list(steps)
    try:
        if path is not None and not isinstance(source, list):
            source = steps_from_frame(source, header_row=header_row)
        result = blueprint(
            source,
            improve=_improvements(improve or []),
            target=target,
            delta=delta,
            interval=interval,
            product_interval=product_interval,
            confidence=confidence,
            n_draws=draws,
            seed=seed,
        )
    except AllegianceError as exc:
        if path is None or isinstance(exc, DataFileError) or "file" in exc.params:
            raise
        raise DataFileError(
            "blueprint.in_file", file=str(path), message=exc.render(current_lang())
        ) from None
    inputs.update(
        improve=list(improve or []),
        target=target,
        delta=delta,
        interval=interval,
        product_interval=product_interval,
        confidence=confidence,
    )
    lang_now = current_lang()
    name_col = f"name_{lang_now}"

    def _local(frame: Any) -> Any:
        if name_col in frame.columns:
            frame = frame.copy()
            frame["name"] = [
                local if isinstance(local, str) and local else name
                for name, local in zip(frame["name"], frame[name_col], strict=True)
            ]
        return frame

    shown = Displayed(result, columns={}, active=fmt is OutputFormat.table)
    if fmt is OutputFormat.table:
        # people read the names in their language and no empty columns (JSON keeps all)
        tables = {
            name: _local(frame).drop(columns=["name_zh", "name_en"], errors="ignore")
            for name, frame in result.tables().items()
        }
        tables = {
            name: frame.loc[:, [c for c in frame.columns if not frame[c].isna().all()]]
            for name, frame in tables.items()
        }
        shown = dataclasses.replace(shown, extra_tables=tables)

    def headline(console: Any) -> None:
        console.print(
            t(
                "blueprint.headline",
                lang_now,
                reliability=f"{result.reliability:.3f}",
                first=str(result.overall["fix_first"].iloc[0]),
            )
        )
        if result.whatif is not None:
            console.print(
                t(
                    "blueprint.headline_whatif",
                    lang_now,
                    after=f"{result.improved:.3f}",
                    gain=f"{result.gain:+.3f}",
                    relative=f"{100 * (result.gain_relative or 0.0):+.2f}%",
                )
            )

    emit(shown, command="blueprint", inputs=inputs, fmt=fmt, out=out, extra=headline)


def register(app: typer.Typer) -> None:
    """Add ``allegiance blueprint`` to ``app``."""
    app.command("blueprint", help=h("cli.blueprint.help"))(blueprint_cmd)
