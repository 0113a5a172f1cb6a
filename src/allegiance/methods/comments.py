"""Free-text comments (意见建议): search, keywords, sentiment and verbatims, Chinese and English.

Everything here takes a frame with a text column (``column``, default ``comment``)
and returns a small frozen result. Texts are never changed or escaped here:
escaping belongs to whatever shows them (the HTML report escapes every cell).

- **Language**: each comment's language comes from ``lang_column`` (values such as
  ``zh``/``en``/``zh_CN``), from ``lang`` for all, or else is detected: a comment
  with a CJK ideograph is Chinese, otherwise English (:func:`detect_lang`).
- **Search** (:func:`search_comments`): case-insensitive after Unicode NFKC
  normalisation (full-width Ａ matches a), in two modes: ``substring`` (the term
  appears anywhere; works for Chinese, which has no spaces) and ``token`` (the
  term is one of the comment's words: jieba's segmentation for Chinese, letters
  and digits for English).
- **Keywords** (:func:`keywords`): Chinese with jieba (TF-IDF against jieba's own
  IDF table, ``jieba.analyse.extract_tags``, or TextRank), English with YAKE
  (Campos et al. 2020, lower score = more relevant); both over all comments of a
  language joined, with stop words for both languages (:data:`STOPWORDS_ZH`,
  :data:`STOPWORDS_EN` added to YAKE's own English list). Each keyword also gets
  the number of comments that contain it.
- **Sentiment** (:func:`sentiment`): by default a transparent lexicon scorer
  (:data:`LEXICON`, documented in docs/methods/reasons-and-comments.md): matched
  words carry a valence (-4..4); an intensifier just before multiplies it, a
  negator within a short window flips it (× -0.74), a contrast word ("but", 但是)
  halves what came before it in the sentence and weighs what follows × 1.5 (the
  rules of VADER, Hutto & Gilbert 2014), and the sum ``s`` becomes
  ``s / sqrt(s² + 15)`` in -1..1. ``engine="vader"`` uses vaderSentiment for
  English comments instead. :func:`evaluate_sentiment` measures agreement with a
  satisfaction answer (Spearman, AUC, polarity accuracy).
- **Verbatims** (:func:`verbatims`): for each reason, the comments that mention
  one of its keywords, those of respondents who coded that reason first.

jieba and YAKE are imported on first use; jieba's logging is kept quiet and its
dictionary is read from the installed package (no network).

>>> import pandas as pd
>>> df = pd.DataFrame({"comment": ["网速太慢了，经常断线。", "Staff were very helpful.", None]})
>>> found = search_comments(df, terms=["断线", "HELPFUL"])
>>> found.table["row"].tolist()
[0, 1]
>>> scored = sentiment(df)
>>> [label for label in scored.scores["label"]]
['negative', 'positive']
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import threading
import unicodedata
import warnings as _warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.i18n import Message, normalize_lang
from allegiance.results import plain, records

__all__ = [
    "CONTRASTS",
    "INTENSIFIERS",
    "LEXICON",
    "NEGATORS",
    "STOPWORDS_EN",
    "STOPWORDS_ZH",
    "KeywordsResult",
    "SearchResult",
    "SentimentEvaluation",
    "SentimentResult",
    "VerbatimsResult",
    "detect_lang",
    "evaluate_sentiment",
    "keywords",
    "lexicon_score",
    "search_comments",
    "sentiment",
    "verbatims",
]

TextLang = Literal["zh", "en"]
Match = Literal["substring", "token"]
FloatArray = npt.NDArray[np.float64]

_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# --------------------------------------------------------------------------------------------
# Stop words (function words that are never keywords)
# --------------------------------------------------------------------------------------------


def _words(text: str, /) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS_ZH: frozenset[str] = _words(
    """
    的 了 是 在 我 你 他 她 它 我们 你们 他们 她们 这 那 这个 那个 这些 那些 这样 那样 这里 那里
    和 与 及 或 或者 而 而且 并 并且 就 都 也 还 又 再 才 只 只是 已经 正在 曾经 将 会 能 能够 可 可以
    要 想 得 地 着 过 吧 吗 呢 啊 呀 哦 嗯 么 之 其 所 把 被 让 给 对 对于 关于 为 为了 因为 所以 如果
    虽然 但是 但 然后 以及 一个 一些 一下 一点 有 没有 什么 怎么 怎么样 为什么 哪 哪里 谁 多少 时候
    现在 今天 之前 之后 以后 以前 后来 感觉 觉得 认为 就是 还是 或是 而是 不是 自己 大家 别人 东西
    方面 情况 问题 时间 地方 个别 比较 非常 特别 十分 很多 许多 所有 每个 各种 总体 总的来说 其他 其它
    用下来 用着 用来 目前 最近 一直 经常 总是 老是 起来 出来 下来 上去 进行 通过 使用 以上 以下
    """
)
"""Chinese function words and fillers left out of keywords (segmented as jieba does)."""

STOPWORDS_EN: frozenset[str] = _words(
    """
    a an the and or but if then so than too very really quite just also only even still yet
    i me my mine we our ours you your yours he him his she her hers it its they them their theirs
    this that these those there here what which who whom whose when where why how
    is are was were be been being am do does did done doing have has had having
    will would shall should can could may might must not no nor never
    of in on at by for with about against between into through during before after above below
    to from up down out off over under again further once all any both each few more most other
    some such own same s t don now lately far overall generally mostly keep keeps kept
    get gets got getting make makes made thing things something anything lot lots bit
    please thank thanks okay ok
    """
)
"""English words added to YAKE's own English stop-word list."""

# --------------------------------------------------------------------------------------------
# The sentiment lexicon (documented in docs/methods/reasons-and-comments.md)
# --------------------------------------------------------------------------------------------

