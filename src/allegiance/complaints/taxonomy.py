"""The complaint cause taxonomy (顾客抱怨原因分类): causes with stable codes, in four classes.

The default is SPEC section 6's table of 30 causes (``templates/complaints/taxonomy_default.yaml``);
a company file extends it (``extends: default``, ``remove:``, changed or new ``causes:``) or
replaces it. A cause given in data as its code, its Chinese or English name or an alias is
found by :meth:`Taxonomy.resolve` (ignoring case, full/half width and repeated spaces).

>>> tax = load_taxonomy()
>>> len(tax.causes), tax.resolve("服务态度").code, tax.resolve("Poor product quality").klass
(30, 'service_attitude', 1)
>>> tax.resolve("no such cause") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from allegiance.complaints._files import config_path, load_config
from allegiance.errors import ConfigError
from allegiance.i18n import current_lang, normalize_lang

__all__ = [
    "CAUSE_CLASSES",
    "DEFAULT_TAXONOMY",
    "Cause",
    "Taxonomy",
    "load_taxonomy",
    "normalize_name",
    "parse_taxonomy",
]

#: The shipped default (templates/complaints/taxonomy_default.yaml).
DEFAULT_TAXONOMY = "taxonomy_default"
#: The cause classes of SPEC section 6 (the store allows exactly these).
CAUSE_CLASSES: tuple[int, ...] = (1, 2, 3, 4)

_CODE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_SPACES = re.compile(r"\s+")
_CAUSE_KEYS = frozenset({"code", "class", "zh", "en", "aliases", "description"})
_FILE_KEYS = frozenset({"title", "title_zh", "classes", "causes", "extends", "remove"})


def normalize_name(text: object, /) -> str:
    """How names are compared: NFKC (full-width → half-width), case-folded, spaces collapsed.

    >>> normalize_name("  Poor   PRODUCT quality ")
    'poor product quality'
    >>> normalize_name("ＡＢＣ") == normalize_name("abc")
    True
    """
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _SPACES.sub(" ", folded).strip()


@dataclass(frozen=True)
class Cause:
    """One cause: a stable ``code``, its class 1-4 (``klass``), names in both languages."""

    code: str
    klass: int
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def name(self, lang: str | None = None) -> str:
        """The cause's name in ``lang`` (default: the active language)."""
        return self.zh if (normalize_lang(lang) or current_lang()) == "zh" else self.en


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """An ordered set of causes and the names of the four classes.

    ``classes`` maps each class (1-4) to ``{"en": ..., "zh": ...}``. ``source`` is the
    file read (``None`` for a mapping). Look-ups go through :meth:`resolve`.
    """

    causes: tuple[Cause, ...]
    classes: Mapping[int, Mapping[str, str]]
    title: str | None = None
    source: str | None = None
    _index: dict[str, Cause] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, Cause] = {}
        for cause in self.causes:
            for name in (cause.code, cause.zh, cause.en, *cause.aliases):
                key = normalize_name(name)
                other = index.get(key)
                if other is not None and other.code != cause.code:
                    raise ConfigError(
                        "complaints.taxonomy.ambiguous",
                        where=_where(self.source),
                        name=name,
                        first=other.code,
                        second=cause.code,
                    )
                index[key] = cause
        self._index.clear()
        self._index.update(index)

    def codes(self) -> tuple[str, ...]:
        """The cause codes in taxonomy order."""
        return tuple(c.code for c in self.causes)

    def get(self, code: str, /) -> Cause:
        """The cause with this exact code; a :class:`ConfigError` naming the codes otherwise."""
        for cause in self.causes:
            if cause.code == code:
                return cause
        raise ConfigError(
            "complaints.taxonomy.unknown_code",
            code=code,
            codes=", ".join(self.codes()[:40]),
        )

    def resolve(self, value: object, /) -> Cause | None:
        """The cause named by ``value`` (code, Chinese or English name, alias), or ``None``."""
        if value is None:
            return None
        return self._index.get(normalize_name(value))

    def order(self) -> dict[str, int]:
        """Each code's position (0 first), for stable ordering of ties."""
        return {c.code: i for i, c in enumerate(self.causes)}

    def class_name(self, klass: int, /, lang: str | None = None) -> str:
        """The name of class ``klass`` in ``lang``."""
        names = self.classes.get(int(klass), {})
        chosen = normalize_lang(lang) or current_lang()
        return str(names.get(chosen) or names.get("en") or klass)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe copy (the format of the YAML file, without ``extends``)."""
        return {
            "title": self.title,
            "classes": {str(k): dict(v) for k, v in self.classes.items()},
            "causes": [
                {
                    "code": c.code,
                    "class": c.klass,
                    "zh": c.zh,
                    "en": c.en,
                    **({"aliases": list(c.aliases)} if c.aliases else {}),
                }
                for c in self.causes
            ],
        }


def _where(source: str | None) -> str:
    return source or "taxonomy"


def _klass(value: Any, *, where: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if number not in CAUSE_CLASSES or isinstance(value, bool):
        raise ConfigError("complaints.taxonomy.bad_class", where=where, value=repr(value))
    return number


def _names(value: Any, *, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError("complaints.taxonomy.bad_names", where=where)
    out = {str(k): str(v).strip() for k, v in value.items() if v is not None}
    if not out.get("en") or not out.get("zh"):
        raise ConfigError("complaints.taxonomy.bad_names", where=where)
    return {"en": out["en"], "zh": out["zh"]}


def _cause(spec: Any, *, index: int, source: str | None) -> Cause:
    where = f"{_where(source)}: causes[{index}]"
    if not isinstance(spec, Mapping):
        raise ConfigError("complaints.taxonomy.bad_cause", where=where, found=repr(spec)[:80])
    code = str(spec.get("code") or "").strip()
    if not _CODE.match(code):
        raise ConfigError("complaints.taxonomy.bad_code", where=where, code=repr(spec.get("code")))
    where = f"{_where(source)}: cause '{code}'"
    extra = sorted(set(map(str, spec)) - _CAUSE_KEYS)
    if extra:
        raise ConfigError(
            "complaints.taxonomy.unknown_keys",
            where=where,
            keys=", ".join(extra),
            known=", ".join(sorted(_CAUSE_KEYS)),
        )
    zh = str(spec.get("zh") or "").strip()
    en = str(spec.get("en") or "").strip()
    if not zh or not en:
        raise ConfigError("complaints.taxonomy.missing_name", where=where)
    aliases = spec.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, Sequence):
        raise ConfigError("complaints.taxonomy.bad_cause", where=where, found=repr(aliases)[:80])
    return Cause(
        code=code,
        klass=_klass(spec.get("class"), where=where),
        zh=zh,
        en=en,
        aliases=tuple(str(a).strip() for a in aliases if str(a).strip()),
    )


def _merge(
    base: Mapping[str, Any], data: Mapping[str, Any], *, source: str | None
) -> dict[str, Any]:
    """``extends``: the base's causes by code, less ``remove``, changed/added by ``causes``."""
    out: dict[str, Any] = {"title": data.get("title", base.get("title"))}
    classes = {str(k): v for k, v in (base.get("classes") or {}).items()}
    for key, value in (data.get("classes") or {}).items():
        old = classes.get(str(key))
        classes[str(key)] = (
            {**old, **value} if isinstance(old, Mapping) and isinstance(value, Mapping) else value
        )
    out["classes"] = classes
    causes = [dict(c) for c in base.get("causes") or [] if isinstance(c, Mapping)]
    codes = [str(c.get("code")) for c in causes]
    remove = data.get("remove") or []
    if isinstance(remove, str):
        remove = [remove]
    for code in remove:
        if str(code) not in codes:
            raise ConfigError(
                "complaints.taxonomy.remove_unknown",
                where=_where(source),
                code=str(code),
                codes=", ".join(codes[:40]),
            )
    gone = {str(c) for c in remove}
    causes = [c for c in causes if str(c.get("code")) not in gone]
    changes = data.get("causes") or []
    if not isinstance(changes, list):
        raise ConfigError(
            "complaints.taxonomy.bad_cause", where=_where(source), found=repr(changes)[:80]
        )
    for change in changes:
        if not isinstance(change, Mapping):
            raise ConfigError(
                "complaints.taxonomy.bad_cause", where=_where(source), found=repr(change)[:80]
            )
        hit = [c for c in causes if str(c.get("code")) == str(change.get("code"))]
        if hit:
            hit[0].update(change)
        else:
            causes.append(dict(change))
    out["causes"] = causes
    return out


