"""The cause taxonomy (SPEC section 6, configurable) and the handling workflow (transitions)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from allegiance.complaints import (
    apply_transition,
    load_taxonomy,
    load_workflow,
    parse_taxonomy,
    parse_workflow,
)
from allegiance.errors import ConfigError, ValidationError
from allegiance.generate import vocab
from allegiance.i18n import t

# ------------------------------------------------------------------------------ taxonomy


def test_default_taxonomy_is_spec_section_6() -> None:
    tax = load_taxonomy()
    assert len(tax.causes) == 30
    assert sorted(tax.classes) == [1, 2, 3, 4]
    # the same codes, classes and names as the demo company's cause list (SPEC's 148 complaints)
    assert [(c.code, c.klass) for c in tax.causes] == [(c.code, c.klass) for c in vocab.CAUSES]
    for cause in tax.causes:
        assert cause.zh == t(f"generate.cause.{cause.code}", "zh")
        assert cause.en == t(f"generate.cause.{cause.code}", "en")
    for k in (1, 2, 3, 4):
        assert tax.class_name(k, "zh") == t(f"generate.cause_class.{k}", "zh")
    assert tax.class_name(2, "en") == "Service and handling skill"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("服务态度", "service_attitude"),
        ("service attitude", "service_attitude"),
        ("SERVICE_ATTITUDE", "service_attitude"),
        ("  long wait / late delivery date ", "long_wait"),  # SPEC's English wording
        ("Foreign matter (food)", "foreign_matter"),
        ("Ｐｒｉｃｅ", "price"),  # full-width letters
        ("价格问题", "price"),
    ],
)
def test_causes_are_found_by_code_or_name(given: str, code: str) -> None:
    found = load_taxonomy().resolve(given)
    assert found is not None
    assert found.code == code


def test_a_company_file_extends_the_default(tmp_path: Path) -> None:
    own = tmp_path / "ours.yaml"
    own.write_text(
        "extends: default\n"
        "remove: [foreign_matter, sold_out]\n"
        "causes:\n"
        "  - {code: price, zh: 资费问题, aliases: [套餐太贵]}\n"
        "  - {code: network_outage, class: 1, zh: 网络中断, en: Network outage}\n"
        "classes:\n"
        "  1: {en: Network and product}\n",
        encoding="utf-8",
    )
    tax = load_taxonomy(own)
    assert len(tax.causes) == 29
    assert tax.resolve("foreign_matter") is None
    assert tax.resolve("套餐太贵").code == "price"  # type: ignore[union-attr]
    assert tax.resolve("价格问题") is None  # renamed
    assert tax.get("price").klass == 1
    assert tax.codes()[-1] == "network_outage"
    assert tax.class_name(1, "en") == "Network and product"
    assert tax.class_name(1, "zh") == "产品品质、功能或价格"


def test_a_file_without_extends_replaces_the_default() -> None:
    tax = parse_taxonomy(
        {
            "classes": {k: {"en": f"C{k}", "zh": f"类{k}"} for k in (1, 2, 3, 4)},
            "causes": [{"code": "x", "class": 2, "zh": "甲", "en": "X"}],
        }
    )
    assert tax.codes() == ("x",)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("extends: default\nremove: [nope]\n", "complaints.taxonomy.remove_unknown"),
        (
            "extends: default\ncauses:\n  - {code: extra, class: 5, zh: 甲, en: A}\n",
            "complaints.taxonomy.bad_class",
        ),
        (
            "extends: default\ncauses:\n  - {code: extra, class: 1, zh: 服务态度, en: A}\n",
            "complaints.taxonomy.ambiguous",
        ),
        (
            "extends: default\ncauses:\n  - {code: extra, class: 1, zh: 甲}\n",
            "complaints.taxonomy.missing_name",
        ),
        ("extends: default\ncolour: red\n", "complaints.taxonomy.unknown_keys"),
        ("remove: [price]\n", "complaints.taxonomy.remove_without_extends"),
        ("causes: [\n", "complaints.taxonomy.bad_yaml"),
    ],
)
def test_bad_taxonomy_files_are_explained(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_taxonomy(text, source="ours.yaml")
    assert info.value.key == key
    assert info.value.render("zh") != info.value.render("en")


def test_missing_taxonomy_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_taxonomy("no/such/file.yaml")
    assert info.value.key == "complaints.taxonomy.no_file"


# ------------------------------------------------------------------------------ workflow

AT = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
LATER = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)


def test_default_workflow_states_and_moves() -> None:
    wf = load_workflow()
    assert wf.state_codes() == (
        "open",
        "acknowledged",
        "in_progress",
        "resolved",
        "closed",
        "reopened",
    )
    assert wf.initial == "open"
    assert wf.allowed("open") == ("acknowledged", "in_progress", "resolved")
    assert wf.allowed("closed") == ("reopened",)
    assert wf.severity_codes() == ("critical", "high", "medium", "low")
    assert wf.severity().code == "medium"
    assert (
        wf.severity("critical").first_response_hours,
        wf.severity("critical").resolution_hours,
    ) == (2.0, 24.0)
    assert wf.recovery_scale == (1.0, 5.0)
    assert wf.recovery_threshold == 4.0


def test_the_whole_path_sets_the_times() -> None:
    wf = load_workflow()
    record: dict[str, object] = {"status": "open"}
    record.update(apply_transition(wf, record, "acknowledged", at=AT))
    assert record["first_response_at"] == AT
    assert record["resolved_at"] is None
    record.update(apply_transition(wf, record, "in_progress", at=LATER))
    assert record["first_response_at"] == AT  # kept
    record.update(apply_transition(wf, record, "resolved", at=LATER))
    assert record["resolved_at"] == LATER
    record.update(apply_transition(wf, record, "closed", at=datetime(2024, 3, 5, tzinfo=UTC)))
    assert record["resolved_at"] == LATER  # closing keeps the resolution time
    record.update(apply_transition(wf, record, "reopened", at=datetime(2024, 3, 6, tzinfo=UTC)))
    assert record["status"] == "reopened"
    assert record["resolved_at"] is None
    assert record["previous_status"] == "closed"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("closed", "in_progress", "reopened"),
        ("open", "closed", "acknowledged, in_progress, resolved"),
        ("in_progress", "acknowledged", "resolved"),
    ],
)
def test_illegal_moves_are_refused_in_both_languages(
    current: str, target: str, allowed: str
) -> None:
    wf = load_workflow()
    with pytest.raises(ValidationError) as info:
        apply_transition(wf, {"status": current}, target, at=AT)
    assert info.value.key == "complaints.workflow.illegal"
    assert info.value.params["allowed"] == allowed
    en, zh = info.value.render("en"), info.value.render("zh")
    assert f'"{current}"' in en
    assert allowed in en
    assert f"“{current}”" in zh
    assert "只能转为" in zh


def test_roles_are_checked() -> None:
    wf = load_workflow()
    with pytest.raises(ValidationError) as info:
        apply_transition(wf, {"status": "resolved"}, "closed", role="agent", at=AT)
    assert info.value.key == "complaints.workflow.role_refused"
    assert (
        apply_transition(wf, {"status": "resolved"}, "closed", role="supervisor", at=AT)["status"]
        == "closed"
    )
    assert wf.allowed("resolved", role="agent") == ("reopened",)
    with pytest.raises(ValidationError, match="Unknown role"):
        apply_transition(wf, {"status": "open"}, "resolved", role="boss", at=AT)
    with pytest.raises(ValidationError, match="Unknown state"):
        apply_transition(wf, {"status": "open"}, "done", at=AT)


def test_a_company_workflow(tmp_path: Path) -> None:
    own = tmp_path / "wf.yaml"
    own.write_text(
        "extends: default\n"
        "states:\n"
        "  - {code: escalated, en: Escalated, zh: 已升级}\n"
        "transitions:\n"
        "  in_progress: [resolved, escalated]\n"
        "  escalated: [resolved]\n"
        "severities:\n"
        "  - {code: critical, first_response_hours: 1}\n"
        "default_severity: low\n",
        encoding="utf-8",
    )
    wf = load_workflow(own)
    assert wf.allowed("in_progress") == ("resolved", "escalated")
    assert (
        apply_transition(wf, {"status": "in_progress"}, "escalated", at=AT)["status"] == "escalated"
    )
    assert wf.severity("critical").first_response_hours == 1.0
    assert wf.severity("critical").resolution_hours == 24.0
    assert wf.default_severity == "low"
    changed = wf.with_sla({"low": (None, 100.0)})
    assert changed.severity("low").resolution_hours == 100.0
    assert changed.severity("low").first_response_hours == 48.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            "extends: default\ntransitions:\n  open: [nowhere]\n",
            "complaints.workflow.unknown_in_file",
        ),
        (
            "extends: default\nseverities:\n  - {code: high, first_response_hours: -1}\n",
            "complaints.workflow.bad_hours",
        ),
        ("extends: default\ndefault_severity: huge\n", "complaints.workflow.unknown_default"),
        (
            "extends: default\nrecovery: {scale: [1, 5], threshold: 9}\n",
            "complaints.workflow.bad_recovery",
        ),
        ("states: []\n", "complaints.workflow.no_states"),
    ],
)
def test_bad_workflow_files_are_explained(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_workflow(text, source="wf.yaml")
    assert info.value.key == key
