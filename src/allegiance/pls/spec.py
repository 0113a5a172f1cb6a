"""A PLS path model as a value: constructs with their items, and the paths between them.

A :class:`PathModel` is frozen and validated when it is built; it is estimated
in a separate step (:func:`allegiance.pls.estimate`), the way seminr separates
``constructs()``/``relationships()`` from ``estimate_pls()``. It serialises to a
plain dict, YAML and JSON, and the lavaan-like text syntax of
:mod:`allegiance.pls.syntax` parses to the same value.

- A :class:`Construct` has a ``name``, its ``items`` (the columns measuring it,
  at least one; a single-item construct is allowed), a ``mode`` ("A" =
  reflective, correlation weights; "B" = formative, regression weights) and an
  optional Chinese name ``name_zh`` and answer ``scale`` (the two ends of the
  items' answer scale, used by the 0-100 index).
- A :class:`StructuralPath` goes ``source -> target``.
- The structural model must be recursive (no cycles) and every construct must
  take part in at least one path (the PLS inner estimate needs a neighbour).
  An item may measure one construct only.

The dict form (and YAML/JSON) is::

    name: ecsi                      # optional
    scale: [1, 10]                  # optional, the default answer scale of every item
    constructs:
      - {name: Image, items: [IMAG1, IMAG2], mode: A, name_zh: 企业形象}
      - {name: Loyalty, items: [CUSL1, CUSL2, CUSL3]}
    paths:
      - {from: Image, to: [Loyalty]}   # from/to each a name or a list (all pairs)

``constructs`` may also be a mapping ``{name: {items: [...], mode: A}}`` or
``{name: [items...]}``, and the model may be given as text under ``syntax:``.

>>> model = PathModel.build(
...     constructs={"Image": ["IMAG1", "IMAG2"], "Loyalty": ["CUSL1"]},
...     paths=[("Image", "Loyalty")],
... )
>>> model.construct_names
('Image', 'Loyalty')
>>> model.predecessors("Loyalty")
('Image',)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml

from allegiance.errors import ConfigError

__all__ = [
    "MODES",
    "Construct",
    "Mode",
    "ModelError",
    "PathModel",
    "StructuralPath",
]

Mode = Literal["A", "B"]
MODES: tuple[Mode, ...] = ("A", "B")


class ModelError(ConfigError):
    """A path model is not valid; the message names the step (measurement/structural model)."""

    default_key = "pls.error.model"


def _fail(key: str, **params: Any) -> ModelError:
    return ModelError(key, **params)


def _name(value: Any, key: str, **params: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, value=repr(value), **params)
    return value.strip()


def _scale(value: Any, *, where: str) -> tuple[float, float] | None:
    """``where`` is the construct name, or "" for the model's own scale."""
    if value is None:
        return None
    key = "pls.error.bad_scale" if where else "pls.error.bad_model_scale"
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(key, construct=where, value=repr(value)) from None
    if not low < high:
        raise _fail(key, construct=where, value=repr(value))
    return (low, high)


@dataclass(frozen=True)
class Construct:
    """A latent variable: its name, the items measuring it and how (mode A or B)."""

    name: str
    items: tuple[str, ...]
    mode: Mode = "A"
    name_zh: str | None = None
    scale: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        name = _name(self.name, "pls.error.bad_construct_name")
        object.__setattr__(self, "name", name)
        if isinstance(self.items, str):
            object.__setattr__(self, "items", (self.items,))
        items = tuple(self.items)
        if not items:
            raise _fail("pls.error.no_items", construct=name)
        cleaned = tuple(_name(i, "pls.error.bad_item_name", construct=name) for i in items)
        seen: set[str] = set()
        for item in cleaned:
            if item in seen:
                raise _fail("pls.error.item_twice_in_block", construct=name, item=item)
            seen.add(item)
        object.__setattr__(self, "items", cleaned)
        mode = str(self.mode).strip().upper()
        aliases = {"REFLECTIVE": "A", "FORMATIVE": "B"}
        mode = aliases.get(mode, mode)
        if mode not in MODES:
            raise _fail("pls.error.bad_mode", construct=name, mode=str(self.mode))
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "scale", _scale(self.scale, where=name))

    @property
    def reflective(self) -> bool:
        return self.mode == "A"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "items": list(self.items), "mode": self.mode}
        if self.name_zh:
            out["name_zh"] = self.name_zh
        if self.scale is not None:
            out["scale"] = list(self.scale)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /, *, name: str | None = None) -> Construct:
        allowed = {"name", "items", "mode", "name_zh", "scale"}
        extra = set(data) - allowed
        label = str(name or data.get("name", "?"))
        if extra:
            raise _fail(
                "pls.error.unknown_keys",
                where=f"constructs.{label}",
                keys=", ".join(sorted(map(str, extra))),
                allowed=", ".join(sorted(allowed)),
            )
        items = data.get("items", ())
        if isinstance(items, str):
            items = [items]
        return cls(
            name=name if name is not None else data.get("name", ""),
            items=tuple(items or ()),
            mode=data.get("mode", "A"),
            name_zh=data.get("name_zh"),
            scale=data.get("scale"),
        )


