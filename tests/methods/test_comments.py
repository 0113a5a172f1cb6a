"""Free-text comments: jieba's published keyword example, search in both languages, the
sentiment lexicon's rules worked by hand, and sentiment quality on the demo comments."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allegiance.errors import ColumnNotFoundError, InputError, ValidationError
from allegiance.methods import comments as c

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "comments"

# The sentence of jieba's test/demo.py (fxsjy/jieba), keyword extraction section.
JIEBA_DEMO = (
    "此外，公司拟对全资子公司吉林欧亚置业有限公司增资4.3亿元，增资后，吉林欧亚置业注册资本由7000万元"
    "增加到5亿元。吉林欧亚置业主要经营范围为房地产开发及百货零售等业务。目前在建吉林欧亚城市商业综合体"
    "项目。2013年，实现营业收入0万元，实现净利润-139.13万元。"
)


# --------------------------------------------------------------------------- keywords


def test_jieba_golden_keywords() -> None:
    golden = pd.read_csv(GOLDEN / "jieba_extract_tags_demo.csv", dtype={"keyword": str})
    result = c.keywords(pd.DataFrame({"comment": [JIEBA_DEMO]}), lang="zh", top=20, stopwords=False)
    got = result.table.set_index("keyword")["score"]
    assert set(got.index) == set(golden["keyword"])
    for word, weight in zip(golden["keyword"], golden["weight"], strict=True):
        assert got[word] == pytest.approx(weight, rel=1e-11), word
    # Ranks follow the weights (ties share a weight, in an order of their own).
    assert got.is_monotonic_decreasing
    assert result.methods == {"zh": "tfidf"}


def test_tfidf_equals_jieba_extract_tags_on_demo_comments(demo: pd.DataFrame) -> None:
    texts = demo.loc[(demo["lang"] == "zh") & demo["comment"].notna(), "comment"].tolist()
    mine = dict(c._tfidf(texts, stopwords=frozenset()))
    reference = c._jieba_analyse().extract_tags("\n".join(texts), topK=None, withWeight=True)
    assert len(mine) == len(reference)
    for word, weight in reference:
        assert mine[word] == pytest.approx(weight, rel=1e-12)


def test_keywords_leave_out_stop_words_and_count_comments() -> None:
    frame = pd.DataFrame(
        {
            "comment": [
                "网络信号很差，网络经常断线。",
                "网络信号不好，我们的资费也贵。",
                "The network signal is poor and the network drops.",
                "Network coverage is poor in the basement.",
                None,
            ]
        }
    )
    result = c.keywords(frame, top=10)
    zh = result.for_lang("zh")
    en = result.for_lang("en")
    assert "网络" in zh["keyword"].tolist()
    assert not set(zh["keyword"]) & c.STOPWORDS_ZH
    assert not {k.lower() for k in en["keyword"]} & {"the", "is", "and", "in"}
    row = zh.set_index("keyword").loc["网络"]
    assert row["n_comments"] == 2
    assert row["share_of_comments"] == pytest.approx(1.0)
    assert result.n_comments == {"zh": 2, "en": 2}
    assert result.methods == {"zh": "tfidf", "en": "yake"}
    lowered = [k.lower() for k in en["keyword"]]
    assert any("network" in k for k in lowered)


def test_keywords_do_not_depend_on_row_order(demo: pd.DataFrame) -> None:
    subset = demo.dropna(subset=["comment"]).head(400)
    one = c.keywords(subset, lang_column="lang", top=10).table
    two = c.keywords(subset.sample(frac=1.0, random_state=3), lang_column="lang", top=10).table
    pd.testing.assert_frame_equal(one, two)


def test_textrank_runs() -> None:
    frame = pd.DataFrame({"comment": [JIEBA_DEMO]})
    result = c.keywords(frame, lang="zh", method="textrank", top=5)
    assert result.methods == {"zh": "textrank"}
    assert result.table["score"].iloc[0] == pytest.approx(1.0)


def test_keyword_arguments_are_checked() -> None:
    frame = pd.DataFrame({"comment": ["好"]})
    with pytest.raises(ValidationError):
        c.keywords(frame, top=0)
    with pytest.raises(ValidationError):
        c.keywords(frame, method="lda")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        c.keywords(pd.DataFrame({"comment": [None, "  "]}))
    with pytest.raises(ColumnNotFoundError):
        c.keywords(frame, column="text")


def test_jieba_is_quiet_and_offline(tmp_path: Path) -> None:
    """A fresh process with the network cut off: no log lines on stderr, keywords found."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import pandas as pd\n"
        "from allegiance.methods.comments import keywords\n"
        "r = keywords(pd.DataFrame({'comment': ['网络经常断线', 'The app keeps crashing']}))\n"
        "print(len(r.table))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert int(done.stdout.strip()) > 0
    # jieba caches its prefix dictionary in our own folder, not the shared temporary one.
    cached = {p.name for p in (tmp_path / "cache" / "allegiance").iterdir()}
    assert "jieba.cache" in cached


