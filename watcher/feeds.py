"""Pure: feed bytes + headers -> our ``ParsedFeed`` and ``Entry`` types (feedparser stays inside).

Also canonical URLs (courlan: tracking parameters and fragments dropped) and feed discovery in HTML
pages (``<link rel="alternate" type="application/rss+xml">``).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
import feedparser
from lxml import etree

from .feeds_fast import parse_fast
from .models import Entry, FetchStatus, ParsedFeed

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml"}
)
_BLOCKS = (
    "p|div|br|li|ul|ol|tr|td|th|hr|dd|dt|table|pre|h[1-6]|blockquote|section|article|header|"
    "footer|figure|figcaption"
)
# A tag's rest, with ">" allowed inside quotes.  No bare "<": otherwise every "<a" of a crafted
# "<a<a<a…" scans to the end of the text and html_to_text turns quadratic (issue 8).
_ATTRS = r"""(?:[^<>"']|"[^"]*"|'[^']*')*"""
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HIDDEN = re.compile(
    rf"<(script|style|noscript|template)\b{_ATTRS}>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCKS})\b{_ATTRS}>", re.IGNORECASE)
_TAG = re.compile(rf"</?[A-Za-z]{_ATTRS}>|<![^<>]*>|<\?[^<>]*>")
# Atomic comments: with a lazy ".*?" alone, n comments split 2**n ways before a miss (issue 8).
_HTML_START = re.compile(
    rb"^\s*(?:(?><!--.*?-->)\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
# Every space but the newline, so that _NL never meets a long run (em spaces, \x1c…): quadratic.
_WS = re.compile(r"[^\S\n]+")
_NL = re.compile(r"\s*\n\s*")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces tidied."""
    text = fragment
    if "<" in text:
        # Regular expressions, not a parser: ~5x faster on the summaries feeds carry.
        text = _HIDDEN.sub("", _COMMENT.sub("", text))
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    text = _WS.sub(" ", text.replace("\xa0", " "))
    return _NL.sub("\n", text).strip()


@functools.lru_cache(maxsize=16384)  # pure; most URLs of a changed feed were seen last poll
def canonical_url(url: str) -> str:
    """The URL that identifies an article: no tracking parameters, no fragment, lowercase host."""
    url = url.strip()
    if not url:
        return ""
    try:
        normalized: str = courlan.normalize_url(url, strict=False, trailing_slash=True)
    except (ValueError, AttributeError, TypeError):
        normalized = url
    try:
        parts = urlsplit(normalized)
    except ValueError:  # "http://[oops": not a URL anyone can fetch; keep it as an identity
        return url
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _join(base: str, href: str) -> str:
    """urljoin, or "" for a URL that urllib cannot split (``http://[oops``: ValueError)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return ""


def discover_feeds(html_bytes: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds an HTML page advertises, in page order, without repeats."""
    # lxml, not html.parser: the standard library's parser is quadratic on crafted pages
    # ("<a <a <a…", unclosed comments) and raises AssertionError on "<![<![" (issue 8).
    text = html_bytes.decode("utf-8", errors="replace").encode("utf-8")
    try:
        root = etree.fromstring(text, etree.HTMLParser(encoding="utf-8", no_network=True))
    except (etree.LxmlError, ValueError):
        return []
    base: str | None = None
    hrefs: list[str] = []
    for el in root.iter("base", "link", "a") if root is not None else ():
        a = {str(k).lower(): str(v) for k, v in el.attrib.items()}
        if el.tag == "base":
            if a.get("href") and base is None:
                base = a["href"]
            continue
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and a.get("href", "").strip():
            hrefs.append(a["href"].strip())
    base = _join(base_url, base) if base else base_url
    found = [_join(base, html.unescape(h)) for h in hrefs]
    return [u for u in dict.fromkeys(found) if u and urlsplit(u).scheme in ("http", "https")]


def _published(e: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # "in" first: feedparser maps a missing updated_parsed to published_parsed with a
        # DeprecationWarning (its issue 310), an error under -W error.
        t = e.get(key) if key in e else None
        if t:
            try:
                return datetime.fromtimestamp(calendar.timegm(t), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _content(e: Mapping[str, Any]) -> str:
    blocks = e.get("content") or []
    texts = [html_to_text(str(b.get("value", ""))) for b in blocks]
    return "\n\n".join(t for t in texts if t)


def _entry(e: Mapping[str, Any], feed_url: str, base: str) -> Entry:
    link = str(e.get("link") or "").strip()
    guid = str(e.get("id") or "").strip() or None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid  # an RSS <guid isPermaLink="true"> is the article's address
    link = _join(base, link) if link else ""
    if not link[:8].lower().startswith(("http://", "https://")):
        link = ""  # feedparser offers an Atom id such as urn:uuid:... as the link
    title = html_to_text(str(e.get("title") or ""))
    summary = html_to_text(str(e.get("summary") or ""))
    content = _content(e)
    if not link and not guid:
        # Identity of last resort: a hash of what the entry says (see Entry.key).
        digest = hashlib.sha256(f"{title}\n{summary}\n{content}".encode()).hexdigest()
        guid = f"urn:sha256:{digest}"
    content = content if content != summary else ""
    return Entry(
        feed_url=feed_url,
        link=link,
        url=canonical_url(link) if link else "",
        guid=guid,
        title=title,
        summary=summary,
        content=content,
        published=_published(e),
        author=html_to_text(str(e.get("author") or "")),
        # language stays None: fallback_article guesses it from the same title and text, for the
        # few entries whose page does not extract; every other entry's guess was thrown away
        # (issue 16: ~0.1 ms of CPU an entry, on cores the extraction workers need).
    )


def _looks_html(body: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml") or bool(_HTML_START.match(body[:4096]))


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Parse a feed document; bozo feeds keep their entries, HTML pages become NOT_A_FEED.

    Plain RSS 2.0 / Atom 1.0 goes through lxml (``feeds_fast``), the rest through feedparser;
    ``fast=False`` forces feedparser (tests compare the two).
    """
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if content_type:
        response_headers["content-type"] = content_type
    if not body.strip():
        return ParsedFeed(FetchStatus.PARSE_ERROR, error="empty document")
    d = parse_fast(body, url, response_headers.get("content-type")) if fast else None
    exc: object = None
    if d is None:
        # No content-location: feedparser would "resolve" GUIDs too; links are joined in _entry.
        d = feedparser.parse(
            body,
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        exc = d.get("bozo_exception") if d.get("bozo") else None
    feed_info: Mapping[str, Any] = d.get("feed") or {}
    entries = tuple(_entry(e, url, url) for e in d.get("entries") or [])
    bozo = " ".join(str(exc).split()) if exc is not None else ""
    # A wrong charset label or Content-Type is worth a warning; a broken document is an error.
    benign = isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType)
    title = html_to_text(str(feed_info.get("title") or ""))
    link = str(feed_info.get("link") or "")
    if entries:
        return ParsedFeed(FetchStatus.OK, title, link, entries, warning=bozo or None)
    if _looks_html(body, response_headers.get("content-type")) and not d.get("version"):
        alternates = tuple(discover_feeds(body, url))
        shown = f"; the page names {', '.join(alternates)}" if alternates else ""
        return ParsedFeed(
            FetchStatus.NOT_A_FEED,
            title=title,
            error=f"an HTML page, not a feed{shown}",
            alternates=alternates,
        )
    if d.get("version") and (not bozo or benign):
        return ParsedFeed(FetchStatus.OK, title, link, (), warning=bozo or None)
    if bozo:
        return ParsedFeed(FetchStatus.PARSE_ERROR, error=f"not a parseable feed: {bozo}")
    return ParsedFeed(FetchStatus.NOT_A_FEED, error="no RSS, Atom or RDF feed in the document")