@dataclass(frozen=True)
class StructuralPath:
    """One structural path ``source -> target``."""

    source: str
    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _name(self.source, "pls.error.bad_path_end"))
        object.__setattr__(self, "target", _name(self.target, "pls.error.bad_path_end"))

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


PathLike = StructuralPath | Sequence[str] | Mapping[str, Any]


def _paths_from(values: Iterable[Any]) -> tuple[StructuralPath, ...]:
    out: list[StructuralPath] = []
    for value in values:
        if isinstance(value, StructuralPath):
            out.append(value)
        elif isinstance(value, Mapping):
            extra = set(value) - {"from", "to", "source", "target"}
            if extra:
                raise _fail(
                    "pls.error.unknown_keys",
                    where="paths",
                    keys=", ".join(sorted(map(str, extra))),
                    allowed="from, to",
                )
            src = value.get("from", value.get("source"))
            dst = value.get("to", value.get("target"))
            srcs = [src] if isinstance(src, str) else list(src or [])
            dsts = [dst] if isinstance(dst, str) else list(dst or [])
            if not srcs or not dsts:
                raise _fail("pls.error.bad_path", path=repr(dict(value)))
            out.extend(StructuralPath(s, d) for s in srcs for d in dsts)
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            out.append(StructuralPath(str(value[0]), str(value[1])))
        else:
            raise _fail("pls.error.bad_path", path=repr(value))
    return tuple(out)


