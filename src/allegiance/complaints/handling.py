"""The complaint handling workflow (投诉处理流程): states, allowed moves, roles, severities and SLAs.

The default (``templates/complaints/workflow_default.yaml``) is open → acknowledged →
in_progress → resolved → closed, with reopened, and first-contact resolution (open →
resolved) allowed. A company file may ``extends: default`` and change states, moves, roles,
severities and their service levels (SLA, in hours).

:func:`apply_transition` moves one complaint record to a new state: it refuses a move the
workflow does not allow (or the role may not make) with a bilingual error naming the allowed
states, and sets ``first_response_at`` / ``resolved_at`` as the workflow says.

>>> wf = load_workflow()
>>> wf.initial, wf.allowed("resolved")
('open', ('closed', 'reopened'))
>>> done = apply_transition(wf, {"status": "open"}, "resolved", at="2024-03-01T10:00:00+00:00")
>>> done["status"], done["first_response_at"] == done["resolved_at"]
('resolved', True)
>>> apply_transition(wf, {"status": "closed"}, "in_progress")
Traceback (most recent call last):
...
allegiance.errors.ValidationError: A complaint in state "closed" cannot move to "in_progress". Allowed from "closed": reopened.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from allegiance.complaints._files import config_path, load_config
from allegiance.errors import ConfigError, ValidationError
from allegiance.i18n import current_lang, normalize_lang

__all__ = [
    "DEFAULT_WORKFLOW",
    "ESCALATIONS",
    "Severity",
    "State",
    "Workflow",
    "apply_transition",
    "load_workflow",
    "parse_workflow",
]

#: The shipped default (templates/complaints/workflow_default.yaml).
DEFAULT_WORKFLOW = "workflow_default"
#: Where else a dissatisfied customer went (SPEC section 6), ``none`` for nowhere.
ESCALATIONS: tuple[str, ...] = ("none", "consumer_association", "media", "regulator", "court")

_FILE_KEYS = frozenset(
    {
        "title",
        "title_zh",
        "extends",
        "states",
        "transitions",
        "first_response",
        "resolved",
        "roles",
        "severities",
        "default_severity",
        "recovery",
    }
)
ANY = "*"


@dataclass(frozen=True)
class State:
    """A handling state: its code and names."""

    code: str
    en: str
    zh: str

    def name(self, lang: str | None = None) -> str:
        return self.zh if (normalize_lang(lang) or current_lang()) == "zh" else self.en


@dataclass(frozen=True)
class Severity:
    """A severity level and its service levels: hours allowed to first response and resolution."""

    code: str
    en: str
    zh: str
    first_response_hours: float
    resolution_hours: float

    def name(self, lang: str | None = None) -> str:
        return self.zh if (normalize_lang(lang) or current_lang()) == "zh" else self.en


@dataclass(frozen=True)
class Workflow:
    """States, allowed moves, role permissions, severities with SLAs and the recovery scale."""

    states: tuple[State, ...]
    initial: str
    transitions: Mapping[str, tuple[str, ...]]
    first_response: frozenset[str]
    resolved: frozenset[str]
    roles: Mapping[str, frozenset[str]]
    severities: tuple[Severity, ...]
    default_severity: str
    recovery_scale: tuple[float, float] = (1.0, 5.0)
    recovery_threshold: float = 4.0
    title: str | None = None
    source: str | None = field(default=None, compare=False)

    def state_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.states)

    def severity_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.severities)

    def state(self, code: str, /) -> State:
        for s in self.states:
            if s.code == code:
                return s
        raise ValidationError(
            "complaints.workflow.unknown_state",
            state=str(code),
            states=", ".join(self.state_codes()),
        )

    def severity(self, code: str | None = None, /) -> Severity:
        """The severity ``code`` (``None``: the default severity)."""
        wanted = self.default_severity if code is None else code
        for s in self.severities:
            if s.code == wanted:
                return s
        raise ValidationError(
            "complaints.workflow.unknown_severity",
            severity=str(code),
            severities=", ".join(self.severity_codes()),
        )

    def allowed(self, state: str, /, *, role: str | None = None) -> tuple[str, ...]:
        """The states a complaint in ``state`` may move to (those ``role`` may set, if given)."""
        self.state(state)
        targets = self.transitions.get(state, ())
        if role is None:
            return targets
        permitted = self._role(role)
        return tuple(s for s in targets if ANY in permitted or s in permitted)

    def _role(self, role: str) -> frozenset[str]:
        permitted = self.roles.get(role)
        if permitted is None:
            raise ValidationError(
                "complaints.workflow.unknown_role",
                role=role,
                roles=", ".join(sorted(self.roles)) or "-",
            )
        return permitted

    def check(self, current: str, target: str, /, *, role: str | None = None) -> None:
        """Raise a bilingual :class:`ValidationError` unless ``current → target`` is allowed."""
        self.state(target)
        moves = self.allowed(current)
        if target not in moves:
            raise ValidationError(
                "complaints.workflow.illegal",
                current=current,
                target=target,
                allowed=", ".join(moves) or "-",
            )
        if role is not None:
            permitted = self._role(role)
            if ANY not in permitted and target not in permitted:
                raise ValidationError(
                    "complaints.workflow.role_refused",
                    role=role,
                    target=target,
                    permitted=", ".join(sorted(permitted)) or "-",
                )

    def with_sla(self, overrides: Mapping[str, tuple[float | None, float | None]], /) -> Workflow:
        """A copy with other SLA hours: ``{severity: (first_response_hours, resolution_hours)}``
        (``None`` keeps a value)."""
        known = set(self.severity_codes())
        for code in overrides:
            if code not in known:
                raise ValidationError(
                    "complaints.workflow.unknown_severity",
                    severity=code,
                    severities=", ".join(self.severity_codes()),
                )
        severities = []
        for s in self.severities:
            first, resolution = overrides.get(s.code, (None, None))
            severities.append(
                replace(
                    s,
                    first_response_hours=_hours(
                        s.first_response_hours if first is None else first, where=s.code
                    ),
                    resolution_hours=_hours(
                        s.resolution_hours if resolution is None else resolution, where=s.code
                    ),
                )
            )
        return replace(self, severities=tuple(severities))

    def sla_table(self) -> pd.DataFrame:
        """``severity | first_response_hours | resolution_hours`` in workflow order."""
        return pd.DataFrame(
            {
                "severity": [s.code for s in self.severities],
                "first_response_hours": [s.first_response_hours for s in self.severities],
                "resolution_hours": [s.resolution_hours for s in self.severities],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "states": [{"code": s.code, "en": s.en, "zh": s.zh} for s in self.states],
            "initial": self.initial,
            "transitions": {k: list(v) for k, v in self.transitions.items()},
            "first_response": sorted(self.first_response),
            "resolved": sorted(self.resolved),
            "roles": {k: sorted(v) for k, v in self.roles.items()},
            "severities": [
                {
                    "code": s.code,
                    "en": s.en,
                    "zh": s.zh,
                    "first_response_hours": s.first_response_hours,
                    "resolution_hours": s.resolution_hours,
                }
                for s in self.severities
            ],
            "default_severity": self.default_severity,
            "recovery": {"scale": list(self.recovery_scale), "threshold": self.recovery_threshold},
        }


# --------------------------------------------------------------------------------------------
# Applying a transition
# --------------------------------------------------------------------------------------------


def _moment(value: Any) -> datetime | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    moment = stamp.to_pydatetime()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def apply_transition(
    workflow: Workflow,
    complaint: Mapping[str, Any],
    target: str,
    /,
    *,
    role: str | None = None,
    at: datetime | str | None = None,
) -> dict[str, Any]:
    """Move one complaint record to ``target``; returns the record's new fields.

    ``complaint`` needs ``status`` and may carry ``first_response_at`` and ``resolved_at``.
    The move must be allowed from the current status (and, with ``role``, permitted to that
    role), else a :class:`ValidationError` names the allowed states. Entering a
    ``first_response`` state sets ``first_response_at`` (if not set yet); entering a
    ``resolved`` state from an unresolved one sets ``resolved_at``; leaving the resolved
    states (reopening) clears it. ``at`` defaults to now (UTC). Returns ``status``,
    ``first_response_at``, ``resolved_at`` and ``previous_status``.
    """
    current = str(complaint.get("status") or workflow.initial)
    workflow.check(current, target, role=role)
    moment = _moment(at) or datetime.now(UTC)
    first = _moment(complaint.get("first_response_at"))
    resolved = _moment(complaint.get("resolved_at"))
    if target in workflow.first_response and first is None:
        first = moment
    if target in workflow.resolved and current not in workflow.resolved:
        resolved = moment
        if first is None:
            first = moment
    elif target not in workflow.resolved:
        resolved = None
    return {
        "status": target,
        "previous_status": current,
        "first_response_at": first,
        "resolved_at": resolved,
    }


# --------------------------------------------------------------------------------------------
# Reading a workflow file
# --------------------------------------------------------------------------------------------


def _where(source: str | None) -> str:
    return source or "workflow"


def _hours(value: Any, *, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0 or isinstance(value, bool):
        raise ConfigError("complaints.workflow.bad_hours", where=where, value=repr(value))
    return number


def _code_list(value: Any, *, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        raise ConfigError("complaints.workflow.bad_list", where=where, found=repr(value)[:80])
    return [str(v).strip() for v in value]


def _named(spec: Any, *, where: str) -> tuple[str, str, str]:
    if not isinstance(spec, Mapping):
        raise ConfigError("complaints.workflow.bad_entry", where=where, found=repr(spec)[:80])
    code = str(spec.get("code") or "").strip()
    en = str(spec.get("en") or "").strip()
    zh = str(spec.get("zh") or "").strip()
    if not code or not en or not zh:
        raise ConfigError("complaints.workflow.bad_entry", where=where, found=repr(dict(spec))[:80])
    return code, en, zh


def _merge_list(base: list[Any], change: list[Any]) -> list[Any]:
    out = [dict(x) for x in base if isinstance(x, Mapping)]
    for item in change:
        if not isinstance(item, Mapping):
            out.append(item)
            continue
        hit = [x for x in out if x.get("code") == item.get("code")]
        if hit:
            hit[0].update(item)
        else:
            out.append(dict(item))
    return out


def _merge(base: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if k not in ("title", "title_zh")}
    for key, value in data.items():
        if key == "extends":
            continue
        if key in ("states", "severities") and isinstance(value, list):
            out[key] = _merge_list(list(base.get(key) or []), value)
        elif key in ("transitions", "roles", "recovery") and isinstance(value, Mapping):
            out[key] = {**(base.get(key) or {}), **value}
        else:
            out[key] = value
    return out


def parse_workflow(data: Mapping[str, Any] | str, /, *, source: str | None = None) -> Workflow:
    """A workflow from a mapping or YAML text (the format of ``workflow_default.yaml``)."""
    where = _where(source)
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise ConfigError("complaints.workflow.bad_yaml", where=where, error=str(exc)) from None
    if not isinstance(data, Mapping):
        raise ConfigError("complaints.workflow.bad_file", where=where)
    extra = sorted(set(map(str, data)) - _FILE_KEYS)
    if extra:
        raise ConfigError(
            "complaints.workflow.unknown_keys",
            where=where,
            keys=", ".join(extra),
            known=", ".join(sorted(_FILE_KEYS)),
        )
    if data.get("extends"):
        base_path = _workflow_path(str(data["extends"]), source)
        base = yaml.safe_load(base_path.read_text(encoding="utf-8-sig"))
        if isinstance(base, Mapping) and base.get("extends"):
            base = parse_workflow(base, source=str(base_path)).to_dict()
        data = _merge(base, data)

    raw_states = data.get("states") or []
    if not isinstance(raw_states, list) or not raw_states:
        raise ConfigError("complaints.workflow.no_states", where=where)
    states: list[State] = []
    initial: str | None = None
    for i, spec in enumerate(raw_states):
        code, en, zh = _named(spec, where=f"{where}: states[{i}]")
        if code in {s.code for s in states}:
            raise ConfigError("complaints.workflow.duplicate", where=where, code=code)
        states.append(State(code, en, zh))
        if isinstance(spec, Mapping) and spec.get("initial") and initial is None:
            initial = code
    codes = [s.code for s in states]
    initial = initial or codes[0]

    def known(names: list[str], what: str) -> tuple[str, ...]:
        for name in names:
            if name not in codes and name != ANY:
                raise ConfigError(
                    "complaints.workflow.unknown_in_file",
                    where=f"{where}: {what}",
                    state=name,
                    states=", ".join(codes),
                )
        return tuple(names)

    raw_moves = data.get("transitions") or {}
    if not isinstance(raw_moves, Mapping):
        raise ConfigError("complaints.workflow.bad_list", where=f"{where}: transitions", found="-")
    transitions: dict[str, tuple[str, ...]] = {}
    for source_state, targets in raw_moves.items():
        known([str(source_state)], "transitions")
        transitions[str(source_state)] = known(
            _code_list(targets, where=f"{where}: transitions.{source_state}"),
            f"transitions.{source_state}",
        )
    first_response = frozenset(
        known(_code_list(data.get("first_response"), where=where), "first_response")
    )
    resolved = frozenset(known(_code_list(data.get("resolved"), where=where), "resolved"))
    if not resolved:
        raise ConfigError("complaints.workflow.no_resolved", where=where)
    raw_roles = data.get("roles") or {}
    if not isinstance(raw_roles, Mapping):
        raise ConfigError("complaints.workflow.bad_list", where=f"{where}: roles", found="-")
    roles = {
        str(name): frozenset(
            known(_code_list(targets, where=f"{where}: roles.{name}"), f"roles.{name}")
        )
        for name, targets in raw_roles.items()
    }

    raw_sev = data.get("severities") or []
    if not isinstance(raw_sev, list) or not raw_sev:
        raise ConfigError("complaints.workflow.no_severities", where=where)
    severities: list[Severity] = []
    for i, spec in enumerate(raw_sev):
        at = f"{where}: severities[{i}]"
        code, en, zh = _named(spec, where=at)
        if code in {s.code for s in severities}:
            raise ConfigError("complaints.workflow.duplicate", where=where, code=code)
        severities.append(
            Severity(
                code,
                en,
                zh,
                first_response_hours=_hours(
                    spec.get("first_response_hours"), where=f"{at} ({code})"
                ),
                resolution_hours=_hours(spec.get("resolution_hours"), where=f"{at} ({code})"),
            )
        )
    default_severity = str(data.get("default_severity") or severities[0].code)
    if default_severity not in {s.code for s in severities}:
        raise ConfigError(
            "complaints.workflow.unknown_default",
            where=where,
            severity=default_severity,
            severities=", ".join(s.code for s in severities),
        )
    recovery = data.get("recovery") or {}
    if not isinstance(recovery, Mapping):
        raise ConfigError("complaints.workflow.bad_recovery", where=where)
    scale = recovery.get("scale", [1, 5])
    try:
        low, high = (float(scale[0]), float(scale[1]))
        threshold = float(recovery.get("threshold", 4))
    except (TypeError, ValueError, IndexError, KeyError):
        raise ConfigError("complaints.workflow.bad_recovery", where=where) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high and low <= threshold <= high):
        raise ConfigError("complaints.workflow.bad_recovery", where=where)
    title = data.get("title")
    return Workflow(
        states=tuple(states),
        initial=initial,
        transitions=transitions,
        first_response=first_response,
        resolved=resolved,
        roles=roles,
        severities=tuple(severities),
        default_severity=default_severity,
        recovery_scale=(low, high),
        recovery_threshold=threshold,
        title=str(title) if title else None,
        source=source,
    )


def _workflow_path(name: str, relative_to: str | None = None) -> Path:
    return config_path(name, default=DEFAULT_WORKFLOW, kind="workflow", relative_to=relative_to)


def load_workflow(path: str | Path | None = None, /) -> Workflow:
    """Read a workflow file, or a shipped one by name (``"default"``: the default). ``None``: the
    one ``ALLEGIANCE_COMPLAINTS_WORKFLOW`` names, else the default. A file is read again only
    when it changed (the web pages and the closed loop ask for it on every request)."""
    return load_config(
        path,
        default=DEFAULT_WORKFLOW,
        kind="workflow",
        setting="complaints_workflow",
        parse=parse_workflow,
    )
