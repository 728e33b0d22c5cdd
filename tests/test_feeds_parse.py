"""parse_feed, canonical_url and discover_feeds on documents written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.http_helpers import rss
from watcher.feeds import canonical_url, discover_feeds, html_to_text, parse_feed
from watcher.models import FetchStatus

RSS_FULL = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Border &amp; Migration Desk</title><link>https://desk.example/</link>
<item>
  <title>Workers &lt;em&gt;return&lt;/em&gt; home</title>
  <link>/2024/03/workers-return?utm_source=rss&amp;utm_medium=feed&amp;page=2#comments</link>
  <guid isPermaLink="false">desk-123</guid>
  <description>&lt;p&gt;Summary with &lt;b&gt;bold&lt;/b&gt; &amp;amp; an entity.&lt;/p&gt;
    &lt;script&gt;alert(1)&lt;/script&gt;</description>
  <content:encoded><![CDATA[<p>First paragraph.</p>
    <p>Second&nbsp;paragraph.</p>]]></content:encoded>
  <pubDate>Tue, 05 Mar 2024 10:30:00 +0300</pubDate>
  <dc:creator>Ann Writer</dc:creator>
</item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/posts/">
  <title>Blog</title>
  <entry><id>tag:blog.example,2024:7</id><title type="html">&lt;i&gt;Seven&lt;/i&gt;</title>
    <link rel="alternate" href="seven.html"/><updated>2024-02-01T08:00:00Z</updated>
    <summary>Short</summary><content type="html">&lt;p&gt;Long body&lt;/p&gt;</content>
    <author><name>Bo</name></author></entry>
</feed>"""


def test_rss_entry_fields() -> None:
    p = parse_feed(
        RSS_FULL, url="https://desk.example/feed.xml", content_type="application/rss+xml"
    )
    assert p.status is FetchStatus.OK and p.warning is None and p.error is None
    assert p.title == "Border & Migration Desk"
    (e,) = p.entries
    assert e.feed_url == "https://desk.example/feed.xml"
    assert (
        e.link
        == "https://desk.example/2024/03/workers-return?utm_source=rss&utm_medium=feed&page=2#comments"
    )
    assert e.url == "https://desk.example/2024/03/workers-return?page=2"
    assert e.guid == "desk-123"
    assert e.title == "Workers return home"
    assert e.summary == "Summary with bold & an entity."
    assert e.content == "First paragraph.\nSecond paragraph."
    assert e.published == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert e.author == "Ann Writer"


def test_atom_with_xml_base() -> None:
    p = parse_feed(ATOM, url="https://other.example/atom")
    (e,) = p.entries
    assert e.link == "https://blog.example/posts/seven.html" and e.guid == "tag:blog.example,2024:7"
    assert (e.title, e.summary, e.content, e.author) == ("Seven", "Short", "Long body", "Bo")
    assert e.published == datetime(2024, 2, 1, 8, 0, tzinfo=UTC)


