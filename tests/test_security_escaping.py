"""Output escaping (issue 8), property-based: any string from a feed lands inert in every format.

Markdown is rendered with a CommonMark parser that allows raw HTML and any link (so only our
escaping protects), HTML is parsed back and its elements and attributes checked, e-mail messages
are parsed back and their headers counted, terminal text is checked for control and bidi
characters.  Hand-picked hostile digests live in ``test_digest_hostile.py``; the commands that print
strangers' text are exercised here and in ``test_security_cli.py``.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from html.parser import HTMLParser

import jinja2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tests.security_helpers import hostile_text, hostile_url
from watcher import deliver, render
from watcher import digest as digest_mod
from watcher.models import StoredMatch
from watcher.textsafe import terminal_safe

T0 = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
TOPIC = "Russia–Afghan migration"
TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\r]")
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


class Html(HTMLParser):
    """Elements, attributes and text of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


@functools.cache
def jinja() -> jinja2.Environment:
    return render.make_env()  # compiled templates are cached per environment


def commonmark() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # raw HTML stays on
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # no renderer filtering
    return md


@SETTINGS
@given(hostile_text)
def test_markdown_escape_is_literal_text(text: str) -> None:
    check_markdown_escape(text)


def check_markdown_escape(text: str) -> None:
    """md_escape(text), rendered by CommonMark, is one paragraph showing exactly clean(text)."""
    escaped = render.md_escape(text)
    page = Html(commonmark().render(escaped))
    assert {t for t, _ in page.tags} <= {"p"}, page.tags  # no link, image, HTML, emphasis, list
    assert "".join(page.data).strip() == digest_mod.clean(text)  # shown exactly, nothing lost
    # No scheme a linkifying viewer (GFM) would turn into a link survives unescaped.
    assert not re.search(r"(?i)\b(?:https?|javascript|data|vbscript|file|ftp):|\bwww\.", escaped)


@SETTINGS
@given(hostile_url)
def test_markdown_link_targets_are_http_only(url: str) -> None:
    check_markdown_url(url)


def check_markdown_url(url: str) -> None:
    """md_url gives "" or an http(s) link destination a CommonMark link keeps whole."""
    target = render.md_url(url)
    assert target == "" or re.match(r"(?i)^https?://[^\s()<>]+$", target), target
    page = Html(commonmark().render(f"[title]({target})" if target else "title"))
    for tag, attrs in page.tags:
        if tag == "a":
            assert re.match(r"(?i)^https?://", dict(attrs).get("href") or "")


def stored(title: str, source: str, url: str, text: str, i: int) -> StoredMatch:
    return StoredMatch(
        match_id=i,
        entry_id=i,
        topic=TOPIC,
        score=0.9 - i / 100,
        reasons="migration: migrants; place: Russia",
        details={"groups": {"migration": ["migrants"], "place": ["Russia"]}, "nearest_seed": title},
        url=url,
        title=title,
        source=source,
        feed_url="https://feeds.example/rss",
        language="en",
        published=T0 - timedelta(hours=i),
        first_seen=T0 - timedelta(hours=i),
        text=text,
    )


stories = st.lists(st.tuples(hostile_text, hostile_text, hostile_url, hostile_text), min_size=1, max_size=3)
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "p"} | {
    "strong", "span", "a", "em", "br", "ul", "li",
}  # fmt: skip


def build(items: list[tuple[str, str, str, str]]) -> digest_mod.Digest:
    matches = [
        stored(t, s, u, f"Afghan migrants in Russia. {x}. Officials said more.", i + 1)
        for i, (t, s, u, x) in enumerate(items)
    ]
    return digest_mod.build(
        matches, digest_id="20250314T060000Z-test", created_at=T0, topics=[TOPIC], max_items=2
    )


@SETTINGS
@given(stories)
def test_every_format_keeps_strangers_text_inert(items: list[tuple[str, str, str, str]]) -> None:
    check_formats(items)