# --------------------------------------------------------------------------- search


def test_search_ignores_case_and_width_in_both_languages() -> None:
    frame = pd.DataFrame(
        {
            "comment": ["ＡＰＰ经常闪退", "The App crashed", "网速很慢", None, "apple"],
            "id": ["r1", "r2", "r3", "r4", "r5"],
        }
    )
    found = c.search_comments(frame, terms="app", keep=["id"])
    assert found.table["id"].tolist() == ["r1", "r2", "r5"]
    assert found.n_comments == 4
    assert found.table["lang"].tolist() == ["zh", "en", "en"]
    both = c.search_comments(frame, terms=["app", "闪退"], mode="all")
    assert both.table["row"].tolist() == [0]
    assert both.table["matched"].tolist() == ["app;闪退"]
    words = c.search_comments(frame, terms="app", match="token")
    assert words.table["row"].tolist() == [0, 1]  # "apple" is not the word "app"


def test_token_search_follows_jieba_segmentation_of_its_readme_examples() -> None:
    # jieba README, 精确模式: 我/ 来到/ 北京/ 清华大学; 新词识别: 他, 来到, 了, 网易, 杭研, 大厦.
    frame = pd.DataFrame({"comment": ["我来到北京清华大学", "他来到了网易杭研大厦"]})
    assert c.search_comments(frame, terms="清华大学", match="token").table["row"].tolist() == [0]
    assert c.search_comments(frame, terms="清华", match="token").table.empty
    assert c.search_comments(frame, terms="清华").table["row"].tolist() == [0]
    assert c.search_comments(frame, terms="杭研", match="token").table["row"].tolist() == [1]
    assert c.search_comments(frame, terms="来到", match="token").table["row"].tolist() == [0, 1]


def test_search_arguments_are_checked() -> None:
    frame = pd.DataFrame({"comment": ["x"]})
    with pytest.raises(ValidationError):
        c.search_comments(frame, terms=["  "])
    with pytest.raises(ValidationError):
        c.search_comments(frame, terms="x", match="regex")  # type: ignore[arg-type]


def test_detect_lang() -> None:
    langs = c.detect_lang(pd.Series(["网络", "network", None, "App 闪退"]))
    assert langs.tolist()[:2] == ["zh", "en"]
    assert pd.isna(langs.iloc[2])
    assert langs.iloc[3] == "zh"


# --------------------------------------------------------------------------- sentiment


def _hand(total: float) -> float:
    """VADER's normalisation, written out: s / sqrt(s² + 15)."""
    return total / math.sqrt(total * total + 15.0)


@pytest.mark.parametrize(
    ("text", "lang", "total"),
    [
        ("满意", "zh", 2.0),
        ("很满意", "zh", 2.0 * 1.3),  # intensifier 很 × 1.3
        ("不满意", "zh", -2.0),  # its own entry
        ("不太满意", "zh", 2.0 * -0.74),  # negator 不太 flips
        ("无线网络很稳定", "zh", 1.5 * 1.3),  # 无线 (wireless) negates nothing
        ("网速太慢了，经常断线。", "zh", -1.5 * 1.5 + -2.0 * 1.3),
        ("还行，但谈不上好。", "zh", 0.6 * 0.5 + 1.5 * -0.74 * 1.5),  # contrast and negation
        ("good", "en", 1.5),
        ("not good", "en", 1.5 * -0.74),
        ("The staff were helpful, but the app keeps crashing", "en", 2.0 * 0.5 + -2.0 * 1.2 * 1.5),
        ("Nothing to report", "en", 0.0),
    ],
)
def test_lexicon_rules_by_hand(text: str, lang: str, total: float) -> None:
    score, _ = c.lexicon_score(text, lang=lang)  # type: ignore[arg-type]
    assert score == pytest.approx(_hand(total))


def test_sentiment_labels_and_groups() -> None:
    frame = pd.DataFrame(
        {
            "comment": ["非常满意！", "服务很差", "Great service, thanks", "", "价格太贵"],
            "csat": [5, 1, 5, 3, 2],
        }
    )
    result = c.sentiment(frame, by="csat")
    assert result.scores["row"].tolist() == [0, 1, 2, 4]
    assert result.scores["label"].tolist() == ["positive", "negative", "positive", "negative"]
    summary = result.summary.set_index("csat")
    assert summary.loc[5, "n"] == 2
    assert summary.loc[5, "share_positive"] == pytest.approx(1.0)
    assert summary.loc[1, "mean"] < 0 < summary.loc[5, "mean"]
    assert result.engines == {"en": "lexicon", "zh": "lexicon"}


