"""Pure: an alert message in text, Markdown and HTML, strangers' text escaped for each (issue 15)."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from markdown_it import MarkdownIt

from tests.digest_helpers import stored
from watcher import alert_message

HOSTILE = "Evil \x1b[31mred\x1b[0m \u202etxt.exe <img src=x onerror=alert(1)> [a](javascript:x) **b**\nX"


def message() -> alert_message.AlertMessage:
    bad = replace(stored(1, HOSTILE, "t", source="Site <b>&", score=0.912), url="javascript:alert(1)")
    good = stored(2, "Afghan workers (Kazan) — 50% more_visas", "t", score=0.75)
    return alert_message.build("alert-1", [good, bad])


def test_items_are_cleaned_and_ordered_strongest_first() -> None:
    m = message()
    assert [i.match_id for i in m.items] == [1, 2]
    first = m.items[0]
    assert "\x1b" not in first.title and "\u202e" not in first.title and "\n" not in first.title
    assert first.score == 0.91
    assert m.title == "watcher: 2 new matches — Russia–Afghan migration"
    assert alert_message.from_json("alert-1", alert_message.to_json(m)) == m


def test_text_body_has_every_field() -> None:
    body = message().body("text")
    assert "0.91  Evil" in body and "Site <b>&" in body and "why: migration: migrants" in body
    assert "https://examplenews.example/2" in body and body.endswith("— watcher alert alert-1")


def test_html_body_escapes_and_links_only_web_addresses() -> None:
    body = message().body("html")
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "Site &lt;b&gt;&amp;" in body
    hrefs = re.findall(r'href="([^"]*)"', body)
    assert hrefs == ["https://examplenews.example/2", "https://examplenews.example/2"]
    assert html.escape("javascript:alert(1)") in body  # shown as text


def test_markdown_body_renders_no_stranger_markup() -> None:
    rendered = MarkdownIt("commonmark").render(message().body("markdown"))
    links = re.findall(r'<a href="([^"]*)"', rendered)
    assert links == ["https://examplenews.example/2"]
    assert "<img" not in rendered and "<strong>b</strong>" not in rendered
    assert "**b**" in rendered and "[a](javascript:x)" in rendered  # literally, as written
    assert "more_visas" in rendered and "50% more" in rendered
