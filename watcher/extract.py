"""Pure: page bytes + URL -> ``Article``.  trafilatura and lxml stay inside this module.

``extract_article`` never raises on bad input: an oversized, undecodable or empty page comes back
as an ``Article`` whose ``status`` says what happened ("too_large", "failed") with a one-line
``error``.  ``ExtractPool`` (in ``extract_pool``) runs it in worker processes with a timeout; the
dependency goes one way, the pool to this module (issue 17).
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import trafilatura
from htmldate import find_date
from trafilatura.utils import detect_encoding, load_html

try:  # trafilatura's metadata steps one by one, for the quick pass; not part of its public API
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title

    _QUICK_META = True
except ImportError:  # pragma: no cover - a trafilatura that moved them: the full pass still works
    _QUICK_META = False

try:  # the steps of bare_extraction after its parse, to run them on our tree without its copy
    from lxml.etree import strip_tags
    from trafilatura.core import trafilatura_sequence
    from trafilatura.settings import Extractor
    from trafilatura.xml import xmltotxt

    _OWN_TREE = True
except ImportError:  # pragma: no cover - a trafilatura that moved them: bare_extraction still works
    _OWN_TREE = False

from .config import ExtractConfig
from .fallback import failed_article, fallback_article
from .language import guess_language
from .models import Article

# The trafilatura releases whose bare_extraction ends with the steps _main_text runs (its internal
# trafilatura_sequence is "not a stable API"): tests/test_extract_text.py holds both equal on real
# pages.  Any other release, or one that moved them, takes bare_extraction itself (and its copy).
OWN_TREE_RELEASES = ("2.3.1",)
_OWN_TREE = _OWN_TREE and trafilatura.__version__ in OWN_TREE_RELEASES
_OWN_JSON = False  # extract_meta's faster JSON-LD pass: for the same releases (internal helpers)
if _QUICK_META and trafilatura.__version__ in OWN_TREE_RELEASES:
    with contextlib.suppress(ImportError):
        from .extract_meta import meta_json

        _OWN_JSON = True

__all__ = [
    "decode_html",
    "extract_article",
    "failed_article",
    "fallback_article",
    "guess_language",
    "trafilatura_options",
]

_OPTIONS: dict[str, Any] = {
    "with_metadata": False,  # metadata comes from _metadata(), before the text
    "include_comments": False,
    "include_tables": True,
}
# cfg.favor -> trafilatura's flags.  Measured on ../shared/fixtures: F1 on the 181 Zyte pages
# (shingles) / on trafilatura's 344-page subset (snippets), and pages/s on one core:
#   precision 0.967 / 0.926, 45;  balanced 0.960 / 0.925, 42;  recall 0.959;
#   speed (no fallback extractors) 0.963 / 0.923, 59.
# Precision is the default: a sidebar of teasers costs more than a missed paragraph when matching.
_FAVOR: dict[str, dict[str, bool]] = {
    "precision": {"favor_precision": True},
    "balanced": {},
    "recall": {"favor_recall": True},
    "speed": {"fast": True},
}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # htmldate keeps the time of day when the page gives one

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w:.\-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w:.\-]+)""", re.IGNORECASE)
_META_SCAN = 16 * 1024  # WHATWG prescans 1024 bytes; real pages put <meta charset> later
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_LANG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$")


def trafilatura_options(favor: str) -> dict[str, Any]:
    """The keyword arguments extract_article gives trafilatura (benchmark floors use the same)."""
    return {**_OPTIONS, **_FAVOR.get(favor, {})}


def extract_article(
    html: bytes, url: str, *, cfg: ExtractConfig, content_type: str | None = None, dated: bool = False
) -> Article:
    """Extract the main text and metadata of one article page; failures come back as a status.

    ``dated``: the feed entry has its own date, which wins (feed-first metadata, as Miniflux
    does): the page's date is not searched and ``published`` stays None (issue 16).
    """
    try:
        return _extract(html, url, cfg, content_type, dated)
    except Exception as e:  # a library bug on a hostile page must not take the pipeline down
        return failed_article(url, "failed", f"{type(e).__name__}: {e}")