def test_evaluate_sentiment_by_hand() -> None:
    good = pd.DataFrame(
        {
            "score": [-0.5, -0.2, 0.0, 0.1, 0.6],
            "label": ["negative", "negative", "neutral", "positive", "positive"],
            "csat": [1, 2, 3, 4, 5],
        }
    )
    check = c.evaluate_sentiment(good)
    assert check.spearman == pytest.approx(1.0)
    assert check.auc == pytest.approx(1.0)
    assert check.accuracy == pytest.approx(1.0)
    bad = good.assign(score=-good["score"], label=good["label"].iloc[::-1].to_numpy())
    check = c.evaluate_sentiment(bad)
    assert check.spearman == pytest.approx(-1.0)
    assert check.auc == pytest.approx(0.0)
    assert check.accuracy == pytest.approx(0.0)


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    from allegiance.generate import DemoConfig, generate

    return generate(DemoConfig(customers=30_000, survey_size=6_000)).tables["survey_responses"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sentiment_tracks_satisfaction_on_demo_comments(demo: pd.DataFrame, lang: str) -> None:
    """Measured quality on the demo (docs/methods/reasons-and-comments.md states the numbers)."""
    result = c.sentiment(demo, lang_column="lang", by="csat", keep=["csat"])
    scores = result.scores[result.scores["lang"] == lang]
    by_level = scores.groupby("csat")["score"].mean()
    assert by_level[1] < by_level[3] < by_level[5]
    assert by_level[1] < 0 < by_level[5]
    check = c.evaluate_sentiment(scores)
    assert check.spearman > 0.75
    assert check.auc > 0.95
    assert check.accuracy > 0.9


def test_vader_on_english_demo_comments_is_weaker(demo: pd.DataFrame) -> None:
    """VADER misses the telecom complaints (drops, crashing, took weeks): measured, not assumed."""
    english = demo[(demo["lang"] == "en") & demo["comment"].notna()]
    vader = c.sentiment(english, lang="en", engine="vader", keep=["csat"])
    lexicon = c.sentiment(english, lang="en", keep=["csat"])
    v = c.evaluate_sentiment(vader.scores)
    lx = c.evaluate_sentiment(lexicon.scores)
    assert vader.engines == {"en": "vader"}
    assert v.spearman > 0.5  # it does see the praise
    assert v.accuracy < lx.accuracy


def test_sentiment_arguments_are_checked() -> None:
    frame = pd.DataFrame({"comment": ["好"]})
    with pytest.raises(ValidationError):
        c.sentiment(frame, engine="bert")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        c.sentiment(frame, neutral=1.0)
    with pytest.raises(ValidationError):
        c.sentiment(frame, lang="fr")
    with pytest.raises(InputError):
        c.sentiment(pd.DataFrame({"comment": [None]}))


# --------------------------------------------------------------------------- verbatims


def test_verbatims_put_coded_respondents_first_and_skip_repeats() -> None:
    frame = pd.DataFrame(
        {
            "comment": [
                "网络经常断线",  # 0: not coded
                "Network drops all the time",  # 1: coded network
                "网络经常断线",  # 2: coded, same text as 0
                "资费太贵",  # 3: coded price
                "网络经常断线，信号也差",  # 4: coded, two words matched
            ],
            "why": [None, "network", "network", "price", "network;price"],
            "csat": [2, 1, 2, 2, 1],
        }
    )
    result = c.verbatims(
        frame,
        keywords={"network": ["网络", "信号", "network"], "price": ["资费", "price"]},
        reasons_column="why",
        per_reason=3,
        keep=["csat"],
    )
    net = result.for_reason("network")
    # Coded first; among them more matched words first (4), then shorter (2 before 1);
    # the uncoded 0 repeats 2's text, so it is not shown again.
    assert net["row"].tolist() == [4, 2, 1]
    assert net["coded"].tolist() == [True, True, True]
    assert net["matched"].iloc[0] == "网络;信号"
    counts = result.counts.set_index("reason")
    assert counts.loc["network", "n_matching"] == 4
    assert counts.loc["network", "n_coded"] == 3
    assert result.for_reason("price")["row"].tolist() == [3]
    assert np.all(result.table["rank"].to_numpy() >= 1)