def test_rdf_feed() -> None:
    doc = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://r.example/"><title>R</title></channel>
      <item rdf:about="http://r.example/1"><title>One</title><link>http://r.example/1</link></item>
      </rdf:RDF>"""
    p = parse_feed(doc, url="http://r.example/rdf")
    assert p.status is FetchStatus.OK and [e.url for e in p.entries] == ["http://r.example/1"]


def test_bozo_feed_keeps_entries_with_warning() -> None:
    broken = rss([("a", "Alpha"), ("b", "Beta")]).replace(b"</channel></rss>", b"<item><title>x")
    p = parse_feed(broken, url="http://news.example/feed")
    assert p.status is FetchStatus.OK and p.warning
    assert [e.guid for e in p.entries][:2] == ["a", "b"]


def test_garbage_is_parse_error() -> None:
    p = parse_feed(
        b"<<<< not xml at all &&&", url="http://x.example/f", content_type="application/xml"
    )
    assert p.status is FetchStatus.PARSE_ERROR and p.error and "\n" not in p.error and not p.entries


def test_empty_body_is_parse_error() -> None:
    assert parse_feed(b"  \n", url="http://x.example/f").status is FetchStatus.PARSE_ERROR


def test_valid_feed_without_entries_is_ok() -> None:
    p = parse_feed(rss([]), url="http://x.example/f")
    assert p.status is FetchStatus.OK and p.entries == () and p.warning is None


def test_html_page_is_not_a_feed_and_names_alternates() -> None:
    page = b"""<!DOCTYPE html><html><head><title>News</title>
      <link rel="alternate" type="application/rss+xml" href="/rss.xml" title="RSS">
      <link rel="alternate" type="application/atom+xml" href="https://cdn.example/atom.xml">
      <link rel="stylesheet" href="/s.css"></head><body><p>Hello</p></body></html>"""
    p = parse_feed(page, url="https://site.example/news/", content_type="text/html; charset=utf-8")
    assert p.status is FetchStatus.NOT_A_FEED
    assert p.alternates == ("https://site.example/rss.xml", "https://cdn.example/atom.xml")
    assert p.error and "https://site.example/rss.xml" in p.error


def test_html_without_content_type_is_sniffed() -> None:
    p = parse_feed(b"<html><body>nothing</body></html>", url="https://site.example/")
    assert p.status is FetchStatus.NOT_A_FEED and p.alternates == ()


def test_charset_from_header_when_prolog_is_silent() -> None:
    doc = rss([("r1", "Мигранты из Афганистана")], encoding="windows-1251").replace(
        b' encoding="windows-1251"', b""
    )
    p = parse_feed(
        doc, url="http://ru.example/f", content_type="application/xml; charset=windows-1251"
    )
    assert p.entries[0].title == "Мигранты из Афганистана"


def test_wrong_header_charset_is_recovered_from_prolog() -> None:
    doc = rss([("r1", "Мигранты")], encoding="windows-1251")
    p = parse_feed(doc, url="http://ru.example/f", content_type="text/xml; charset=utf-8")
    assert p.status is FetchStatus.OK and p.entries[0].title == "Мигранты" and p.warning


def test_entry_without_link_or_guid_gets_a_stable_content_hash() -> None:
    doc = b'<rss version="2.0"><channel><item><title>Only a title</title></item></channel></rss>'
    a = parse_feed(doc, url="http://x.example/f").entries[0]
    b = parse_feed(doc, url="http://x.example/f").entries[0]
    assert (
        a.url == "" and a.guid and a.guid.startswith("urn:sha256:") and a.guid == b.guid and a.key
    )


def test_permalink_guid_becomes_link() -> None:
    doc = b'<rss version="2.0"><channel><item><guid>https://p.example/a?fbclid=1</guid></item></channel></rss>'
    e = parse_feed(doc, url="http://x.example/f").entries[0]
    assert e.link == "https://p.example/a?fbclid=1" and e.url == "https://p.example/a"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "HTTPS://News.Example.COM/a/b?utm_source=x&utm_campaign=y#top",
            "https://news.example.com/a/b",
        ),
        ("https://n.example/a?id=5&fbclid=abc&gclid=d", "https://n.example/a?id=5"),
        ("https://n.example/a?b=2&a=1", "https://n.example/a?a=1&b=2"),
        ("https://n.example:443/x", "https://n.example/x"),
        ("https://n.example", "https://n.example/"),
        ("  https://n.example/p  ", "https://n.example/p"),
        ("", ""),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("http://A.example/x/../y?utm_term=1&q=%D1%8B#f")
    assert canonical_url(once) == once


def test_discover_feeds_base_dedupe_and_schemes() -> None:
    page = b"""<html><head><base href="https://static.example/sub/">
      <link rel="alternate feed" type="application/rss+xml" href="rss">
      <link rel="alternate" type="application/rss+xml" href="rss">
      <link rel="alternate" type="application/atom+xml; charset=utf-8" href="/atom?a=1&amp;b=2">
      <link rel="alternate" type="text/html" href="/other">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      </head></html>"""
    assert discover_feeds(page, "https://site.example/") == [
        "https://static.example/sub/rss",
        "https://static.example/atom?a=1&b=2",
    ]


def test_html_to_text() -> None:
    assert html_to_text("<div>a<br>b</div><style>x{}</style>&amp; c") == "a\nb\n& c"
    assert html_to_text("plain") == "plain"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_parse_feed_never_raises(body: bytes) -> None:
    p = parse_feed(body, url="http://fuzz.example/f")
    assert p.status in (FetchStatus.OK, FetchStatus.NOT_A_FEED, FetchStatus.PARSE_ERROR)
    assert (p.status is FetchStatus.OK) == (p.error is None)