@dataclass(frozen=True)
class PathModel:
    """A PLS path model: constructs (measurement model) and paths (structural model).

    Validated on construction; raises :class:`ModelError` ("could not build the
    measurement model: construct 'Loyalty' has no items"). Constructs keep the
    order given; :attr:`items` lists every item, block after block.
    """

    constructs: tuple[Construct, ...]
    paths: tuple[StructuralPath, ...]
    name: str | None = None
    scale: tuple[float, float] | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        constructs = tuple(self.constructs)
        paths = _paths_from(self.paths)
        object.__setattr__(self, "constructs", constructs)
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "scale", _scale(self.scale, where=""))
        if not constructs:
            raise _fail("pls.error.no_constructs")
        index: dict[str, int] = {}
        owner: dict[str, str] = {}
        for pos, c in enumerate(constructs):
            if not isinstance(c, Construct):
                raise _fail("pls.error.bad_construct", value=repr(c))
            if c.name in index:
                raise _fail("pls.error.duplicate_construct", construct=c.name)
            index[c.name] = pos
            for item in c.items:
                if item in owner:
                    raise _fail(
                        "pls.error.item_shared", item=item, first=owner[item], second=c.name
                    )
                owner[item] = c.name
        object.__setattr__(self, "_index", index)
        seen: set[tuple[str, str]] = set()
        for p in paths:
            for end in (p.source, p.target):
                if end not in index:
                    raise _fail(
                        "pls.error.unknown_construct",
                        path=str(p),
                        construct=end,
                        known=", ".join(index),
                    )
            if p.source == p.target:
                raise _fail("pls.error.self_path", construct=p.source)
            if (p.source, p.target) in seen:
                raise _fail("pls.error.duplicate_path", path=str(p))
            if (p.target, p.source) in seen:
                raise _fail("pls.error.cycle", cycle=f"{p.source} -> {p.target} -> {p.source}")
            seen.add((p.source, p.target))
        if len(constructs) > 1:
            linked = {p.source for p in paths} | {p.target for p in paths}
            for c in constructs:
                if c.name not in linked:
                    raise _fail("pls.error.isolated", construct=c.name)
        cycle = self._find_cycle()
        if cycle:
            raise _fail("pls.error.cycle", cycle=" -> ".join(cycle))

    def _find_cycle(self) -> list[str]:
        succ: dict[str, list[str]] = {c.name: [] for c in self.constructs}
        for p in self.paths:
            succ[p.source].append(p.target)
        state: dict[str, int] = dict.fromkeys(succ, 0)  # 0 new, 1 on stack, 2 done
        stack: list[str] = []

        def visit(node: str) -> list[str]:
            state[node] = 1
            stack.append(node)
            for nxt in succ[node]:
                if state[nxt] == 1:
                    return [*stack[stack.index(nxt) :], nxt]
                if state[nxt] == 0:
                    found = visit(nxt)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return []

        for node in succ:
            if state[node] == 0:
                found = visit(node)
                if found:
                    return found
        return []

    # --- construction helpers ---------------------------------------------------------------

    @classmethod
    def build(
        cls,
        *,
        constructs: Mapping[str, Sequence[str] | Mapping[str, Any]] | Iterable[Construct],
        paths: Iterable[PathLike] | Mapping[str, Sequence[str]],
        name: str | None = None,
        scale: tuple[float, float] | None = None,
    ) -> PathModel:
        """A model from friendly Python values.

        ``constructs``: ``{name: [items]}`` (mode A), ``{name: {"items": [...],
        "mode": "B"}}`` or :class:`Construct` objects. ``paths``: pairs
        ``(source, target)``, dicts ``{"from": ..., "to": ...}`` or a mapping
        ``{target: [sources]}`` (one structural equation per target).
        """
        return cls(
            constructs=_constructs_from(constructs),
            paths=_paths_arg(paths),
            name=name,
            scale=scale,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> PathModel:
        """The inverse of :meth:`to_dict` (also accepts the friendlier forms, see the module)."""
        if not isinstance(data, Mapping):
            raise _fail("pls.error.not_a_mapping", found=type(data).__name__)
        allowed = {"name", "scale", "constructs", "paths", "syntax", "description", "title"}
        extra = set(data) - allowed
        if extra:
            raise _fail(
                "pls.error.unknown_keys",
                where="model",
                keys=", ".join(sorted(map(str, extra))),
                allowed=", ".join(sorted(allowed)),
            )
        name = data.get("name")
        scale = data.get("scale")
        if "syntax" in data:
            from allegiance.pls.syntax import parse_model

            parsed = parse_model(str(data["syntax"]))
            merged = _merge_details(parsed.constructs, data.get("constructs") or {})
            return cls(
                constructs=merged,
                paths=parsed.paths + _paths_arg(data.get("paths") or ()),
                name=name,
                scale=scale,
            )
        return cls(
            constructs=_constructs_from(data.get("constructs") or ()),
            paths=_paths_arg(data.get("paths") or ()),
            name=name,
            scale=scale,
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON/YAML-safe): ``name``, ``scale``, ``constructs``, ``paths``."""
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.scale is not None:
            out["scale"] = list(self.scale)
        out["constructs"] = [c.to_dict() for c in self.constructs]
        out["paths"] = [{"from": p.source, "to": p.target} for p in self.paths]
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str, /) -> PathModel:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(
                "pls.error.bad_json", line=exc.lineno, col=exc.colno, detail=exc.msg
            ) from None
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        text: str = yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)
        return text

    @classmethod
    def from_yaml(cls, text: str, /) -> PathModel:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise _fail(
                "pls.error.bad_yaml",
                line=(mark.line + 1) if mark is not None else "?",
                col=(mark.column + 1) if mark is not None else "?",
                detail=str(getattr(exc, "problem", exc)),
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_syntax(cls, text: str, /) -> PathModel:
        """Parse the lavaan-like text syntax (see :mod:`allegiance.pls.syntax`)."""
        from allegiance.pls.syntax import parse_model

        return parse_model(text)

    def to_syntax(self) -> str:
        """The model in the lavaan-like text syntax."""
        from allegiance.pls.syntax import format_model

        return format_model(self)

    @classmethod
    def load(cls, path: str | Path, /) -> PathModel:
        """Read a model file: ``.yaml``/``.yml``, ``.json``, or text syntax (anything else)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise _fail(
                "pls.error.read_model", file=str(file), detail=exc.strerror or str(exc)
            ) from None
        suffix = file.suffix.lower()
        if suffix in {".yaml", ".yml"}:
            return cls.from_yaml(text)
        if suffix == ".json":
            return cls.from_json(text)
        return cls.from_syntax(text)

    # --- views ------------------------------------------------------------------------------

    @property
    def construct_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.constructs)

    @cached_property
    def items(self) -> tuple[str, ...]:
        """Every item, construct by construct, in model order."""
        return tuple(i for c in self.constructs for i in c.items)

    def construct(self, name: str, /) -> Construct:
        """The construct called ``name``."""
        try:
            return self.constructs[self._index[name]]
        except KeyError:
            raise _fail(
                "pls.error.no_such_construct", construct=name, known=", ".join(self._index)
            ) from None

    def position(self, name: str, /) -> int:
        """The position of construct ``name`` in :attr:`constructs`."""
        self.construct(name)
        return self._index[name]

    def predecessors(self, name: str, /) -> tuple[str, ...]:
        """The constructs with a path into ``name``, in model order."""
        self.construct(name)
        srcs = {p.source for p in self.paths if p.target == name}
        return tuple(n for n in self.construct_names if n in srcs)

    def successors(self, name: str, /) -> tuple[str, ...]:
        """The constructs ``name`` has a path into, in model order."""
        self.construct(name)
        dsts = {p.target for p in self.paths if p.source == name}
        return tuple(n for n in self.construct_names if n in dsts)

    @property
    def endogenous(self) -> tuple[str, ...]:
        """Constructs with at least one path into them."""
        targets = {p.target for p in self.paths}
        return tuple(n for n in self.construct_names if n in targets)

    @property
    def exogenous(self) -> tuple[str, ...]:
        targets = {p.target for p in self.paths}
        return tuple(n for n in self.construct_names if n not in targets)

    def construct_of(self, item: str, /) -> str:
        """The construct item ``item`` measures."""
        for c in self.constructs:
            if item in c.items:
                return c.name
        raise _fail("pls.error.no_such_item", item=item)

    def item_scale(self, item: str, /) -> tuple[float, float] | None:
        """The answer scale of ``item``: its construct's, else the model's, else None."""
        c = self.construct(self.construct_of(item))
        return c.scale if c.scale is not None else self.scale

    def rename_items(self, mapping: Mapping[str, str], /) -> PathModel:
        """The same model with items renamed (``{old: new}``), e.g. to a data file's columns.

        Every old name must be an item of the model; items not named keep their names.

        >>> m = PathModel.from_syntax("Value =~ PERV1 + PERV2")
        >>> m.rename_items({"PERV1": "price_given_quality"}).items
        ('price_given_quality', 'PERV2')
        """
        known = set(self.items)
        unknown = [old for old in mapping if old not in known]
        if unknown:
            raise _fail(
                "pls.error.rename_unknown_items",
                items=", ".join(unknown),
                known=", ".join(self.items),
            )
        renamed = tuple(
            replace(c, items=tuple(str(mapping.get(i, i)) for i in c.items))
            for c in self.constructs
        )
        return replace(self, constructs=renamed)

    def label(self, name: str, lang: str | None = None, /) -> str:
        """A construct's name for people: ``name_zh`` in Chinese when given."""
        from allegiance.i18n import current_lang, normalize_lang

        c = self.construct(name)
        chosen = normalize_lang(lang) or current_lang()
        return c.name_zh if chosen == "zh" and c.name_zh else c.name


