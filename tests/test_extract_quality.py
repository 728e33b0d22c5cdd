"""Extraction quality on the real pages of ../shared/fixtures (Zyte article-extraction benchmark).

Shingle scoring as upstream describes it: 4-token shingles of \\w+ tokens, per-page counts divided
by their sum, pooled over pages; F1 from the pooled precision and recall.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.extract_helpers import page_scores, precision_recall_f1
from watcher.config import ExtractConfig
from watcher.extract import extract_many
from watcher.models import Article

BENCH = Path("fixtures/html/article-extraction-benchmark")


@pytest.fixture(scope="module")
def zyte() -> tuple[dict[str, dict[str, str]], dict[str, Article], dict[str, str]]:
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    folder = shared / BENCH
    if not (folder / "ground-truth.json").is_file():
        pytest.skip(f"{folder} is absent (evaluation pages live beside the repository, not in it)")
    truth: dict[str, dict[str, str]] = json.loads((folder / "ground-truth.json").read_text("utf-8"))
    keys = sorted(truth)
    pages = [
        (gzip.decompress((folder / "html" / f"{k}.html.gz").read_bytes()), truth[k]["url"], None)
        for k in keys
    ]
    articles = dict(zip(keys, extract_many(ExtractConfig(), pages), strict=True))
    reference = json.loads((folder / "reference-output" / "trafilatura.json").read_text("utf-8"))
    recorded = {k: v["articleBody"] for k, v in reference["output"].items()}
    return truth, articles, recorded


def test_f1_on_the_zyte_benchmark_is_at_least_0_90(
    zyte: tuple[dict[str, dict[str, str]], dict[str, Article], dict[str, str]],
) -> None:
    truth, articles, recorded = zyte
    ours = precision_recall_f1(
        [page_scores(articles[k].text, truth[k]["articleBody"]) for k in truth]
    )
    upstream = precision_recall_f1(
        [page_scores(recorded.get(k, ""), truth[k]["articleBody"]) for k in truth]
    )
    print(
        f"\nextract_article on {len(truth)} Zyte pages: P {ours[0]:.3f} R {ours[1]:.3f} "
        f"F1 {ours[2]:.3f} (upstream's recorded trafilatura 2.0.0: F1 {upstream[2]:.3f})"
    )
    assert ours[2] >= 0.90
    assert ours[2] >= upstream[2] - 0.01  # our decoding, tree handling and options cost nothing


def test_every_real_page_passes_the_limits_and_gets_metadata(
    zyte: tuple[dict[str, dict[str, str]], dict[str, Article], dict[str, str]],
) -> None:
    _, articles, _ = zyte
    statuses = Counter(a.status for a in articles.values())
    assert statuses["too_large"] == 0 and statuses["timeout"] == 0
    assert statuses["ok"] >= 0.97 * len(articles)
    ok = [a for a in articles.values() if a.status == "ok"]
    assert sum(bool(a.title) for a in ok) >= 0.97 * len(ok)
    assert sum(a.published is not None for a in ok) >= 0.8 * len(ok)
    assert all(a.published is None or a.published.utcoffset() is not None for a in ok)
    assert sum(a.language == "en" for a in ok) >= 0.8 * len(ok)


def test_the_russian_pages_are_recognised_and_extracted(
    zyte: tuple[dict[str, dict[str, str]], dict[str, Article], dict[str, str]],
) -> None:
    truth, articles, _ = zyte
    cyrillic = [
        k for k, v in truth.items() if sum("а" <= c <= "я" for c in v["articleBody"].lower()) > 200
    ]
    assert len(cyrillic) >= 4
    assert all(articles[k].language == "ru" for k in cyrillic)
    _, _, f1 = precision_recall_f1(
        [page_scores(articles[k].text, truth[k]["articleBody"]) for k in cyrillic]
    )
    print(f"\nRussian pages ({len(cyrillic)}): F1 {f1:.3f}")
    assert f1 >= 0.85
