"""The speed work of issue 16 changes nothing extracted: the copy-free text step, the feed-first date
rule, and the worker's reply over the pipe."""

from __future__ import annotations

import gzip
import os
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trafilatura
from trafilatura.utils import load_html

from tests.shared_data import require_shared
from watcher import extract
from watcher.config import ExtractConfig
from watcher.extract_pool import extract_many
from watcher.models import Article

SUBDIRS = ("article-extraction-benchmark/html", "newspaper4k/html", "trafilatura/pages")
DATED_PAGE = (
    b"<html lang='de'><head><title>Ein Titel</title>"
    b"<meta property='article:published_time' content='2025-01-15T08:30:00+00:00'>"
    b"<meta property='og:site_name' content='Die Seite'><meta name='author' content='Anna Muster'>"
    b"</head><body><article><h1>Ein Titel</h1>"
    + b"".join(
        b"<p>Der Rat der Stadt hat am Montag zum %d. Mal lange ueber den neuen Haushalt beraten.</p>" % i
        for i in range(8)
    )
    + b"</article></body></html>"
)


def _pages(per_folder: int) -> list[tuple[str, bytes]]:
    root = require_shared("fixtures", "html")
    out = []
    for sub in SUBDIRS:
        for path in sorted((root / sub).glob("*.gz"))[:per_folder]:
            url = f"https://example.org/{Path(sub).parts[0]}/{path.stem}"
            out.append((url, gzip.decompress(path.read_bytes())))
    assert out, f"no pages under {root}"
    return out


def _bare_text(text: str, url: str, options: dict[str, object]) -> str | None:
    doc = trafilatura.bare_extraction(load_html(text), url=url, **options)  # type: ignore[arg-type]
    return None if doc is None or isinstance(doc, dict) else doc.text or ""


def test_the_copy_free_step_runs_on_the_release_it_was_checked_on() -> None:
    """The equality tests below compare watcher's step with bare_extraction only where it runs."""
    assert (trafilatura.__version__ in extract.OWN_TREE_RELEASES) == extract._OWN_TREE
    if os.environ.get("CI"):  # CI installs what pyproject allows: a new release must be checked
        assert extract._OWN_TREE, (
            f"trafilatura {trafilatura.__version__}: check tests/test_extract_text.py's equality "
            "on it, then add it to extract.OWN_TREE_RELEASES (or leave bare_extraction to it)"
        )


def test_another_release_takes_bare_extraction_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    page, url = DATED_PAGE.decode(), "https://example.org/a"
    options = extract.trafilatura_options("speed")
    monkeypatch.setattr(extract, "_OWN_TREE", False)
    text = extract._main_text(load_html(page), url, options)
    assert text and "Haushalt" in text
    assert text == _bare_text(page, url, options)


@pytest.mark.parametrize(
    ("favor", "per_folder"), [("speed", 25), ("precision", 25), ("balanced", 10), ("recall", 10)]
)
def test_main_text_is_bare_extractions_text(favor: str, per_folder: int) -> None:
    options = extract.trafilatura_options(favor)
    found = 0
    for url, page in _pages(per_folder):
        text, _codec = extract.decode_html(page)
        expected = _bare_text(text, url, options)
        assert extract._main_text(load_html(text), url, options) == expected, url
        found += bool(expected)
    assert found > per_folder * 2  # real articles, not a run of empty pages


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "<html><body><p></p></body></html>",
        "<html><body><table><tr><td>a</td><td>b</td></tr></table></body></html>",
        "<html><body>" + "<div><p>word </p></div>" * 3000 + "</body></html>",
    ],
)
def test_main_text_of_odd_pages_is_bare_extractions_too(page: str) -> None:
    options = extract.trafilatura_options("speed")
    url = "https://example.org/"
    assert extract._main_text(load_html(page), url, options) == _bare_text(page, url, options)


def test_a_dated_entry_skips_only_the_page_date() -> None:
    cfg = ExtractConfig()
    searched = extract.extract_article(DATED_PAGE, "https://example.org/a", cfg=cfg)
    skipped = extract.extract_article(DATED_PAGE, "https://example.org/a", cfg=cfg, dated=True)
    assert searched.status == "ok" and searched.published == datetime(2025, 1, 15, 8, 30, tzinfo=UTC)
    assert skipped.published is None
    assert skipped.sitename == "Die Seite" and skipped.author == "Anna Muster"
    assert {f.name: getattr(skipped, f.name) for f in fields(Article) if f.name != "published"} == {
        f.name: getattr(searched, f.name) for f in fields(Article) if f.name != "published"
    }


def every_field(
    html: bytes, url: str, *, cfg: ExtractConfig, content_type: str | None = None, dated: bool = False
) -> Article:
    """An extractor whose Article sets every field, some from what the worker was handed."""
    return Article(
        url=url,
        title="Тема: «кавычки»",
        text=html.decode() * 3,
        source="trafilatura",
        extractor_version="9.9",
        sitename=f"site {content_type}",
        author=f"dated={dated}",
        language="ru",
        published=datetime(2024, 2, 29, 23, 59, 1, tzinfo=UTC),
        status="ok",
        error="none at all",
    )


def test_a_workers_reply_keeps_every_article_field() -> None:
    pages = [(b"body one", "https://example.org/1", "text/html"), (b"two", "https://example.org/2", None)]
    got = extract_many(ExtractConfig(), pages, workers=1, extractor=every_field)
    assert got == [every_field(h, u, cfg=ExtractConfig(), content_type=c) for h, u, c in pages]