def _constructs_from(
    value: Mapping[str, Sequence[str] | Mapping[str, Any]] | Iterable[Any],
) -> tuple[Construct, ...]:
    out: list[Construct] = []
    if isinstance(value, Mapping):
        for name, spec in value.items():
            if isinstance(spec, Construct):
                out.append(spec)
            elif isinstance(spec, Mapping):
                out.append(Construct.from_dict(spec, name=str(name)))
            elif isinstance(spec, str):
                out.append(Construct(str(name), (spec,)))
            elif spec is None:
                out.append(Construct(str(name), ()))
            else:
                out.append(Construct(str(name), tuple(spec)))
        return tuple(out)
    for spec in value:
        if isinstance(spec, Construct):
            out.append(spec)
        elif isinstance(spec, Mapping):
            out.append(Construct.from_dict(spec))
        else:
            raise _fail("pls.error.bad_construct", value=repr(spec))
    return tuple(out)


def _paths_arg(value: Iterable[Any] | Mapping[str, Any]) -> tuple[StructuralPath, ...]:
    if isinstance(value, Mapping):
        out: list[StructuralPath] = []
        for target, sources in value.items():
            srcs = [sources] if isinstance(sources, str) else list(sources or [])
            out.extend(StructuralPath(str(s), str(target)) for s in srcs)
        return tuple(out)
    return _paths_from(value)


def _merge_details(parsed: tuple[Construct, ...], details: Any) -> tuple[Construct, ...]:
    """Constructs from syntax, completed by ``{name: {name_zh, scale, mode}}`` given beside it."""
    if not isinstance(details, Mapping):
        raise _fail("pls.error.bad_construct", value=repr(details))
    known = {c.name for c in parsed}
    for name, extra in details.items():
        if name not in known:
            raise _fail("pls.error.no_such_construct", construct=str(name), known=", ".join(known))
        if not isinstance(extra, Mapping) or set(extra) - {"name_zh", "scale", "mode"}:
            raise _fail(
                "pls.error.unknown_keys",
                where=f"constructs.{name}",
                keys=", ".join(sorted(map(str, extra)))
                if isinstance(extra, Mapping)
                else repr(extra),
                allowed="name_zh, mode, scale",
            )
    out = []
    for c in parsed:
        extra = details.get(c.name) or {}
        out.append(
            Construct(
                c.name,
                c.items,
                extra.get("mode", c.mode),
                name_zh=extra.get("name_zh", c.name_zh),
                scale=extra.get("scale", c.scale),
            )
        )
    return tuple(out)