_ZH_POSITIVE: dict[str, float] = {
    "满意": 2.0, "满足": 1.5, "喜欢": 2.0, "好": 1.5, "不错": 1.8, "优秀": 2.5, "出色": 2.5,
    "完美": 3.0, "棒": 2.5, "赞": 2.0, "点赞": 2.0, "感谢": 1.5, "谢谢": 1.0, "放心": 1.5,
    "方便": 1.5, "便捷": 1.5, "快捷": 1.5, "快速": 1.2, "及时": 1.5, "高效": 1.8, "稳定": 1.5,
    "流畅": 1.5, "清楚": 1.0, "清晰": 1.0, "透明": 1.0, "实惠": 1.5, "划算": 1.5, "便宜": 1.0,
    "优惠": 1.0, "热心": 2.0, "热情": 2.0, "耐心": 2.0, "周到": 2.0, "贴心": 2.0, "专业": 1.5,
    "礼貌": 1.5, "友好": 1.8, "用心": 1.5, "负责": 1.2, "靠谱": 1.8, "可靠": 1.5, "信赖": 1.8,
    "推荐": 1.5, "值得": 1.5, "省心": 1.8, "顺利": 1.2, "顺畅": 1.2, "解决": 1.0, "开心": 2.0,
    "高兴": 2.0, "愉快": 2.0, "舒心": 1.8, "惊喜": 2.5, "还行": 0.6, "还可以": 0.6,
}  # fmt: skip
_ZH_NEGATIVE: dict[str, float] = {
    "不满意": -2.0, "不满": -2.0, "失望": -2.0, "差": -2.0, "糟糕": -2.5, "烂": -2.5,
    "垃圾": -3.0, "坑": -2.0, "坑人": -2.5, "骗": -2.5, "欺骗": -3.0, "乱收费": -2.5,
    "乱扣费": -2.5, "扣费": -1.0, "多扣": -2.0, "贵": -1.5, "昂贵": -1.5, "涨价": -1.5, "涨": -0.8,
    "不值": -1.8, "慢": -1.5, "缓慢": -1.5, "卡顿": -1.5, "断线": -2.0, "掉线": -2.0,
    "断网": -2.0, "没信号": -2.0, "闪退": -2.0, "崩溃": -2.0, "死机": -2.0, "故障": -1.5,
    "错误": -1.5, "出错": -1.5, "问题": -0.8, "麻烦": -1.5, "复杂": -1.0, "繁琐": -1.5,
    "难": -1.0, "看不懂": -1.5, "看不明白": -1.5, "不明白": -1.2, "不透明": -1.5,
    "不稳定": -1.5, "不耐烦": -2.0, "冷淡": -1.5, "冷漠": -2.0, "敷衍": -2.0, "推诿": -2.0,
    "踢皮球": -2.0, "傲慢": -2.5, "粗鲁": -2.5, "没人管": -2.0, "没人理": -2.0,
    "不回应": -1.5, "久": -1.0, "拖": -1.5, "拖延": -1.8, "延迟": -1.5, "排队": -1.0,
    "投诉": -1.5, "换运营商": -2.0, "转网": -1.5, "后悔": -2.0, "生气": -2.5, "愤怒": -3.0,
    "气愤": -2.5, "恼火": -2.5, "无语": -1.5, "郁闷": -1.5, "烦": -1.5, "不便": -1.5,
    "不方便": -1.5, "办不成": -1.5, "办不了": -1.5, "用不了": -2.0, "打不通": -2.0,
    "连不上": -2.0, "上不了网": -2.0, "达不到": -1.5, "一般": -0.5, "一般般": -0.6,
    "凑合": -0.5, "马马虎虎": -0.5,
}  # fmt: skip
# Words that contain a negator character but negate nothing (无线 wireless, 不过 but ...).
_ZH_NEUTRAL: tuple[str, ...] = (
    "不少", "不断", "不仅", "不管", "不论", "不同", "无论", "无线", "无限", "没事", "没想到",
    "差不多", "好像", "好几", "好多", "只好", "正好", "刚好", "最好",
)  # fmt: skip

_EN_POSITIVE: dict[str, float] = {
    "satisfied": 2.0, "happy": 2.0, "pleased": 2.0, "glad": 1.5, "love": 3.0, "great": 2.5,
    "excellent": 3.0, "amazing": 3.0, "awesome": 3.0, "fantastic": 3.0, "wonderful": 3.0,
    "perfect": 3.0, "good": 1.5, "nice": 1.5, "fine": 0.8, "okay": 0.5, "ok": 0.5, "decent": 1.0,
    "reliable": 1.5, "reliably": 1.5, "stable": 1.5, "fast": 1.5, "quick": 1.5, "quickly": 1.0,
    "easy": 1.5, "easily": 1.2, "convenient": 1.5, "simple": 1.0, "clear": 1.0, "helpful": 2.0,
    "friendly": 2.0, "polite": 1.5, "patient": 1.5, "professional": 1.5, "kind": 1.5,
    "responsive": 1.5, "efficient": 1.8, "smooth": 1.5, "affordable": 1.5, "cheap": 0.8,
    "fair": 1.0, "worth": 1.5, "recommend": 2.0, "thank": 1.2, "thanks": 1.2,
    "appreciate": 1.8, "impressed": 2.0, "resolved": 1.5, "solved": 1.5, "fixed": 1.2,
    "best": 2.5, "better": 1.0, "loyal": 1.5, "keep it up": 1.5,
}  # fmt: skip
_EN_NEGATIVE: dict[str, float] = {
    "dissatisfied": -2.0, "unsatisfied": -2.0, "unhappy": -2.0, "disappointed": -2.0,
    "disappointing": -2.0, "frustrated": -2.0, "frustrating": -2.0, "annoyed": -2.0,
    "annoying": -2.0, "angry": -2.5, "furious": -3.0, "upset": -2.0, "terrible": -3.0,
    "awful": -3.0, "horrible": -3.0, "poor": -2.0, "bad": -2.0, "worse": -2.0, "worst": -3.0,
    "mediocre": -1.0, "average": -0.5, "rude": -2.5, "unfriendly": -2.0, "impatient": -2.0,
    "unhelpful": -2.0, "incompetent": -2.5, "careless": -1.8, "slow": -1.5, "delay": -1.5,
    "delayed": -1.5, "late": -1.0, "too long": -1.5, "expensive": -1.5, "overpriced": -2.0,
    "pricey": -1.2, "costs more": -1.0, "going up": -0.8, "crash": -2.0, "crashes": -2.0,
    "crashing": -2.0, "crashed": -2.0, "broken": -2.0, "bug": -1.5, "bugs": -1.5,
    "error": -1.5, "errors": -1.5, "fault": -1.5, "faulty": -1.8, "failure": -2.0,
    "fail": -2.0, "failed": -2.0, "fails": -2.0, "drop": -1.0, "drops": -1.0, "dropped": -1.5,
    "dropping": -1.0, "outage": -2.0, "no signal": -2.0, "unstable": -1.5, "unreliable": -2.0,
    "problem": -1.0, "problems": -1.0, "issue": -0.8, "issues": -0.8, "complaint": -1.5,
    "complain": -1.5, "confusing": -1.5, "confused": -1.2, "complicated": -1.2,
    "impossible": -1.5, "difficult": -1.5, "hidden": -1.0, "overcharged": -2.5, "unfair": -2.0,
    "switching": -1.2, "switch": -1.0, "cancel": -1.2, "regret": -2.0, "waste": -2.0,
    "useless": -2.5, "nightmare": -3.0, "hate": -3.0, "scam": -3.0,
}  # fmt: skip