def _extract(
    html: bytes, url: str, cfg: ExtractConfig, content_type: str | None, dated: bool
) -> Article:
    if len(html) > cfg.max_html_bytes:
        return failed_article(url, "too_large", f"page is {len(html)} bytes, over {cfg.max_html_bytes}")
    if not html or html.isspace():  # no stripped copy of the page (issue 16)
        return failed_article(url, "failed", "empty page")
    # A cheap upper bound on elements before parsing: no tree is ever built for a tag flood.
    # The closing tags are only counted when the "<" alone do not settle both checks below, and
    # the "<" only when the page's length does not (there are no more "<" than bytes; issue 16).
    estimate = html.count(b"<") if 2 * len(html) + 4 > cfg.max_tree_nodes else len(html)
    if 2 * estimate + 4 > cfg.max_tree_nodes:
        estimate -= html.count(b"</")
    if estimate > 2 * cfg.max_tree_nodes:
        return failed_article(url, "too_large", f"about {estimate} tags, over {cfg.max_tree_nodes}")
    text, _encoding = decode_html(html, content_type)
    tree = load_html(text)  # trafilatura's own repairs and parser settings; parsed once
    if tree is None:
        return failed_article(url, "failed", "not an HTML document")
    # Each element is a start tag or one the parser implied (html, head, body, a <p> per text run):
    # at most 2 x estimate + 4, so the exact count is only needed when that bound is over the limit.
    if 2 * estimate + 4 > cfg.max_tree_nodes:
        nodes = int(tree.xpath("count(//*)"))
        if nodes > cfg.max_tree_nodes:
            return failed_article(url, "too_large", f"{nodes} elements, over {cfg.max_tree_nodes}")
    # One child step per level from the root: the cost is the nodes above the limit, not n x depth.
    if tree.xpath("boolean(" + "/*" * (cfg.max_tree_depth + 1) + ")"):
        return failed_article(url, "too_large", f"nested deeper than {cfg.max_tree_depth}")
    page_lang = _page_language(tree)
    meta = _metadata(tree, url, cfg.metadata, dated)  # before the text, which prunes the tree
    main = _main_text(tree, url, trafilatura_options(cfg.favor))  # prunes the tree: used last
    if main is None:
        return failed_article(url, "failed", "no article text found")
    body = main.strip()
    article = Article(
        url=url,
        title=_clean(meta.title),
        text=body,
        source="trafilatura",
        extractor_version=trafilatura.__version__,
        sitename=_clean(meta.sitename),
        author=_clean(meta.author),
        language=guess_language(body, page_lang),
        published=_published(meta.date),
        status="ok",
    )
    if len(body) < cfg.min_text_chars:
        return replace(article, status="failed", error="too little text")
    return article


def _main_text(tree: Any, url: str, options: dict[str, Any]) -> str | None:
    """trafilatura's text of a page, pruning ``tree`` in place (it is not used afterwards).

    ``bare_extraction`` copies a tree it is handed, so that the caller's stays whole: ~7 % of a
    worker's time, which the like-for-like floor (trafilatura parsing the page itself) never pays
    (issue 16).  These are its steps after that copy, for the options watcher uses (no metadata,
    target language, deduplication or XPath pruning); ``tests/test_extract_text.py`` checks that
    both give the same text.
    """
    if not _OWN_TREE:  # another trafilatura release: see OWN_TREE_RELEASES
        doc = trafilatura.bare_extraction(tree, url=url, **options)
        return None if doc is None or isinstance(doc, dict) else doc.text or ""
    opts = Extractor(
        output_format="python",
        fast=options.get("fast", False),
        precision=options.get("favor_precision", False),
        recall=options.get("favor_recall", False),
        comments=options.get("include_comments", True),
        tables=options.get("include_tables", True),
        url=url,
    )
    try:
        body, text, _comments, comments = trafilatura_sequence(tree, opts, url)
        if opts.max_tree_size and len(body) > opts.max_tree_size:
            strip_tags(body, "hi")
            if len(body) > opts.max_tree_size:
                return None
        if len(text) < opts.min_output_size and len(comments) < opts.min_output_comm_size:
            return None
    except (TypeError, ValueError):
        return None
    return str(xmltotxt(body, opts.formatting))


