"""The demo company's codes and population make-up: one place for every fact.

Huaxun Telecom (华讯通信) is fictional. Every code list below has its labels in
``locales/generate.yaml`` (``generate.<kind>.<code>``); :func:`labels` reads
them in either language. Probabilities here are the TRUE population values the
generators draw from; they are copied into ``truth`` so tests can check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from allegiance.i18n import current_lang, has, normalize_lang, t

__all__ = [
    "AGE_GROUPS",
    "AGE_GROUP_PROBS",
    "CAUSES",
    "CAUSE_CLASSES",
    "CHANNELS",
    "COMPANY",
    "CONSTRUCTS",
    "CS_CRITERIA",
    "CS_FACTORS",
    "ECSI_ITEMS",
    "KANO_FEATURES",
    "LANGS",
    "NATURES",
    "NATURE_GIVEN_SEGMENT",
    "PRODUCTS",
    "PRODUCT_GIVEN_SEGMENT",
    "REASONS",
    "REGIONS",
    "REGION_PROBS",
    "SEGMENTS",
    "SEGMENT_PROBS",
    "SERVQUAL_DIMENSIONS",
    "SERVQUAL_ITEM_DIMENSION",
    "STATUSES",
    "TIER_GIVEN_REGION",
    "VALUE_TIERS",
    "VALUE_TIER_GIVEN_SEGMENT",
    "Cause",
    "codes",
    "column_label",
    "filled_templates",
    "kinds",
    "label",
    "labels",
]

CONSTRUCTS: tuple[str, ...] = (
    "image",
    "expectation",
    "quality",
    "value",
    "satisfaction",
    "complaints",
    "loyalty",
)

# The 24 ECSI items of the mobi study (Tenenhaus et al. 2005) and the construct each measures.
ECSI_ITEMS: dict[str, str] = {
    **{f"IMAG{i}": "image" for i in range(1, 6)},
    **{f"CUEX{i}": "expectation" for i in range(1, 4)},
    **{f"PERQ{i}": "quality" for i in range(1, 8)},
    **{f"PERV{i}": "value" for i in range(1, 3)},
    **{f"CUSA{i}": "satisfaction" for i in range(1, 4)},
    "CUSCO": "complaints",
    **{f"CUSL{i}": "loyalty" for i in range(1, 4)},
}

COMPANY = "huaxun"  # generate.company.huaxun: 华讯通信 / Huaxun Telecom

LANGS: tuple[str, ...] = ("zh", "en")

PRODUCTS: tuple[str, ...] = (
    "mobile",
    "broadband",
    "fixed_line",
    "iptv",
    "cloud",
    "dedicated_line",
    "iot",
    "vas",
)

SEGMENTS: tuple[str, ...] = ("consumer", "sme", "enterprise", "government")
SEGMENT_PROBS: tuple[float, ...] = (0.88, 0.08, 0.03, 0.01)

# SPEC section 4, customer nature (客户性质), from the loyalty calculation standard.
NATURES: tuple[str, ...] = (
    "key_government",
    "public_welfare",
    "other_key",
    "other_large",
    "wholesale",
    "retail",
)
# P(nature | segment); rows follow SEGMENTS, columns NATURES.
NATURE_GIVEN_SEGMENT: dict[str, tuple[float, ...]] = {
    "consumer": (0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    "sme": (0.0, 0.0, 0.0, 0.0, 0.2, 0.8),
    "enterprise": (0.0, 0.0, 0.25, 0.5, 0.25, 0.0),
    "government": (0.5, 0.5, 0.0, 0.0, 0.0, 0.0),
}

VALUE_TIERS: tuple[str, ...] = ("vip", "gold", "standard")
VALUE_TIER_GIVEN_SEGMENT: dict[str, tuple[float, ...]] = {
    "consumer": (0.03, 0.15, 0.82),
    "sme": (0.08, 0.30, 0.62),
    "enterprise": (0.30, 0.45, 0.25),
    "government": (0.40, 0.40, 0.20),
}

REGIONS: tuple[str, ...] = (
    "beijing",
    "shanghai",
    "guangdong",
    "jiangsu",
    "zhejiang",
    "shandong",
    "sichuan",
    "hubei",
    "shaanxi",
)
REGION_PROBS: tuple[float, ...] = (0.09, 0.09, 0.18, 0.13, 0.11, 0.13, 0.11, 0.08, 0.08)
# P(city tier 1..4 | region)
TIER_GIVEN_REGION: dict[str, tuple[float, ...]] = {
    "beijing": (0.9, 0.1, 0.0, 0.0),
    "shanghai": (0.9, 0.1, 0.0, 0.0),
    "guangdong": (0.35, 0.25, 0.25, 0.15),
    "jiangsu": (0.0, 0.45, 0.35, 0.2),
    "zhejiang": (0.0, 0.45, 0.35, 0.2),
    "shandong": (0.0, 0.3, 0.4, 0.3),
    "sichuan": (0.0, 0.45, 0.25, 0.3),
    "hubei": (0.0, 0.45, 0.25, 0.3),
    "shaanxi": (0.0, 0.45, 0.25, 0.3),
}

AGE_GROUPS: tuple[str, ...] = ("18_24", "25_34", "35_44", "45_54", "55_64", "65_plus")
AGE_GROUP_PROBS: tuple[float, ...] = (0.12, 0.24, 0.22, 0.18, 0.14, 0.10)

# P(main product | segment), columns follow PRODUCTS.
PRODUCT_GIVEN_SEGMENT: dict[str, tuple[float, ...]] = {
    "consumer": (0.60, 0.25, 0.04, 0.05, 0.0, 0.0, 0.0, 0.06),
    "sme": (0.30, 0.35, 0.10, 0.0, 0.10, 0.05, 0.05, 0.05),
    "enterprise": (0.15, 0.10, 0.05, 0.0, 0.25, 0.30, 0.15, 0.0),
    "government": (0.15, 0.10, 0.10, 0.0, 0.20, 0.35, 0.10, 0.0),
}

# SPEC section 4: the calculation-standard factors under their three criteria.
CS_CRITERIA: tuple[str, ...] = ("service_content", "service_quality", "benefit")
CS_FACTORS: dict[str, tuple[str, ...]] = {
    "service_content": (
        "overall_image",
        "credibility",
        "brand_popularity",
        "customer_care",
        "service_attitude",
        "service_procedures",
        "service_use",
    ),
    "service_quality": ("reliability", "security", "transaction_speed", "error_rate"),
    "benefit": ("profit_gained", "cost_saved", "other_benefit"),
}

KANO_FEATURES: tuple[str, ...] = (
    "coverage_5g",
    "bill_explain",
    "free_roaming",
    "family_sharing",
    "app_self_service",
    "priority_hotline",
    "data_rollover",
    "smart_home_bundle",
)

# Parasuraman, Zeithaml & Berry (1988): 22 items in five dimensions.
SERVQUAL_DIMENSIONS: tuple[str, ...] = (
    "tangibles",
    "reliability",
    "responsiveness",
    "assurance",
    "empathy",
)
SERVQUAL_ITEM_DIMENSION: tuple[str, ...] = (
    ("tangibles",) * 4
    + ("reliability",) * 5
    + ("responsiveness",) * 4
    + ("assurance",) * 4
    + ("empathy",) * 5
)

REASONS: tuple[str, ...] = (
    "network_quality",
    "billing",
    "price",
    "service_attitude",
    "waiting_time",
    "app_issues",
    "other",
)

CHANNELS: tuple[str, ...] = ("hotline", "app", "store", "social_media", "regulator")
STATUSES: tuple[str, ...] = ("open", "resolved")


@dataclass(frozen=True)
class Cause:
    """One complaint cause of SPEC section 6 (顾客抱怨原因统计表): code, count, class 1-4."""

    code: str
    count: int
    klass: int


# The 148-complaint example of SPEC section 6, in the published order: code, count, class.
CAUSES: tuple[Cause, ...] = (
    Cause("poor_quality", 38, 1),  # 产品品质不良
    Cause("service_attitude", 17, 2),  # 服务态度
    Cause("product_fault", 14, 1),  # 产品故障
    Cause("foreign_matter", 10, 1),  # 搀杂异物
    Cause("mistaken_customer", 10, 2),  # 认错顾客、生疏
    Cause("order_error", 9, 2),  # 订货出错
    Cause("long_wait", 5, 2),  # 让顾客久等
    Cause("slow_reply", 5, 2),  # 拖延回答、不回应
    Cause("customer_knowledge", 5, 3),  # 顾客的无知或常识不足
    Cause("product_doubt", 4, 1),  # 对产品的疑问
    Cause("mistakes", 3, 2),  # 出差错
    Cause("fault_unclear", 3, 4),  # 不知是卖方或买方的错
    Cause("disappointed_expectation", 3, 1),  # 期待破灭
    Cause("poor_explanation", 2, 2),  # 说明技巧差
    Cause("wrong_information", 2, 2),  # 介绍错误
    Cause("request_not_met", 2, 2),  # 无法满足客人的要求
    Cause("not_taken_seriously", 2, 2),  # 不把客户的抱怨当回事
    Cause("paid_too_much", 2, 1),  # 付出的钱太多
    Cause("carelessness", 1, 2),  # 由于疏忽而造成的抱怨
    Cause("unreasonable", 1, 4),  # 不合理的抱怨
    Cause("recommended_other", 1, 2),  # 推荐其他制造商
    Cause("lost_item", 1, 1),  # 遗失
    Cause("natural_causes", 1, 4),  # 天灾等非人为因素
    Cause("insufficient_skill", 1, 1),  # 技术不够纯熟
    Cause("perfunctory", 1, 2),  # 马马虎虎敷衍了事
    Cause("different_standpoint", 1, 2),  # 立场不同
    Cause("price", 1, 1),  # 价格问题
    Cause("lack_of_knowledge", 1, 2),  # 知识不足
    Cause("late_delivery", 1, 2),  # 延迟送达
    Cause("sold_out", 1, 1),  # 货品售完
)
CAUSE_CLASSES: tuple[int, ...] = (1, 2, 3, 4)

_KINDS = {
    "company": (COMPANY,),
    "product": PRODUCTS,
    "product_inline": PRODUCTS,
    "construct": CONSTRUCTS,
    "segment": SEGMENTS,
    "nature": NATURES,
    "value_tier": VALUE_TIERS,
    "region": REGIONS,
    "age_group": AGE_GROUPS,
    "cs_criterion": CS_CRITERIA,
    "cs_factor": tuple(f for group in CS_FACTORS.values() for f in group),
    "kano_feature": KANO_FEATURES,
    "servqual_dimension": SERVQUAL_DIMENSIONS,
    "reason": REASONS,
    "channel": CHANNELS,
    "status": STATUSES,
    "cause": tuple(c.code for c in CAUSES),
    "cause_class": tuple(str(k) for k in CAUSE_CLASSES),
    "lang": LANGS,
}


def kinds() -> tuple[str, ...]:
    """The code lists that have labels (``product``, ``region``, ``cause`` ...)."""
    return tuple(_KINDS)


def codes(kind: str, /) -> tuple[str, ...]:
    """The codes of one list, in catalogue order."""
    return _KINDS[kind]


def label(kind: str, code: str, /, lang: str | None = None) -> str:
    """The label of one code, e.g. ``label("product", "iptv", lang="zh")``."""
    return t(f"generate.{kind}.{code}", lang)


@cache
def _labels(kind: str, lang: str) -> dict[str, str]:
    return {code: label(kind, code, lang) for code in _KINDS[kind]}


def labels(kind: str, /, lang: str | None = None) -> dict[str, str]:
    """All labels of one code list, ``{code: label}``, in the given language."""
    return dict(_labels(kind, normalize_lang(lang) or current_lang()))


def _lang(lang: str | None) -> str:
    return normalize_lang(lang) or current_lang()


def column_label(name: str, /, lang: str | None = None) -> str:
    """What a generated column means, in Chinese or English (falls back to the name)."""
    lang = _lang(lang)
    if has(f"generate.col.{name}"):
        return t(f"generate.col.{name}", lang)
    if name.startswith("cs_") and name[3:] in _KINDS["cs_factor"]:
        return t("generate.col.cs", lang, factor=label("cs_factor", name[3:], lang))
    if name in ECSI_ITEMS:
        construct = label("construct", ECSI_ITEMS[name], lang)
        return t("generate.col.ecsi", lang, item=name, construct=construct)
    for side in ("func", "dysf"):
        feature = name.removeprefix("kano_").removesuffix(f"_{side}")
        if name == f"kano_{feature}_{side}" and feature in KANO_FEATURES:
            feature_label = label("kano_feature", feature, lang)
            return t(f"generate.col.kano_{side}", lang, feature=feature_label)
    if name[:4] in ("sq_e", "sq_p") and name[4:].isdigit():
        number = int(name[4:])
        if 1 <= number <= len(SERVQUAL_ITEM_DIMENSION):
            dim = label("servqual_dimension", SERVQUAL_ITEM_DIMENSION[number - 1], lang)
            return t(f"generate.col.{name[:4]}", lang, number=number, dimension=dim)
    return name


@cache
def _filled(keys: tuple[str, ...], lang: str) -> npt.NDArray[np.object_]:
    inline = [t(f"generate.product_inline.{p}", lang) for p in PRODUCTS]
    table = np.empty((len(keys), len(PRODUCTS)), dtype=object)
    for i, key in enumerate(keys):  # a loop over templates, not rows
        for j, product in enumerate(inline):
            table[i, j] = t(key, lang, product=product)
    table.flags.writeable = False
    return table


def filled_templates(keys: Sequence[str], /, lang: str) -> npt.NDArray[np.object_]:
    """Templates ``keys`` filled with every product: shape (templates, products), str objects."""
    return _filled(tuple(keys), _lang(lang))