def parse_taxonomy(data: Mapping[str, Any] | str, /, *, source: str | None = None) -> Taxonomy:
    """A taxonomy from a mapping or YAML text (the format of ``taxonomy_default.yaml``)."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError(
                "complaints.taxonomy.bad_yaml", where=_where(source), error=str(exc)
            ) from None
    if not isinstance(data, Mapping):
        raise ConfigError("complaints.taxonomy.bad_file", where=_where(source))
    extra = sorted(set(map(str, data)) - _FILE_KEYS)
    if extra:
        raise ConfigError(
            "complaints.taxonomy.unknown_keys",
            where=_where(source),
            keys=", ".join(extra),
            known=", ".join(sorted(_FILE_KEYS)),
        )
    if data.get("extends"):
        base_path = _taxonomy_path(str(data["extends"]), source)
        base = yaml.safe_load(base_path.read_text(encoding="utf-8-sig"))
        if isinstance(base, Mapping) and base.get("extends"):
            base = parse_taxonomy(base, source=str(base_path)).to_dict()
        data = _merge(base, data, source=source)
    elif data.get("remove"):
        raise ConfigError("complaints.taxonomy.remove_without_extends", where=_where(source))
    raw_classes = data.get("classes") or {}
    if not isinstance(raw_classes, Mapping):
        raise ConfigError("complaints.taxonomy.bad_names", where=f"{_where(source)}: classes")
    classes: dict[int, dict[str, str]] = {}
    for key, names in raw_classes.items():
        where = f"{_where(source)}: classes[{key}]"
        classes[_klass(key, where=where)] = _names(names, where=where)
    missing = [k for k in CAUSE_CLASSES if k not in classes]
    if missing:
        raise ConfigError(
            "complaints.taxonomy.missing_classes",
            where=_where(source),
            classes=", ".join(map(str, missing)),
        )
    specs = data.get("causes") or []
    if not isinstance(specs, list) or not specs:
        raise ConfigError("complaints.taxonomy.no_causes", where=_where(source))
    causes = tuple(_cause(s, index=i, source=source) for i, s in enumerate(specs))
    seen: set[str] = set()
    for cause in causes:
        if cause.code in seen:
            raise ConfigError(
                "complaints.taxonomy.duplicate", where=_where(source), code=cause.code
            )
        seen.add(cause.code)
    title = data.get("title")
    return Taxonomy(
        causes=causes,
        classes=classes,
        title=str(title) if title else None,
        source=source,
    )


def _taxonomy_path(name: str, relative_to: str | None = None) -> Path:
    return config_path(name, default=DEFAULT_TAXONOMY, kind="taxonomy", relative_to=relative_to)


def load_taxonomy(path: str | Path | None = None, /) -> Taxonomy:
    """Read a taxonomy file, or a shipped one by name (``"default"``: SPEC section 6). ``None``:
    the one ``ALLEGIANCE_COMPLAINTS_TAXONOMY`` names, else the default. A file is read again
    only when it changed (the web pages and the closed loop ask for it on every request)."""
    return load_config(
        path,
        default=DEFAULT_TAXONOMY,
        kind="taxonomy",
        setting="complaints_taxonomy",
        parse=parse_taxonomy,
    )