NEGATORS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "zh": (
            "不", "没", "没有", "未", "无", "别", "并不", "从不", "从没", "毫无", "谈不上",
            "算不上", "称不上", "不够", "不太", "不怎么",
        ),
        "en": (
            "not", "no", "never", "nothing", "without", "nor", "neither", "hardly", "barely",
            "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "weren't", "can't",
            "cannot", "couldn't", "won't", "wouldn't", "shouldn't", "haven't", "hasn't",
            "dont", "doesnt", "didnt", "isnt", "wasnt", "cant", "couldnt", "wont",
        ),
    }
)  # fmt: skip
"""Words that flip the valence of a sentiment word shortly after them."""

INTENSIFIERS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "zh": MappingProxyType({
            "很": 1.3, "非常": 1.5, "太": 1.5, "特别": 1.5, "十分": 1.5, "极": 1.6, "极其": 1.6,
            "超": 1.4, "超级": 1.5, "挺": 1.2, "真": 1.3, "真的": 1.3, "最": 1.5, "更": 1.2,
            "越来越": 1.3, "远远": 1.5, "老是": 1.3, "总是": 1.3, "经常": 1.3, "一直": 1.1,
            "比较": 0.8, "还算": 0.8, "基本": 0.7, "有点": 0.8, "有些": 0.8, "稍微": 0.7,
            "略": 0.7,
        }),
        "en": MappingProxyType({
            "very": 1.3, "really": 1.3, "extremely": 1.5, "so": 1.2, "too": 1.3,
            "incredibly": 1.5, "absolutely": 1.5, "totally": 1.4, "completely": 1.4, "far": 1.3,
            "highly": 1.4, "super": 1.4, "always": 1.2, "keeps": 1.2, "quite": 1.1, "pretty": 1.1,
            "somewhat": 0.7, "slightly": 0.7, "a bit": 0.8, "fairly": 0.8, "mostly": 0.8,
            "generally": 0.9, "kind of": 0.7, "rather": 0.9,
        }),
    }
)  # fmt: skip
"""Words that multiply the valence of the sentiment word right after them (< 1 dampens)."""

CONTRASTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "zh": ("但", "但是", "可是", "不过", "然而", "只是"),
        "en": ("but", "however", "though", "although", "yet"),
    }
)
"""Contrast words: in a sentence, what precedes counts × 0.5, what follows × 1.5."""

LEXICON: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "zh": MappingProxyType({**_ZH_POSITIVE, **_ZH_NEGATIVE, **dict.fromkeys(_ZH_NEUTRAL, 0.0)}),
        "en": MappingProxyType({**_EN_POSITIVE, **_EN_NEGATIVE}),
    }
)
"""Valence of each sentiment word (-4 very negative .. 4 very positive; 0 = not a negation)."""