def _metadata(tree: Any, url: str, depth: str, dated: bool = False) -> Any:
    """Title, author, site name and date of a page (a trafilatura ``Document``).

    "quick" reads what the page declares (meta tags, OpenGraph, JSON-LD, <title>) and runs
    htmldate's quick search: ~2 ms a page.  "full" is trafilatura's own pass, which also hunts
    bylines in the text, scans the text for dates (dateparser), and lists categories, tags and
    the licence we do not use: ~8 ms a page, more than half of a fast extraction.
    ``dated`` (the feed gave the entry a date) skips the quick pass's date search.
    """
    if depth == "full" or not _QUICK_META:
        return trafilatura.extract_metadata(tree, url, _date_params(extensive=True))
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # a lone word is a site handle, as trafilatura judges
        meta.author = None
    with contextlib.suppress(Exception):  # broken JSON-LD is common; the meta tags stand
        meta = meta_json(tree, meta) if _OWN_JSON else extract_meta_json(tree, meta)
    meta.title = meta.title or extract_title(tree)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    meta.date = None if dated else find_date(tree, url=url, **_date_params(extensive=False))
    return meta


def decode_html(html: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, codec): BOM, valid UTF-8, header charset, <meta charset>, detection."""
    for bom, name in _BOMS:
        if html.startswith(bom):
            return html[len(bom) :].decode(name, errors="replace"), name
    # Valid UTF-8 beats any declaration: pages re-saved as UTF-8 keep their old <meta charset>,
    # and legacy text (windows-1251 Cyrillic) is almost never valid UTF-8 by accident.
    try:
        return html.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    found = (
        _HEADER_CHARSET.search(content_type or ""),
        _META_CHARSET.search(html, 0, _META_SCAN),
    )
    declared = [c for m in found if m and (c := _codec(m.group(1)))]
    for name in declared:
        try:
            return html.decode(name), name
        except UnicodeDecodeError:
            continue
    sample = html if len(html) <= 64 * 1024 else html[: 32 * 1024] + html[-32 * 1024 :]
    for guess in detect_encoding(sample):
        name = _codec(guess) or ""
        if name:
            return html.decode(name, errors="replace"), name
    name = declared[0] if declared else "utf-8"
    return html.decode(name, errors="replace"), name


def _codec(label: str | bytes) -> str | None:
    """A charset label -> a Python codec, with WHATWG's aliases (latin-1 means windows-1252)."""
    name = label.decode("ascii", errors="replace") if isinstance(label, bytes) else label
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    if codec in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    if codec.startswith(("utf-16", "utf-32")):
        return None  # a UTF-16 label on a page without a BOM is a mislabelled ASCII-compatible one
    return codec


def _page_language(tree: Any) -> str | None:
    """<html lang>, xml:lang, <meta http-equiv="content-language">, then og:locale."""
    declared = tree.get("{http://www.w3.org/XML/1998/namespace}lang") or tree.get("xml:lang")
    equiv: list[str] = []
    locale: list[str] = []
    # One pass over the page's <meta> by lxml's tag iterator: a third cheaper than an XPath
    # that tests every element (issue 16); the same metas, in the same order.
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if content is None:
            continue
        if meta.get("property") == "og:locale":
            locale.append(content)
        elif (meta.get("http-equiv") or "").lower() == "content-language":
            equiv.append(content)
    for value in (tree.get("lang"), declared, *equiv, *locale):
        match = _LANG.match(str(value or "").strip().lower())
        if match:
            return match.group(1)
    return None


def _published(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _date_params(*, extensive: bool) -> dict[str, Any]:
    return {
        "original_date": True,
        "extensive_search": extensive,
        "max_date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "outputformat": _DATE_FORMAT,
    }


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())
