"""extract_article on hand-written pages: body without boilerplate, metadata, charsets, limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import trafilatura
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.extract_helpers import (
    EN_PARAGRAPHS,
    EN_TITLE,
    FOOTER,
    RU_FOOTER,
    RU_NAV,
    RU_PARAGRAPHS,
    RU_TITLE,
    SIDEBAR,
    english_page,
    russian_page,
)
from tests.server import Server
from watcher.config import ExtractConfig
from watcher.extract import decode_html, extract_article, fallback_article, guess_language
from watcher.models import Entry

CFG = ExtractConfig()
EN_URL = "https://courier.example/news/night-ferry-returns"
RU_URL = "https://zarechny.example/news/centr"
STATUSES = {"ok", "failed", "too_large"}


def test_english_article_keeps_the_body_and_drops_navigation_sidebar_and_footer() -> None:
    article = extract_article(english_page().encode(), EN_URL, cfg=CFG)
    assert article.status == "ok" and article.error is None
    for paragraph in EN_PARAGRAPHS:
        assert paragraph in article.text
    for boilerplate in [FOOTER, *SIDEBAR, "Subscribe", "Weather"]:
        assert boilerplate not in article.text
    assert article.text.index(EN_PARAGRAPHS[0]) < article.text.index(EN_PARAGRAPHS[-1])


def test_english_article_metadata() -> None:
    article = extract_article(english_page().encode(), EN_URL, cfg=CFG)
    assert article.url == EN_URL
    assert article.title == EN_TITLE
    assert article.author == "Elena Marsh"
    assert article.sitename == "The Harbour Courier"
    assert article.language == "en"
    assert article.published == datetime(2024, 3, 18, 20, 40, tzinfo=UTC)  # 21:40 at +01:00
    assert article.published is not None and article.published.tzinfo is not None
    assert article.source == "trafilatura"
    assert article.extractor_version == trafilatura.__version__


def test_russian_article_body_and_metadata() -> None:
    article = extract_article(russian_page().encode(), RU_URL, cfg=CFG)
    assert article.status == "ok"
    for paragraph in RU_PARAGRAPHS:
        assert paragraph in article.text
    for boilerplate in [RU_FOOTER, *RU_NAV]:
        assert boilerplate not in article.text
    assert article.title == RU_TITLE
    assert article.author == "Пётр Васильев"
    assert article.sitename == "Заречные вести"
    assert article.language == "ru"
    assert article.published == datetime(2024, 5, 6, tzinfo=UTC)


def _declared_only_page(*, byline: bool) -> bytes:
    """The English story with its metadata in JSON-LD only (no meta tags), optionally a byline."""
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": EN_TITLE,
        "datePublished": "2024-03-18T21:40:00+01:00",
        "publisher": {"@type": "Organization", "name": "The Harbour Courier"},
    }
    if not byline:
        ld["author"] = {"@type": "Person", "name": "Elena Marsh"}
    body = "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
    credit = '<p class="byline">By <span class="author">Elena Marsh</span></p>' if byline else ""
    return (
        f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
        f"<article><h1>{EN_TITLE}</h1>{credit}{body}</article></body></html>"
    ).encode()


@pytest.mark.parametrize("depth", ["quick", "full"])
def test_metadata_declared_in_json_ld_is_read_by_both_passes(depth: str) -> None:
    cfg = replace(CFG, metadata=depth)
    article = extract_article(_declared_only_page(byline=False), EN_URL, cfg=cfg)
    assert article.status == "ok"
    assert (article.title, article.author) == (EN_TITLE, "Elena Marsh")
    assert article.sitename == "The Harbour Courier"
    assert article.published == datetime(2024, 3, 18, 20, 40, tzinfo=UTC)


def test_only_the_full_metadata_pass_hunts_bylines_in_the_text() -> None:
    page = _declared_only_page(byline=True)
    quick = extract_article(page, EN_URL, cfg=replace(CFG, metadata="quick"))
    full = extract_article(page, EN_URL, cfg=replace(CFG, metadata="full"))
    assert quick.text == full.text and EN_PARAGRAPHS[0] in quick.text
    assert quick.author == ""
    assert full.author == "Elena Marsh"


@pytest.mark.parametrize(
    ("meta", "content_type"),
    [
        (None, "text/html; charset=windows-1251"),  # declared by the header only
        ("windows-1251", None),  # by <meta http-equiv> only
        ("windows-1251", "text/html"),  # header without a charset
        ("cp1251", 'text/html; charset="WINDOWS-1251"'),  # quoted, upper case, an alias in meta
    ],
)
def test_windows_1251_page_is_decoded(meta: str | None, content_type: str | None) -> None:
    raw = russian_page(meta).encode("cp1251")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    article = extract_article(raw, RU_URL, cfg=CFG, content_type=content_type)
    assert article.status == "ok"
    assert article.title == RU_TITLE
    assert RU_PARAGRAPHS[1] in article.text


def test_undeclared_windows_1251_is_detected() -> None:
    text, codec = decode_html(russian_page(None).encode("cp1251"))
    assert codec == "cp1251"
    assert RU_PARAGRAPHS[2] in text


def test_valid_utf8_wins_over_a_stale_declaration() -> None:
    raw = russian_page("windows-1251").encode("utf-8")  # re-saved as UTF-8, meta left behind
    article = extract_article(raw, RU_URL, cfg=CFG, content_type="text/html; charset=koi8-r")
    assert article.title == RU_TITLE
    assert decode_html(raw, "text/html; charset=koi8-r")[1] == "utf-8"


def test_latin1_label_means_windows_1252_and_bom_wins() -> None:
    raw = "<html><body><p>It’s “quoted” – café</p></body></html>".encode("cp1252")
    assert decode_html(raw, "text/html; charset=ISO-8859-1") == (raw.decode("cp1252"), "cp1252")
    bom = "\ufeff<html><body><p>Привет</p></body></html>".encode("utf-16-le")
    text, codec = decode_html(bom, "text/html; charset=utf-8")
    assert codec == "utf-16-le" and "Привет" in text


def test_charset_from_a_real_http_response(http_server: Server) -> None:
    raw = russian_page(None).encode("cp1251")
    http_server.route("/ru", raw, headers={"Content-Type": "text/html; charset=windows-1251"})
    response = httpx.get(http_server.url("/ru"))
    article = extract_article(
        response.content, str(response.url), cfg=CFG, content_type=response.headers["content-type"]
    )
    assert article.status == "ok" and article.title == RU_TITLE


def test_too_little_text_is_failed_with_metadata_kept() -> None:
    page = english_page().replace("".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS), "<p>Short.</p>")
    article = extract_article(page.encode(), EN_URL, cfg=CFG)
    assert article.status == "failed"
    assert article.error == "too little text"
    assert article.title == EN_TITLE
    loose = extract_article(page.encode(), EN_URL, cfg=ExtractConfig(min_text_chars=0))
    assert loose.status == "ok"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \n\t ",
        b"\x00\x01\x02\xff\xfe\xfd" * 100,
        b"<html>",
        b"<html><body><p>unclosed <b>bold <i>and",
        b'{"json": "not html", "items": [1, 2, 3]}',
        b"<html><body>" + b"<p " + b"a" * 100_000 + b"=1>x</p></body></html>",
        b"<?xml version='1.0' encoding='iso-8859-1'?><html><body><p>caf\xe9</p></body></html>",
        english_page().encode()[: len(english_page()) // 2],
    ],
)
def test_bad_input_never_raises(raw: bytes) -> None:
    article = extract_article(raw, "https://bad.example/x", cfg=CFG)
    assert article.status in STATUSES
    if article.status != "ok":
        assert article.error and "\n" not in article.error


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000) | st.text(max_size=2000).map(lambda s: f"<html>{s}".encode()))
def test_arbitrary_bytes_come_back_as_an_article(raw: bytes) -> None:
    article = extract_article(raw, "https://fuzz.example/", cfg=CFG)
    assert article.status in STATUSES
    assert article.url == "https://fuzz.example/"


def test_page_over_the_byte_cap_is_refused_before_decoding() -> None:
    cfg = ExtractConfig(max_html_bytes=10_000)
    article = extract_article(english_page().encode() + b" " * 10_000, EN_URL, cfg=cfg)
    assert article.status == "too_large"
    assert article.error is not None and "bytes" in article.error


def test_deeply_nested_page_is_refused() -> None:
    nested = "<div>" * 5000 + "<p>" + "deep words " * 50 + "</p>" + "</div>" * 5000
    article = extract_article(f"<html><body>{nested}</body></html>".encode(), EN_URL, cfg=CFG)
    assert article.status == "too_large"
    assert article.error is not None and "nested" in article.error
    shallow = ExtractConfig(max_tree_depth=20)
    assert extract_article(english_page().encode(), EN_URL, cfg=shallow).status == "ok"
    wrapped = english_page().replace("<main>", "<div>" * 30 + "<main>")
    wrapped = wrapped.replace("</main>", "</main>" + "</div>" * 30)
    assert extract_article(wrapped.encode(), EN_URL, cfg=shallow).status == "too_large"


def test_page_with_too_many_elements_is_refused_after_counting() -> None:
    cfg = ExtractConfig(max_tree_nodes=2_000)
    page = english_page().replace("</article>", "<span></span>" * 3_000 + "</article>")
    article = extract_article(page.encode(), EN_URL, cfg=cfg)
    assert article.status == "too_large"
    assert article.error is not None and "elements" in article.error


_MEMORY_PROBE = """
import json, resource, sys, time
from watcher.config import ExtractConfig
from watcher.extract import extract_article
cfg = ExtractConfig()
extract_article(b"<html><body><p>warm up</p></body></html>", "https://x.example/", cfg=cfg)
page = b"<html><body>" + b"<i></i>" * int(sys.argv[1]) + b"</body></html>"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
article = extract_article(page, "https://x.example/", cfg=cfg)
elapsed = time.perf_counter() - start
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"status": article.status, "error": article.error, "kib": grown, "s": elapsed}))
"""


def _probe(elements: int) -> dict[str, object]:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(elements)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(sys.platform == "win32", reason="ru_maxrss is POSIX")
def test_tag_flood_is_refused_fast_without_building_a_tree() -> None:
    flood = _probe(500_000)  # 3.5 MB: under the byte cap, 2.5x the element cap
    assert flood["status"] == "too_large" and "tags" in str(flood["error"])
    # No tree was built: the peak memory barely moved (a 500,000-element tree takes ~60 MB).
    assert isinstance(flood["kib"], int) and flood["kib"] < 24 * 1024
    counted = _probe(300_000)  # under the tag pre-check: parsed, counted, refused
    assert counted["status"] == "too_large" and "elements" in str(counted["error"])


def test_fallback_article_uses_the_feed_content_else_its_summary() -> None:
    published = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
    entry = Entry(
        feed_url="https://zarechny.example/rss",
        link="https://zarechny.example/news/centr?utm_source=rss",
        url=RU_URL,
        guid="centr-1",
        title=RU_TITLE,
        summary=RU_PARAGRAPHS[0],
        content="\n".join(RU_PARAGRAPHS),
        published=published,
        author="Пётр Васильев",
    )
    article = fallback_article(entry, "timeout: extraction took longer than 20s")
    assert (article.source, article.status) == ("feed", "fallback")
    assert article.url == RU_URL and article.title == RU_TITLE
    assert article.text == "\n".join(RU_PARAGRAPHS)
    assert article.published == published and article.author == "Пётр Васильев"
    assert article.language == "ru"
    assert article.error == "timeout: extraction took longer than 20s"
    summary_only = Entry(entry.feed_url, entry.link, entry.url, None, "Ferry", summary="Short.")
    assert fallback_article(summary_only, "too little text").text == "Short."


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        (RU_PARAGRAPHS[0], None, "ru"),
        (RU_PARAGRAPHS[0], "en", "ru"),  # a template's lang="en" on a Russian page
        (RU_PARAGRAPHS[0], "tg", "tg"),  # a declared Cyrillic language is kept
        ("Уряд оголосив, що нові правила набудуть чинності з травня, і їх підтримали.", None, "uk"),
        (EN_PARAGRAPHS[0], None, "en"),
        (EN_PARAGRAPHS[0], "de", "de"),
        ("Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.", None, None),
        ("", "fr", "fr"),
    ],
)
def test_guess_language(text: str, declared: str | None, expected: str | None) -> None:
    assert guess_language(text, declared) == expected


def test_extraction_of_a_typical_page_is_fast() -> None:
    raw = english_page().encode()
    extract_article(raw, EN_URL, cfg=CFG)
    start = time.perf_counter()
    for _ in range(5):
        extract_article(raw, EN_URL, cfg=CFG)
    assert (time.perf_counter() - start) / 5 < 0.5


@pytest.mark.parametrize("raw", [b"", b" ", b" \t\r\n\x0b\x0c" * 100])
def test_empty_or_blank_page_is_failed_as_empty(raw: bytes) -> None:
    article = extract_article(raw, EN_URL, cfg=CFG)
    assert (article.status, article.error) == ("failed", "empty page")

