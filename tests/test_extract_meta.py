"""Issue 16: the quick metadata pass's faster steps (``extract_meta``'s JSON-LD pass, the page
language read by tag) give what trafilatura's and the XPath gave, on real pages and hostile JSON."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

import pytest
import trafilatura
from trafilatura.metadata import examine_meta, extract_meta_json
from trafilatura.utils import load_html

from tests.shared_data import require_shared
from watcher import extract
from watcher.config import ExtractConfig

SUBDIRS = ("article-extraction-benchmark/html", "newspaper4k/html", "trafilatura/pages")
_LANG_XPATH = (  # the page-language read before issue 16's change: the reference
    "//meta[@content][translate(@http-equiv,'CONTELAGU','contelagu')='content-language'"
    " or @property='og:locale']"
)
_LANG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")


def _pages() -> list[tuple[str, bytes]]:
    root = require_shared("fixtures", "html")
    out = []
    for sub in SUBDIRS:
        for path in sorted((root / sub).glob("*.gz")):
            url = f"https://example.org/{Path(sub).parts[0]}/{path.stem}"
            out.append((url, gzip.decompress(path.read_bytes())))
    assert out, f"no pages under {root}"
    return out


def _tree(html: bytes) -> Any:
    return load_html(extract.decode_html(html)[0])


def _fields(doc: Any) -> dict[str, Any]:
    skip = ("body", "commentsbody")  # elements: fresh objects each time, never read here
    return {n: getattr(doc, n, None) for n in doc.__slots__ if n not in skip}


def _language_by_xpath(tree: Any) -> str | None:
    declared = tree.get("{http://www.w3.org/XML/1998/namespace}lang") or tree.get("xml:lang")
    metas = tree.xpath(_LANG_XPATH)
    values = [
        tree.get("lang"),
        declared,
        *(m.get("content") for m in metas if m.get("property") != "og:locale"),
        *(m.get("content") for m in metas if m.get("property") == "og:locale"),
    ]
    for value in values:
        match = _LANG.match(str(value or "").strip().lower())
        if match:
            return match.group(1)
    return None


def _json_ld_page(*scripts: str) -> bytes:
    blocks = "".join(f'<script type="application/ld+json">{s}</script>' for s in scripts)
    return (
        f"<html><head><title>T</title>{blocks}</head><body><article><p>Text of the page.</p>"
        "</article></body></html>"
    ).encode()


HOSTILE = [
    # whitespace inside and outside strings, escaped quotes and backslashes
    '{ "@context": "https://schema.org", "@type": "NewsArticle",\n'
    '  "headline": "A  \\" quoted words \\"  title",'
    ' "author": { "@type": "Person", "name": "Anna   Muster" },\n "publisher": {"@type": "Organization",'
    ' "name": "Die \\\\ Seite"} }',
    # a graph, unicode escapes (a lone surrogate among them), HTML inside strings
    '{"@context":"http://schema.org","@graph":[{"@type":"WebSite","name":"Site\\u00e9 \\ud800x"},'
    '{"@type":"Article","headline":"<b>Bold</b> head","author":[{"@type":"Person","name":"Jo Doe"},'
    '{"@type":"Person","name":"Ann Lee"}]}]}',
    # broken JSON: the crude fallback reads the author and the type
    '{"@context":"https://schema.org","@type":"NewsArticle","author":{"@type":"Person",'
    '"name":"Broken Json"}, "headline": "no end',
    # an unterminated string with whitespace after it, and a trailing backslash
    '{"@context": "https://schema.org", "name": "open   \\',
]


def test_the_json_ld_pass_runs_on_the_release_it_was_checked_on() -> None:
    assert (trafilatura.__version__ in extract.OWN_TREE_RELEASES) == extract._OWN_JSON
    if os.environ.get("CI"):
        assert extract._OWN_JSON, f"trafilatura {trafilatura.__version__}: check this file's equality"


@pytest.mark.parametrize("script", HOSTILE)
def test_json_ld_pass_equals_trafilatura_on_hostile_json(script: str) -> None:
    if not extract._OWN_JSON:
        pytest.skip("trafilatura's own pass runs on this release")
    from watcher.extract_meta import meta_json

    tree = _tree(_json_ld_page(script, script.replace(" ", "\n\t ")))
    ours = meta_json(tree, examine_meta(tree))
    theirs = extract_meta_json(tree, examine_meta(tree))
    assert _fields(ours) == _fields(theirs)


def test_json_ld_pass_reads_author_and_site_name() -> None:
    """Not only equal to trafilatura: it does find what a user sees (author, the digest's source)."""
    page = _json_ld_page(HOSTILE[0])
    article = extract.extract_article(page * 1, "https://example.org/a", cfg=ExtractConfig(min_text_chars=1))
    assert article.author == "Anna Muster"
    assert article.sitename == "Die \\ Seite"


def test_json_ld_pass_and_page_language_equal_the_reference_on_real_pages() -> None:
    if not extract._OWN_JSON:
        pytest.skip("trafilatura's own pass runs on this release")
    from watcher.extract_meta import meta_json

    pages = _pages()
    with_json = 0
    for url, html in pages:
        tree = _tree(html)
        assert extract._page_language(tree) == _language_by_xpath(tree), url
        ours = _fields(meta_json(tree, examine_meta(tree)))
        try:
            theirs = _fields(extract_meta_json(tree, examine_meta(tree)))
        except Exception:  # extract._metadata keeps the meta tags' answer then: ours must raise too
            with pytest.raises(Exception):  # noqa: B017
                meta_json(tree, examine_meta(tree))
            continue
        assert ours == theirs, url
        with_json += bool(tree.xpath('//script[@type="application/ld+json"]'))
    assert with_json > len(pages) // 4  # the comparison did cover JSON-LD, not only empty passes


@pytest.mark.parametrize(
    "text",
    [
        *HOSTILE,
        "",
        "   ",
        '"only a string"',
        '{"a" :\t"b  c",\n "d": [1, 2 ,3]}',
        '"\\\\" "x\\"y"  z',
        'unterminated "abc  def',
        '"a"  "b"\t\n"c"',
    ],
)
def test_minify_equals_trafilaturas_expression(text: str) -> None:
    if not extract._OWN_JSON:
        pytest.skip("trafilatura's own pass runs on this release")
    from trafilatura.metadata import JSON_MINIFY

    from watcher.extract_meta import minify

    assert minify(text) == JSON_MINIFY.sub(r"\1", text)
    assert minify(text.replace(" ", "\n\t ")) == JSON_MINIFY.sub(r"\1", text.replace(" ", "\n\t "))