NEGATION_SCALAR = -0.74  # VADER's N_SCALAR
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
ALPHA = 15.0  # VADER's normalisation constant: s / sqrt(s² + alpha)
NEGATION_WINDOW = {"zh": 4, "en": 3}  # characters (zh) or words (en) between negator and word
INTENSIFIER_WINDOW = {"zh": 1, "en": 1}
_CLAUSE = "，,；;：:、"
_SENTENCE = "。.!！?？\n"


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class SearchResult:
    """Comments that match: ``table`` has ``row`` (position in the data), the kept columns,
    ``lang``, ``comment`` and ``matched`` (the terms found, ``;``-joined)."""

    table: pd.DataFrame
    terms: tuple[str, ...]
    match: Match
    mode: Literal["any", "all"]
    n_comments: int
    warnings: tuple[Message, ...] = ()

    @property
    def n_matches(self) -> int:
        return len(self.table)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"matches": self.table}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "search",
            "terms": list(self.terms),
            "match": self.match,
            "mode": self.mode,
            "n_comments": self.n_comments,
            "n_matches": self.n_matches,
            "tables": {"matches": records(self.table)},
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class KeywordsResult:
    """Keywords per language: ``table`` has ``lang``, ``rank``, ``keyword``, ``score`` (the
    method's own: TF-IDF and TextRank higher = more relevant, YAKE lower = more relevant),
    ``n_comments`` (comments containing the keyword) and ``share_of_comments``."""

    table: pd.DataFrame
    methods: Mapping[str, str]
    n_comments: Mapping[str, int]
    top: int
    warnings: tuple[Message, ...] = ()

    def for_lang(self, lang: str, /) -> pd.DataFrame:
        return self.table.loc[self.table["lang"] == lang].reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"keywords": self.table}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "keywords",
            "methods": dict(self.methods),
            "higher_is_better": {k: v != "yake" for k, v in self.methods.items()},
            "n_comments": dict(self.n_comments),
            "top": self.top,
            "tables": {"keywords": records(self.table)},
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class SentimentResult:
    """Sentiment of each comment and, with ``by``, per group.

    ``scores``: ``row``, kept columns, ``lang``, ``score`` (-1..1), ``label``
    (negative below ``-neutral``, positive above ``neutral``), ``n_hits`` (sentiment
    words found), ``engine``. ``summary``: per group (or overall) ``n``, ``mean``,
    ``sd``, ``ci_low``/``ci_high`` (t-interval), ``share_negative``,
    ``share_neutral``, ``share_positive``.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    by: tuple[str, ...]
    engines: Mapping[str, str]
    neutral: float
    confidence: float
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "scores": self.scores}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "sentiment",
            "engines": dict(self.engines),
            "by": list(self.by),
            "neutral": self.neutral,
            "confidence": self.confidence,
            "tables": {name: records(frame) for name, frame in self.tables().items()},
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class SentimentEvaluation:
    """How well sentiment scores agree with a satisfaction answer.

    ``spearman``: rank correlation of score and satisfaction; ``auc``: probability
    that a comment from the ``high`` levels scores above one from the ``low``
    levels (ties count half); ``accuracy``: share of ``low``/``high`` comments
    whose label is negative/positive (a neutral label counts as wrong);
    ``by_level``: mean score and label shares per satisfaction level.
    """

    n: int
    spearman: float
    auc: float
    accuracy: float
    by_level: pd.DataFrame
    warnings: tuple[Message, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        head = pd.DataFrame(
            {
                "n": [self.n],
                "spearman": [self.spearman],
                "auc": [self.auc],
                "accuracy": [self.accuracy],
            }
        )
        return {"agreement": head, "by_level": self.by_level}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "sentiment_evaluation",
            **plain({"n": self.n, "spearman": self.spearman, "auc": self.auc}),
            "accuracy": plain(self.accuracy),
            "tables": {"by_level": records(self.by_level)},
        }


@dataclass(frozen=True, eq=False, kw_only=True)
class VerbatimsResult:
    """Comments under each reason (or each factor): ``table`` has ``reason`` (``factor`` when
    grouped by factor), ``rank`` (within the group), ``row``, ``coded`` (the respondent named
    this reason, or one of the factor's reasons), ``matched``, ``comment`` and the kept
    columns; ``counts`` has per group ``n_matching`` and ``n_coded``."""

    table: pd.DataFrame
    counts: pd.DataFrame
    per_reason: int
    warnings: tuple[Message, ...] = ()
    group: str = "reason"
    factor_map: Mapping[str, str] = field(default_factory=dict)

    def for_reason(self, reason: str, /) -> pd.DataFrame:
        """The verbatims under one reason (or factor, when grouped by factor)."""
        return self.table.loc[self.table[self.group] == reason].reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"verbatims": self.table, "counts": self.counts}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": "verbatims",
            "group": self.group,
            "per_reason": self.per_reason,
        }
        if self.factor_map:
            out["factor_map"] = dict(self.factor_map)
        out["tables"] = {name: records(frame) for name, frame in self.tables().items()}
        return out


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def _check_frame(data: Any, columns: Sequence[str | None]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ValidationError("scales.not_a_frame", kind=type(data).__name__)
    wanted = [c for c in columns if c is not None]
    missing = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, [str(c) for c in data.columns])
    return data


def _normalise(texts: pd.Series[Any]) -> pd.Series[Any]:
    """NFKC then case-folded: full-width letters and digits match their ASCII forms."""
    return texts.astype("string").str.normalize("NFKC").str.casefold()


def _norm_term(term: str) -> str:
    return unicodedata.normalize("NFKC", term).casefold().strip()


def detect_lang(texts: pd.Series[Any], /) -> pd.Series[Any]:
    """``zh`` for texts with a CJK ideograph, ``en`` for the rest (missing stays missing)."""
    text = texts.astype("string")
    has_cjk = text.str.contains(_CJK, regex=True)
    out = pd.Series(np.where(has_cjk.fillna(False).to_numpy(dtype=bool), "zh", "en"),
                    index=texts.index, dtype="string")  # fmt: skip
    return out.where(text.notna())


def _langs(
    frame: pd.DataFrame, texts: pd.Series[Any], *, lang: str | None, lang_column: str | None
) -> pd.Series[Any]:
    if lang is not None:
        norm = normalize_lang(lang)
        if norm is None:
            raise ValidationError("comments.bad_lang", value=str(lang))
        return pd.Series(norm, index=texts.index, dtype="string").where(texts.notna())
    detected = detect_lang(texts)
    if lang_column is None:
        return detected
    raw = frame[lang_column].astype("string")
    uniques = raw.dropna().unique()
    mapping = {u: normalize_lang(str(u)) for u in uniques}
    given = raw.map(mapping).astype("string")
    return given.fillna(detected).where(texts.notna())


def _texts(frame: pd.DataFrame, column: str) -> pd.Series[Any]:
    text = frame[column].astype("string")
    return text.where(text.str.strip().str.len() > 0)


def _keep(frame: pd.DataFrame, keep: Sequence[str], rows: npt.NDArray[np.int64]) -> pd.DataFrame:
    out = frame[list(keep)].iloc[rows].reset_index(drop=True) if keep else pd.DataFrame()
    out.insert(0, "row", rows)
    return out


# --------------------------------------------------------------------------------------------
# jieba and YAKE, loaded once, quietly, offline
# --------------------------------------------------------------------------------------------

_jieba_lock = threading.Lock()


def _cache_dir() -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "allegiance"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(folder) if os.access(folder, os.W_OK) else None


@cache
def _jieba() -> Any:
    """jieba, logging at WARNING, its dictionary read from the installed package (no network).

    jieba caches its prefix dictionary (marshal); the cache goes to
    ``$XDG_CACHE_HOME/allegiance`` (or ``~/.cache/allegiance``) rather than the shared
    temporary folder, when that is writable.
    """
    with _jieba_lock, _warnings.catch_warnings():
        # jieba 0.42 imports pkg_resources only to open its own files and falls back to
        # open() without it; pkg_resources is slow to import and deprecated, so it is
        # kept out (a None entry makes that one import fail) unless already loaded.
        _warnings.simplefilter("ignore")
        blocked = "pkg_resources" not in sys.modules
        if blocked:
            sys.modules["pkg_resources"] = None  # type: ignore[assignment]
        try:
            import jieba
        finally:
            if blocked and sys.modules.get("pkg_resources", 0) is None:
                del sys.modules["pkg_resources"]

        jieba.setLogLevel(logging.WARNING)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        folder = _cache_dir()
        if folder is not None:
            jieba.dt.tmp_dir = folder
        jieba.initialize()
    return jieba


@cache
def _jieba_analyse() -> Any:
    """``jieba.analyse`` (TextRank); importing it also loads jieba's part-of-speech model."""
    _jieba()
    with _jieba_lock, _warnings.catch_warnings():
        # jieba.analyse leaves its IDF file open (a ResourceWarning).
        _warnings.simplefilter("ignore")
        import jieba.analyse as analyse

    return analyse


# jieba.analyse.tfidf.KeywordExtractor.STOP_WORDS (jieba 0.42.1): always left out, as jieba does.
JIEBA_STOP_WORDS: frozenset[str] = frozenset(
    (
        "the", "of", "is", "and", "to", "in", "that", "we", "for", "an", "are", "by", "be", "as",
        "on", "with", "can", "if", "from", "which", "you", "it", "this", "then", "at", "have",
        "all", "not", "one", "has", "or",
    )
)  # fmt: skip


@dataclass(frozen=True)
class _IDF:
    table: dict[str, float]
    median: float


@cache
def _idf() -> _IDF:
    """jieba's IDF table (``jieba/analyse/idf.txt``, "word idf" per line) and its median,
    exactly as ``jieba.analyse.tfidf.IDFLoader`` reads them."""
    jieba = _jieba()
    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    text = path.read_bytes().decode("utf-8")
    flat = " ".join(line.strip() for line in text.splitlines()).split(" ")
    words, values = flat[0::2], np.array(flat[1::2], dtype=np.float64)
    table = dict(zip(words, values.tolist(), strict=True))
    median = float(np.sort(values)[len(table) // 2]) if len(table) == len(words) else math.nan
    if not math.isfinite(median):  # a word listed twice: jieba keeps the last value
        median = float(sorted(table.values())[len(table) // 2])
    return _IDF(table=table, median=median)


def _tfidf(texts: Sequence[str], *, stopwords: frozenset[str]) -> list[tuple[str, float]]:
    """``jieba.analyse.extract_tags("\\n".join(texts), topK=None, withWeight=True)``, with stop words.

    The same arithmetic as jieba 0.42.1 (words of one character and stop words left out
    before the term frequencies are taken; unknown words get the median IDF), without
    importing jieba.analyse (which loads the part-of-speech model). jieba never joins
    words across a line break, so each distinct text is segmented once and its words
    counted as often as the text occurs. Equal weights are ordered by the word, so the
    result does not depend on the order of the comments.
    """
    counts = pd.Series(list(texts), dtype=object).value_counts(sort=False).sort_index()
    freq: dict[str, float] = {}
    jieba = _jieba()
    for text, times in zip(counts.index.tolist(), counts.tolist(), strict=True):
        for word in jieba.cut(text):
            if len(word.strip()) < 2 or word.lower() in JIEBA_STOP_WORDS or word in stopwords:
                continue
            freq[word] = freq.get(word, 0.0) + float(times)
    total = sum(freq.values())
    idf = _idf()
    for word in freq:
        freq[word] *= idf.table.get(word, idf.median) / total
    return sorted(freq.items(), key=lambda item: (-item[1], item[0]))


def _jieba_words(text: str) -> list[str]:
    return [w for w in _jieba().lcut(text) if w.strip()]


@cache
def _yake_stopwords() -> frozenset[str]:
    import yake

    base = yake.KeywordExtractor(lan="en").stopword_set
    return frozenset(set(base) | STOPWORDS_EN)


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------


def _as_terms(terms: str | Sequence[str]) -> tuple[str, ...]:
    raw = [terms] if isinstance(terms, str) else list(terms)
    out = tuple(dict.fromkeys(t for t in (_norm_term(str(x)) for x in raw) if t))
    if not out:
        raise ValidationError("comments.no_terms")
    return out


def _tokens(text: str, lang: str) -> set[str]:
    if lang == "zh":
        return {_norm_term(w) for w in _jieba_words(text)}
    return set(_EN_WORD.findall(text))


def search_comments(
    data: pd.DataFrame,
    /,
    *,
    terms: str | Sequence[str],
    column: str = "comment",
    match: Match = "substring",
    mode: Literal["any", "all"] = "any",
    lang: str | None = None,
    lang_column: str | None = None,
    keep: Sequence[str] = (),
) -> SearchResult:
    """The comments that contain ``terms`` (any of them, or ``mode="all"``: every one).

    Matching ignores case and Unicode width (NFKC). ``match="substring"`` finds a
    term anywhere; ``match="token"`` only as a whole word (jieba words for Chinese).
    ``keep`` names columns to carry into the table (e.g. ``respondent_key``, ``csat``).
    """
    frame = _check_frame(data, [column, lang_column, *keep])
    if match not in ("substring", "token"):
        raise ValidationError("comments.bad_match", value=repr(match))
    if mode not in ("any", "all"):
        raise ValidationError("comments.bad_mode", value=repr(mode))
    wanted = _as_terms(terms)
    texts = _texts(frame, column)
    norm = _normalise(texts)
    present = texts.notna().to_numpy(dtype=bool)
    hits = np.zeros((len(frame), len(wanted)), dtype=np.bool_)
    if match == "substring":
        for k, term in enumerate(wanted):  # a loop over terms; each test is vectorised
            hits[:, k] = norm.str.contains(term, regex=False).fillna(False).to_numpy(dtype=bool)
    else:
        langs = _langs(frame, texts, lang=lang, lang_column=lang_column)
        for i in np.flatnonzero(present):  # segmenting text is per comment
            words = _tokens(str(norm.iloc[i]), str(langs.iloc[i]))
            hits[i] = [term in words for term in wanted]
    chosen = hits.all(axis=1) if mode == "all" else hits.any(axis=1)
    rows = np.flatnonzero(chosen & present).astype(np.int64)
    langs_all = _langs(frame, texts, lang=lang, lang_column=lang_column)
    table = _keep(frame, keep, rows)
    table["lang"] = langs_all.iloc[rows].to_numpy()
    table["comment"] = texts.iloc[rows].to_numpy()
    terms_arr = np.array(wanted, dtype=object)
    table["matched"] = [";".join(terms_arr[hits[r]]) for r in rows]
    return SearchResult(
        table=table, terms=wanted, match=match, mode=mode, n_comments=int(present.sum())
    )


# --------------------------------------------------------------------------------------------
# Keywords
# --------------------------------------------------------------------------------------------


def _zh_keywords(
    texts: Sequence[str], *, top: int, method: str, stopwords: frozenset[str]
) -> list[tuple[str, float]]:
    if method == "textrank":
        pairs = _jieba_analyse().textrank("\n".join(texts), topK=None, withWeight=True)
        out = [(str(w), float(s)) for w, s in pairs if _norm_term(str(w)) not in stopwords]
        return out[:top]
    return _tfidf(texts, stopwords=stopwords)[:top]


def _en_keywords(
    text: str, *, top: int, ngram: int, stopwords: frozenset[str]
) -> list[tuple[str, float]]:
    import yake

    extractor = yake.KeywordExtractor(
        lan="en", n=ngram, dedup_lim=0.9, top=top, stopwords=set(stopwords)
    )
    return [(str(k), float(s)) for k, s in extractor.extract_keywords(text)]


def _count_containing(norm: pd.Series[Any], words: Sequence[str]) -> npt.NDArray[np.int64]:
    out = np.zeros(len(words), dtype=np.int64)
    for k, word in enumerate(words):  # a loop over keywords; each count is vectorised
        out[k] = int(norm.str.contains(_norm_term(word), regex=False).fillna(False).sum())
    return out


def keywords(
    data: pd.DataFrame,
    /,
    *,
    column: str = "comment",
    lang: str | None = None,
    lang_column: str | None = None,
    top: int = 20,
    method: Literal["tfidf", "textrank"] = "tfidf",
    ngram: int = 2,
    stopwords: bool = True,
    extra_stopwords: Sequence[str] = (),
) -> KeywordsResult:
    """The ``top`` keywords of the comments of each language.

    Chinese: jieba's TF-IDF (``method="tfidf"``, jieba's IDF table) or TextRank over
    all Chinese comments joined, words of one character left out (jieba's rule).
    English: YAKE with phrases of up to ``ngram`` words. ``stopwords=False`` keeps
    jieba's and YAKE's own behaviour (for checking against their published
    examples); ``extra_stopwords`` adds words of your own (both languages).
    """
    frame = _check_frame(data, [column, lang_column])
    if not isinstance(top, int) or top < 1:
        raise ValidationError("comments.bad_top", value=str(top))
    if method not in ("tfidf", "textrank"):
        raise ValidationError("comments.bad_method", value=repr(method))
    if not isinstance(ngram, int) or not 1 <= ngram <= 5:
        raise ValidationError("comments.bad_ngram", value=str(ngram))
    texts = _texts(frame, column)
    langs = _langs(frame, texts, lang=lang, lang_column=lang_column)
    norm = _normalise(texts)
    extra = frozenset(_norm_term(w) for w in extra_stopwords)
    parts: list[pd.DataFrame] = []
    methods: dict[str, str] = {}
    counts: dict[str, int] = {}
    warnings: list[Message] = []
    for code in ("zh", "en"):  # a loop over the two languages
        mask = (langs == code).fillna(False).to_numpy(dtype=bool)
        n = int(mask.sum())
        counts[code] = n
        if n == 0:
            continue
        chosen = texts[mask].astype(str).tolist()
        if code == "zh":
            stop = (STOPWORDS_ZH | extra) if stopwords else extra
            found = _zh_keywords(chosen, top=top, method=method, stopwords=stop)
            methods[code] = method
        else:
            stop = (_yake_stopwords() | extra) if stopwords else _default_yake_stopwords() | extra
            # YAKE reads one document; sorted, the comments give it the same document
            # whatever their order in the data.
            ordered = sorted(chosen, key=_norm_term)
            found = _en_keywords("\n".join(ordered), top=top, ngram=ngram, stopwords=stop)
            methods[code] = "yake"
        if not found:
            warnings.append(Message("comments.no_keywords", {"lang": code, "n": n}))
            continue
        words = [w for w, _ in found]
        n_containing = _count_containing(norm[mask], words)
        parts.append(
            pd.DataFrame(
                {
                    "lang": code,
                    "rank": np.arange(1, len(found) + 1, dtype=np.int64),
                    "keyword": words,
                    "score": np.array([s for _, s in found], dtype=np.float64),
                    "n_comments": n_containing,
                    "share_of_comments": n_containing / n,
                }
            )
        )
    if not any(counts.values()):
        raise InputError("comments.no_comments", column=column)
    columns = ["lang", "rank", "keyword", "score", "n_comments", "share_of_comments"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return KeywordsResult(
        table=table, methods=methods, n_comments=counts, top=top, warnings=tuple(warnings)
    )


@cache
def _default_yake_stopwords() -> frozenset[str]:
    import yake

    return frozenset(yake.KeywordExtractor(lan="en").stopword_set)


# --------------------------------------------------------------------------------------------
# Sentiment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    pattern: re.Pattern[str]
    kinds: dict[str, tuple[str, float]]


@cache
def _compiled(lang: str) -> _Compiled:
    kinds: dict[str, tuple[str, float]] = {}
    for word, value in LEXICON[lang].items():
        kinds[word] = ("word", value)
    for word in NEGATORS[lang]:
        kinds.setdefault(word, ("negator", NEGATION_SCALAR))
    for word, factor in INTENSIFIERS[lang].items():
        kinds.setdefault(word, ("intensifier", factor))
    for word in CONTRASTS[lang]:
        kinds.setdefault(word, ("contrast", 0.0))
    entries = sorted(kinds, key=lambda w: (-len(w), w))
    alternation = "|".join(re.escape(w) for w in entries)
    marks = re.escape(_CLAUSE + _SENTENCE)
    if lang == "en":
        body = rf"(?<![a-z0-9'])(?:{alternation})(?![a-z0-9'])"
    else:
        body = rf"(?:{alternation})"
    pattern = re.compile(rf"(?P<w>{body})|(?P<p>[{marks}])")
    return _Compiled(pattern=pattern, kinds=kinds)


def _gap(text: str, start: int, end: int, lang: str) -> int:
    """Characters (zh) or words (en) between two positions."""
    between = text[start:end]
    if lang == "en":
        return len(_EN_WORD.findall(between))
    return len(between.strip())


def lexicon_score(text: str, /, *, lang: TextLang) -> tuple[float, int]:
    """The lexicon score of one text in -1..1 and the number of sentiment words found.

    See the module docstring and docs/methods/reasons-and-comments.md for the rules.
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    comp = _compiled(lang)
    total = 0.0
    hits = 0
    sentence: list[float] = []
    contrast_at: int | None = None
    negator_end: int | None = None
    intensifier: tuple[int, float] | None = None

    def close_sentence() -> None:
        nonlocal total, sentence, contrast_at
        if contrast_at is not None:
            before = sum(sentence[:contrast_at]) * CONTRAST_BEFORE
            after = sum(sentence[contrast_at:]) * CONTRAST_AFTER
            total += before + after
        else:
            total += sum(sentence)
        sentence = []
        contrast_at = None

    for m in comp.pattern.finditer(norm):
        if m.group("p") is not None:
            negator_end = None
            intensifier = None
            if m.group("p") in _SENTENCE:
                close_sentence()
            continue
        word = m.group("w")
        kind, value = comp.kinds[word]
        if kind == "negator":
            negator_end = m.end()
        elif kind == "intensifier":
            intensifier = (m.end(), value)
        elif kind == "contrast":
            contrast_at = len(sentence)
            negator_end = None
            intensifier = None
        elif value != 0.0:
            v = value
            if (
                intensifier is not None
                and _gap(norm, intensifier[0], m.start(), lang) <= (INTENSIFIER_WINDOW[lang])
            ):
                v *= intensifier[1]
            if (
                negator_end is not None
                and _gap(norm, negator_end, m.start(), lang) <= (NEGATION_WINDOW[lang])
            ):
                v *= NEGATION_SCALAR
            sentence.append(v)
            hits += 1
            negator_end = None
            intensifier = None
    close_sentence()
    score = total / math.sqrt(total * total + ALPHA) if total else 0.0
    return score, hits


@cache
def _vader() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def score(text: str) -> float:
        return float(analyzer.polarity_scores(text)["compound"])

    return score


def _by_columns(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str):
        return (by,)
    cols = tuple(by)
    if not all(isinstance(c, str) for c in cols):
        raise ValidationError("scales.bad_by", value=repr(by))
    return cols


def _summary(frame: pd.DataFrame, by: tuple[str, ...], confidence: float) -> pd.DataFrame:
    from allegiance.methods.intervals import z_value

    z_value(confidence)  # checks the level
    label = frame["label"]
    work = frame.assign(
        _neg=(label == "negative").astype(np.float64),
        _neu=(label == "neutral").astype(np.float64),
        _pos=(label == "positive").astype(np.float64),
    )
    if by:
        grouped = work.groupby(list(by), dropna=False, sort=True, observed=True)
        agg = grouped.agg(
            n=("score", "size"),
            mean=("score", "mean"),
            sd=("score", "std"),
            share_negative=("_neg", "mean"),
            share_neutral=("_neu", "mean"),
            share_positive=("_pos", "mean"),
        ).reset_index()
    else:
        agg = pd.DataFrame(
            {
                "n": [len(work)],
                "mean": [work["score"].mean()],
                "sd": [work["score"].std()],
                "share_negative": [work["_neg"].mean()],
                "share_neutral": [work["_neu"].mean()],
                "share_positive": [work["_pos"].mean()],
            }
        )
    n = agg["n"].to_numpy(dtype=np.float64)
    from scipy.special import stdtrit  # imported on use: keeps the command line quick

    with np.errstate(divide="ignore", invalid="ignore"):
        tq = np.where(n > 1, stdtrit(np.maximum(n - 1, 1), 0.5 + confidence / 2.0), np.nan)
        half = tq * agg["sd"].to_numpy(dtype=np.float64) / np.sqrt(n)
    mean = agg["mean"].to_numpy(dtype=np.float64)
    at = list(agg.columns).index("sd") + 1
    agg.insert(at, "ci_low", np.clip(mean - half, -1.0, 1.0))
    agg.insert(at + 1, "ci_high", np.clip(mean + half, -1.0, 1.0))
    agg["n"] = agg["n"].astype(np.int64)
    return agg


def sentiment(
    data: pd.DataFrame,
    /,
    *,
    column: str = "comment",
    lang: str | None = None,
    lang_column: str | None = None,
    engine: Literal["lexicon", "vader"] = "lexicon",
    by: str | Sequence[str] | None = None,
    neutral: float = 0.05,
    confidence: float = 0.95,
    keep: Sequence[str] = (),
) -> SentimentResult:
    """A sentiment score in -1..1 for each comment, and its mean per group of ``by``.

    ``engine="lexicon"`` (default) scores both languages with :data:`LEXICON`;
    ``engine="vader"`` scores English comments with vaderSentiment's compound score
    (Chinese ones still with the lexicon). Labels: negative below ``-neutral``,
    positive above ``neutral``, neutral between.
    """
    by_cols = _by_columns(by)
    frame = _check_frame(data, [column, lang_column, *by_cols, *keep])
    if engine not in ("lexicon", "vader"):
        raise ValidationError("comments.bad_engine", value=repr(engine))
    if not isinstance(neutral, (int, float)) or not 0.0 <= float(neutral) < 1.0:
        raise ValidationError("comments.bad_neutral", value=str(neutral))
    texts = _texts(frame, column)
    langs = _langs(frame, texts, lang=lang, lang_column=lang_column)
    rows = np.flatnonzero(texts.notna().to_numpy(dtype=bool)).astype(np.int64)
    if rows.size == 0:
        raise InputError("comments.no_comments", column=column)
    values = texts.iloc[rows].astype(str).tolist()
    row_langs = langs.iloc[rows].astype(str).tolist()
    scores = np.empty(rows.size)
    hits = np.zeros(rows.size, dtype=np.int64)
    used: list[str] = []
    vader = _vader() if engine == "vader" and "en" in row_langs else None
    for i, (text, code) in enumerate(zip(values, row_langs, strict=True)):  # text is per row
        if vader is not None and code == "en":
            scores[i] = vader(text)
            hits[i] = -1
            used.append("vader")
        else:
            scores[i], hits[i] = lexicon_score(text, lang="zh" if code == "zh" else "en")
            used.append("lexicon")
    label = np.where(
        scores > neutral, "positive", np.where(scores < -neutral, "negative", "neutral")
    )
    table = _keep(frame, [*by_cols, *[k for k in keep if k not in by_cols]], rows)
    table["lang"] = row_langs
    table["comment"] = values
    table["score"] = scores
    table["label"] = label
    table["n_hits"] = pd.array(hits, dtype="Int64")
    table.loc[hits < 0, "n_hits"] = pd.NA
    table["engine"] = used
    engines = {code: ("vader" if engine == "vader" and code == "en" else "lexicon")
               for code in sorted(set(row_langs))}  # fmt: skip
    warnings: list[Message] = []
    no_hit = int((hits == 0).sum())
    if no_hit:
        warnings.append(Message("comments.no_sentiment_words", {"n": no_hit, "total": rows.size}))
    return SentimentResult(
        scores=table,
        summary=_summary(table, by_cols, float(confidence)),
        by=by_cols,
        engines=engines,
        neutral=float(neutral),
        confidence=float(confidence),
        warnings=tuple(warnings),
    )


def evaluate_sentiment(
    data: pd.DataFrame,
    /,
    *,
    score: str = "score",
    label: str = "label",
    satisfaction: str = "csat",
    low: Sequence[int] = (1, 2),
    high: Sequence[int] = (4, 5),
) -> SentimentEvaluation:
    """Agreement of sentiment scores with a satisfaction answer (see the result's fields).

    ``data`` holds one row per comment with its ``score``, ``label`` and the
    respondent's ``satisfaction`` (e.g. :attr:`SentimentResult.scores` with the
    ``csat`` column kept). Rows with a missing satisfaction are left out.
    """
    frame = _check_frame(data, [score, label, satisfaction])
    sat = pd.to_numeric(frame[satisfaction], errors="coerce")
    ok = sat.notna() & frame[score].notna()
    s = frame.loc[ok, score].to_numpy(dtype=np.float64)
    y = sat[ok].to_numpy(dtype=np.float64)
    lab = frame.loc[ok, label].astype(str).to_numpy()
    n = int(ok.sum())
    if n < 3:
        raise InputError("comments.too_few_to_evaluate", n=n)
    rs = pd.Series(s).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    spearman = float(np.corrcoef(rs, ry)[0, 1]) if rs.std() > 0 and ry.std() > 0 else math.nan
    is_low = np.isin(y, np.asarray(low, dtype=np.float64))
    is_high = np.isin(y, np.asarray(high, dtype=np.float64))
    n_low, n_high = int(is_low.sum()), int(is_high.sum())
    if n_low and n_high:
        both = np.concatenate([s[is_low], s[is_high]])
        ranks = pd.Series(both).rank().to_numpy()
        u = ranks[n_low:].sum() - n_high * (n_high + 1) / 2.0
        auc = float(u / (n_low * n_high))
        correct = np.count_nonzero(lab[is_low] == "negative") + np.count_nonzero(
            lab[is_high] == "positive"
        )
        accuracy = float(correct / (n_low + n_high))
    else:
        auc = accuracy = math.nan
    levels = pd.DataFrame({"level": y, "score": s, "label": lab})
    by_level = (
        levels.assign(
            share_negative=(levels["label"] == "negative").astype(np.float64),
            share_positive=(levels["label"] == "positive").astype(np.float64),
        )
        .groupby("level", sort=True)
        .agg(
            n=("score", "size"),
            mean=("score", "mean"),
            share_negative=("share_negative", "mean"),
            share_positive=("share_positive", "mean"),
        )
        .reset_index()
    )
    by_level["level"] = by_level["level"].astype(np.int64)
    return SentimentEvaluation(
        n=n, spearman=spearman, auc=auc, accuracy=accuracy, by_level=by_level
    )


# --------------------------------------------------------------------------------------------
# Verbatims
# --------------------------------------------------------------------------------------------


def verbatims(
    data: pd.DataFrame,
    /,
    *,
    keywords: Mapping[str, Sequence[str]],
    column: str = "comment",
    reasons_column: str | None = None,
    sep: str = ";",
    per_reason: int = 3,
    distinct: bool = True,
    keep: Sequence[str] = (),
    factors: Mapping[str, str] | None = None,
    factor_keywords: Mapping[str, Sequence[str]] | None = None,
    only: Sequence[str] | None = None,
) -> VerbatimsResult:
    """Up to ``per_reason`` comments under each reason of ``keywords`` (reason → words).

    A comment belongs to a reason when it contains one of the reason's words
    (case-insensitive substring, both languages). With ``reasons_column`` (the coded
    reasons, ``sep``-joined), comments of respondents who coded the reason come
    first, then those mentioning more of its words, then shorter ones, then data order.
    With ``distinct`` a text already shown under the reason (same words, ignoring case
    and width) is not shown again.

    With ``factors`` (reason → factor or driver, as :func:`allegiance.methods.reasons.reasons`
    takes it) the comments are listed under each factor instead: a factor's words are
    those of its reasons plus ``factor_keywords[factor]``, and a respondent counts as
    coded for the factor when they named any of its reasons. ``only`` keeps (and orders)
    the groups listed, e.g. the weakest links of :func:`allegiance.methods.drivers.ipa`.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"comment": ["账单看不懂", "Network drops", "great"], "r": ["billing", "", ""]})
    >>> v = verbatims(d, keywords={"billing": ["账单"], "network": ["network"]},
    ...               reasons_column="r", factors={"billing": "error_rate", "network": "reliability"})
    >>> v.table[["factor", "coded", "comment"]].values.tolist()
    [['error_rate', True, '账单看不懂'], ['reliability', False, 'Network drops']]
    """
    frame = _check_frame(data, [column, reasons_column, *keep])
    if not isinstance(keywords, Mapping) or not keywords:
        raise ValidationError("comments.bad_keywords", value=repr(keywords)[:200])
    if not isinstance(per_reason, int) or per_reason < 1:
        raise ValidationError("comments.bad_top", value=str(per_reason))
    texts = _texts(frame, column)
    norm = _normalise(texts)
    present = texts.notna().to_numpy(dtype=bool)
    lengths = texts.str.len().fillna(0).to_numpy(dtype=np.int64)
    coded_named = None
    if reasons_column is not None:
        from allegiance.methods.reasons import parse_codes

        coded_named = parse_codes(frame[reasons_column], sep=sep)
    group = "reason" if factors is None else "factor"
    plan: dict[str, tuple[list[str], set[str]]] = {}
    if factors is None:
        for reason, words in keywords.items():
            plan[str(reason)] = ([str(w) for w in _word_list(words)], {str(reason)})
    else:
        if not isinstance(factors, Mapping):
            raise ValidationError("comments.bad_keywords", value=repr(factors)[:200])
        for reason, factor in factors.items():
            words, codes = plan.setdefault(str(factor), ([], set()))
            words.extend(str(w) for w in _word_list(keywords.get(reason, ())))
            codes.add(str(reason))
        for factor, words in (factor_keywords or {}).items():
            plan.setdefault(str(factor), ([], set()))[0].extend(str(w) for w in _word_list(words))
    if only is not None:
        plan = {str(g): plan.get(str(g), ([], set())) for g in only}
    parts: list[pd.DataFrame] = []
    count_rows: list[dict[str, Any]] = []
    for reason, (words, codes) in plan.items():  # a loop over groups; matching is vectorised
        terms = _as_terms(list(dict.fromkeys(words))) if words else ()
        hits = np.zeros((len(frame), len(terms)), dtype=np.bool_)
        for k, term in enumerate(terms):
            hits[:, k] = norm.str.contains(term, regex=False).fillna(False).to_numpy(dtype=bool)
        n_hit = hits.sum(axis=1)
        matching = (n_hit > 0) & present
        coded = np.zeros(len(frame), dtype=np.bool_)
        if coded_named is not None:
            coded[coded_named.loc[coded_named["code"].isin(codes), "row"].to_numpy()] = True
        rows = np.flatnonzero(matching)
        order = rows[np.lexsort((rows, lengths[rows], -n_hit[rows], ~coded[rows]))]
        if distinct:
            order = order[~norm.iloc[order].duplicated().to_numpy(dtype=bool)]
        picked = order[:per_reason].astype(np.int64)
        count_rows.append(
            {
                group: str(reason),
                "n_matching": int(matching.sum()),
                "n_coded": int((matching & coded).sum()),
            }
        )
        if picked.size == 0:
            continue
        part = _keep(frame, keep, picked)
        part.insert(0, "rank", np.arange(1, picked.size + 1, dtype=np.int64))
        part.insert(0, group, str(reason))
        terms_arr = np.array(terms, dtype=object)
        part["coded"] = coded[picked]
        part["matched"] = [";".join(terms_arr[hits[r]]) for r in picked]
        part["comment"] = texts.iloc[picked].to_numpy()
        parts.append(part)
    columns = [group, "rank", "row", *keep, "coded", "matched", "comment"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    counts = pd.DataFrame(count_rows, columns=[group, "n_matching", "n_coded"])
    return VerbatimsResult(
        table=table,
        counts=counts,
        per_reason=per_reason,
        group=group,
        factor_map={str(k): str(v) for k, v in (factors or {}).items()},
    )


def _word_list(words: Any) -> list[Any]:
    """A reason's words: a list, or one word."""
    if words is None:
        return []
    if isinstance(words, str):
        return [words]
    return list(words)
