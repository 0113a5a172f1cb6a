"""The action register as a file in the project folder (``actions.yaml`` by default).

A file-based register until the project database has an actions table: YAML (a list under
``actions:``, readable and editable by hand, Chinese kept as is) or CSV (UTF-8 with BOM, as
Excel saves it). Reads are validated with
:func:`allegiance.methods.actions.validate_register`, whose errors name the file, the row
(the action's position: 1 = the first action in YAML, the spreadsheet row in CSV) and the
column. Writes go to a temporary file that then replaces the register, so a failed write
never leaves half a register.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from allegiance.errors import DataFileError
from allegiance.methods.actions import REGISTER_COLUMNS, empty_register, validate_register

__all__ = ["DEFAULT_REGISTER", "load_register", "register_path", "save_register"]

DEFAULT_REGISTER = "actions.yaml"
_HEADER = (
    "# allegiance action register (改进行动登记表): one entry per improvement action.\n"
    "# Fields: docs/methods/actions.md. Edit by hand or with `allegiance actions add|update`.\n"
)


class _TextDates(yaml.SafeLoader):
    """A safe loader that leaves dates as text, so a bad date is reported with its action."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def register_path(project_root: str | os.PathLike[str] | None, file: str | None = None) -> Path:
    """``file`` if given, else ``actions.yaml`` in the project folder (or the current folder)."""
    if file:
        return Path(file)
    root = Path(project_root) if project_root is not None else Path.cwd()
    return root / DEFAULT_REGISTER


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in {".csv", ".txt"}


def load_register(path: str | os.PathLike[str], /, *, missing_ok: bool = True) -> pd.DataFrame:
    """The register in ``path`` (an empty register when the file does not exist yet and
    ``missing_ok``)."""
    file = Path(path)
    if not file.exists():
        if missing_ok:
            return empty_register()
        raise DataFileError("reader.not_found", file=str(file))
    if _is_csv(file):
        from allegiance.io.reader import read_table

        table = read_table(file)
        frame = table.frame.astype(object).where(table.frame.notna(), None)
        return validate_register(frame, source=str(file), first_row=table.header_row + 1)
    try:
        data = yaml.load(file.read_text(encoding="utf-8-sig"), Loader=_TextDates) or {}
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise DataFileError(
            "actions.bad_register", file=str(file), error=str(exc).replace("\n", " ")
        ) from None
    entries = data.get("actions") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DataFileError(
            "actions.bad_register", file=str(file), error="expected `actions:` with a list"
        )
    rows = [_flatten(e) for e in entries]
    frame = pd.DataFrame(rows) if rows else empty_register()
    return validate_register(frame, source=str(file), first_row=1)


def _flatten(entry: dict[str, Any]) -> dict[str, Any]:
    """``title: {zh, en}`` (and you_said, we_did) become ``title_zh``/``title_en``."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in {"title", "you_said", "we_did"} and isinstance(value, dict):
            out[f"{key}_zh"] = value.get("zh")
            out[f"{key}_en"] = value.get("en")
        else:
            out[str(key)] = value
    return out


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in REGISTER_COLUMNS:
        value = row.get(key)
        if key.endswith(("_zh", "_en")):
            base = key[:-3]
            if base in {"title", "you_said", "we_did"}:
                if row.get(f"{base}_zh") or row.get(f"{base}_en"):
                    out.setdefault(base, {"zh": row.get(f"{base}_zh"), "en": row.get(f"{base}_en")})
                continue
        if value is None:
            continue
        out[key] = value.isoformat() if isinstance(value, date) else value
    for key, value in row.items():
        if key not in REGISTER_COLUMNS and value is not None and not pd.isna(value):
            out[key] = value
    return out


def save_register(register: pd.DataFrame, path: str | os.PathLike[str], /) -> Path:
    """Write ``register`` (validated) to ``path`` as YAML or CSV, atomically."""
    file = Path(path)
    frame = validate_register(register, source=str(file))
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    if _is_csv(file):
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    else:
        rows = [_nest({str(k): v for k, v in r.items()}) for r in frame.to_dict(orient="records")]
        text = _HEADER + yaml.safe_dump(
            {"actions": rows}, allow_unicode=True, sort_keys=False, width=100
        )
        tmp.write_text(text, encoding="utf-8")
    tmp.replace(file)
    return file