def check_formats(items: list[tuple[str, str, str, str]]) -> None:
    """Every rendered format of a digest of these (title, source, url, text) stories is inert."""
    d = build(items)
    env = jinja()
    out = {fmt: render.render(env, fmt, d) for fmt in render.FORMATS}
    # HTML: only the template's own elements; no event handlers; links only to http(s).
    page = Html(out["html"])
    assert {t for t, _ in page.tags} <= TEMPLATE_TAGS
    for _, attrs in page.tags:
        for name, value in attrs:
            assert not name.startswith("on")
            if name in ("href", "src"):
                assert value is not None and re.match(r"(?i)^https?://[^\s\"'<>`]+$", value), value
    # Markdown, as a CommonMark viewer shows it: no images, no raw HTML, links only to the items.
    md_page = Html(commonmark().render(out["markdown"]))
    assert {t for t, _ in md_page.tags} <= {"h1", "h2", "h3", "p", "strong", "em", "a", "hr"} | {
        "ul", "li", "sub",
    }  # fmt: skip
    hrefs = [dict(a).get("href") or "" for t, a in md_page.tags if t == "a"]
    md = commonmark()
    allowed = {md.normalizeLink(render.md_url(u)) for _, _, u, _ in items}
    assert all(re.match(r"(?i)^https?://", h) for h in hrefs)
    assert set(hrefs) <= allowed, (hrefs, allowed)  # each link is one item's own URL
    # Text, Markdown, HTML: no control characters (terminal escapes, CR for header tricks).
    for fmt in ("text", "markdown", "html"):
        assert not ANY_CONTROL.search(out[fmt]), fmt
    # JSON: parses; <, > and & never appear raw (safe even pasted into HTML).
    assert not re.search(r"[<>&]", out["json"]) and json.loads(out["json"])["id"] == d.id
    # Atom: well-formed, only Atom elements, links only to http(s).
    root = ET.fromstring(out["atom"].encode())
    assert {el.tag.split("}")[0] for el in root.iter()} == {"{http://www.w3.org/2005/Atom"}
    for link in root.iter("{http://www.w3.org/2005/Atom}link"):
        assert re.match(r"(?i)^https?://", link.get("href", ""))


@SETTINGS
@given(stories, st.sampled_from(["{count} new: {top}", "digest {date}", "{top} {topics} {x}"]))
def test_mail_headers_cannot_be_injected(items: list[tuple[str, str, str, str]], template: str) -> None:
    check_mail(items, template)


def check_mail(items: list[tuple[str, str, str, str]], template: str) -> None:
    """The subject is one line and the message parses back with exactly our headers."""
    d = build(items)
    subject = render.subject(d, template)
    assert "\r" not in subject and "\n" not in subject
    env = jinja()
    msg = deliver.build_message(
        subject=subject,
        sender="watcher@example.org",
        to=["analyst@example.org"],
        text=render.render(env, "text", d),
        html=render.render(env, "html", d),
        message_id="<watcher.test@example.org>",
        date=T0,
        digest_id=d.id,
    )
    back = message_from_bytes(msg.as_bytes(), policy=policy.SMTP)
    expected = ["subject", "from", "to", "date", "message-id", "auto-submitted"]
    expected += ["x-watcher-digest", "mime-version", "content-type"]
    assert sorted(k.lower() for k in back) == sorted(expected)  # nothing smuggled in
    # Spaces may move where the email package folds encoded words; the text may not change.
    assert "".join(str(back["Subject"]).split()) == "".join(subject.split())
    assert back["To"] == "analyst@example.org" and back["Bcc"] is None


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_terminal_safe_leaves_no_control_or_bidi_characters(text: str) -> None:
    safe = terminal_safe(text)
    assert not TERMINAL_UNSAFE.search(safe)
    assert len(safe) == len(text) and terminal_safe(safe) == safe
    assert all(a == b or b == "\ufffd" for a, b in zip(text, safe, strict=True))


def test_a_backslash_in_a_url_cannot_escape_the_markdown_link() -> None:
    # Found by scripts/fuzz.py: "\%" lost its backslash inside a link destination.
    check_markdown_url("https://news.example/a\\)b\\%")
    check_formats([("title", "site", "https://news.example/a\\)b\\%", "text")])
