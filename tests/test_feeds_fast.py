"""The lxml fast path gives what feedparser gives, and declines what it does not understand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.http_helpers import rss
from tests.test_feeds_parse import ATOM, RSS_FULL
from watcher.feeds import parse_feed
from watcher.feeds_fast import parse_fast

ATOM_XHTML = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">X &amp; Y</title>
  <link href="https://x.example/"/><link rel="self" href="https://x.example/atom"/>
  <entry><id>urn:uuid:1</id><title>One</title><link rel="enclosure" href="/a.mp3"/>
    <link href="/posts/1"/><published>2024-03-01T10:00:00+02:00</published>
    <updated>2024-03-02T10:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hello <b>there</b></p>
    </div></content>
  </entry>
  <entry><id>urn:uuid:2</id><title type="html">&lt;b&gt;Two&lt;/b&gt;</title>
    <updated>2024-03-03T00:00:00Z</updated>
    <summary type="html">&lt;p&gt;S&lt;/p&gt;</summary></entry>
</feed>"""

RSS_VARIANTS = [
    RSS_FULL,
    rss([("a", "Alpha &amp; Omega"), ("b", "Beta")]),
    rss([("r", "Мигранты")], encoding="windows-1251"),
    b"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
    <title>T</title><item><guid>https://p.example/a?utm_source=x</guid><title>permalink</title>
    <dc:date>2024-01-02T03:04:05+01:00</dc:date><dc:creator>Ann</dc:creator></item>
    <item><title>relative</title><link>../up/b.html</link><author>a@b.example (Bob)</author></item>
    <item><description>only &amp;lt;i&amp;gt;description&amp;lt;/i&amp;gt;</description></item>
    </channel></rss>""",
]


def both(body: bytes, content_type: str | None = "application/rss+xml") -> tuple[object, object]:
    url = "https://feeds.example/news/feed.xml"
    return (
        parse_feed(body, url=url, content_type=content_type),
        parse_feed(body, url=url, content_type=content_type, fast=False),
    )


@pytest.mark.parametrize("body", [*RSS_VARIANTS, ATOM, ATOM_XHTML])
def test_fast_path_matches_feedparser(body: bytes) -> None:
    assert parse_fast(body, "https://feeds.example/news/feed.xml", "application/xml") is not None
    fast, slow = both(body, "application/xml")
    assert fast == slow


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel/></rss>', None),
        (rss([("a", "A")], encoding="windows-1251"), "application/xml; charset=utf-8"),
        (rss([("a", "A")]), "text/xml"),  # RFC 3023 us-ascii default: feedparser's business
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None),
        (
            b'<rss version="2.0"><channel><item><pubDate>someday</pubDate></item></channel></rss>',
            None,
        ),
        (b'<rss version="2.0"><channel><item><title>cut', None),
        (b"<html><body>page</body></html>", None),
    ],
)
def test_fast_path_declines(body: bytes, content_type: str | None) -> None:
    assert parse_fast(body, "http://x.example/f", content_type) is None


# Latin-1 letters are left out: feedparser "repairs" text that looks like UTF-8 read as Latin-1
# ("Â¡" becomes "¡"), which the fast path rightly does not: see the test below.
_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters=[chr(c) for c in range(0x80, 0x100)]
    )
    | st.sampled_from("&<>\"' "),
    max_size=40,
)


def test_fast_path_keeps_text_as_written() -> None:
    doc = '<rss version="2.0"><channel><item><title>Â¡Hola!</title></item></channel></rss>'
    fast = parse_feed(doc.encode(), url="http://x.example/f")
    assert fast.entries[0].title == "Â¡Hola!"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_text, _text, st.integers(0, 10_000), st.booleans()), min_size=1, max_size=6)
)
def test_fast_equals_slow_on_generated_rss(items: list[tuple[str, str, int, bool]]) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = []
    for i, (title, summary, minutes, with_link) in enumerate(items):
        link = f"<link>/p/{i}?utm_medium=x</link>" if with_link else ""
        parts.append(
            f"<item><title>{escape(title)}</title>{link}<guid isPermaLink='false'>g{i}</guid>"
            f"<description>{escape(summary)}</description>"
            f"<pubDate>{format_datetime(start + timedelta(minutes=minutes))}</pubDate></item>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>G</title>'
        f"{''.join(parts)}</channel></rss>"
    )
    fast, slow = both(doc.encode())
    assert fast == slow
