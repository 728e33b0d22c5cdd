"""Hostile titles, summaries, site names, URLs and feed errors are inert in every output format."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.digest_helpers import OTHER, T0, Db, Inbox, make_config, make_db, smtp_server, walk
from watcher import cli, outbox, render
from watcher.store import schema

TITLE = (
    "Afghan migrants [click me](javascript:alert(1)) ![pixel](http://evil.example/p.png) "
    "<script>alert('title')</script> <b>bold</b> **strong** _em_ `code` &amp; "
    "\r\nBcc: victim@example.org\r\n\x1b]0;pwned\x07\x1b[31mred\u202e"
)
TEXT = (
    "Russia said Afghan migrants <img src=x onerror=alert(2)> would need new permits. "
    "Afghan migrants in Russia were told to [renew](javascript:alert(3)) at "
    '<a href="javascript:alert(4)">this office</a> by Friday. '
    "1. Afghan migrants working in Russia now face a test "
    "<script>document.location='http://evil.example'</script> and more. "
    "Nothing else happened in the city that week, officials said on Monday."
)
SITE = "<img src=x onerror=alert(5)>Evil [Site](javascript:alert(6))"
BAD_URL = "javascript:alert(document.cookie)//https://news.example/story"


@pytest.fixture
def hostile(tmp_path: Path) -> Db:
    db = make_db(tmp_path)
    db.match(TITLE, TEXT, url=BAD_URL, site=SITE, score=0.9, nearest_seed="<script>seed</script>")
    db.match("Ordinary story about Afghan migrants", OTHER, site="Plain News", score=0.6)
    db.feed(
        "https://bad.example/rss",
        "</li><script>alert(7)</script>",
        failures=9,
        first_failure_at=T0 - timedelta(days=3),
        last_error="HTTP 500: <iframe src=javascript:alert(8)>\r\nX-Injected: 1",
    )
    return db


class Tags(HTMLParser):
    """Every element and attribute in an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def html_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_safe_html(html: str, *, template_tags: set[str]) -> None:
    tags = html_tags(html)
    names = {t for t, _ in tags}
    assert names <= template_tags, names - template_tags
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert value is not None and re.match(r"^https?://", value), (tag, value)


def rendered(tmp_path: Path, db: Db) -> dict[str, str]:
    cfg = make_config(tmp_path, db, formats=list(render.FORMATS))
    out = outbox.send_digest(cfg, db.engine, now=T0, dry_run=True, environ={})
    assert out.items == 2
    return dict(out.rendered)


HTML_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "div",
    "h1",
    "h2",
    "p",
    "strong",
    "span",
    "a",
    "em",
    "br",
    "ul",
    "li",
}


def test_html_is_escaped(tmp_path: Path, hostile: Db) -> None:
    html = rendered(tmp_path, hostile)["html"]
    assert_safe_html(html, template_tags=HTML_TAGS)
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html  # shown, as text
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "\x1b" not in html and "\r" not in html


def test_markdown_is_escaped(tmp_path: Path, hostile: Db) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    md_text = rendered(tmp_path, hostile)["markdown"]
    assert "](javascript" not in md_text and "![" not in md_text
    assert "\x1b" not in md_text and "\r" not in md_text
    md = markdown_it.MarkdownIt("commonmark")  # raw HTML allowed, so escaping is what protects
    md.validateLink = lambda url: True  # do not rely on the renderer's own link filter
    html = md.render(md_text)
    assert_safe_html(
        html, template_tags={"h1", "h2", "h3", "p", "strong", "em", "a", "hr", "ul", "li", "sub"}
    )
    assert "<b>" not in html and "<code>" not in html  # no formatting from the title either
    assert "Afghan migrants [click me](javascript:alert(1))" in html  # the title shown literally


def test_text_and_terminal_output_have_no_control_characters(
    tmp_path: Path, hostile: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    text = rendered(tmp_path, hostile)["text"]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", text)
    title_lines = [line for line in text.splitlines() if "click me" in line]
    assert (
        len(title_lines) == 1 and "Bcc: victim@example.org" in title_lines[0]
    )  # folded into one line
    assert not any(line.startswith("Bcc:") for line in text.splitlines())
    conf = tmp_path / "c.toml"
    conf.write_text(
        f'[storage]\ndb = "{hostile.path}"\n[[topics]]\nname = "Russia–Afghan migration"\n'
    )
    for fmt in ("text", "markdown"):
        assert cli.main(["digest", "--config", str(conf), "--dry-run", "--format", fmt]) == 0
        shown = capsys.readouterr().out
        assert "click me" in shown and not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", shown)


def test_json_is_escaped(tmp_path: Path, hostile: Db) -> None:
    raw = rendered(tmp_path, hostile)["json"]
    assert "<" not in raw and ">" not in raw and "&" not in raw  # \u003c …: safe even inside HTML
    data = json.loads(raw)
    strings = list(walk(data))
    assert any("<script>alert('title')</script>" in s for s in strings)  # the data itself is intact
    assert not any(re.search(r"[\x00-\x1f\x7f]", s) for s in strings)
    item = data["sections"][0]["items"][0]
    assert item["url"] == ""  # a javascript: URL is dropped, not passed on


def test_atom_is_escaped(tmp_path: Path, hostile: Db) -> None:
    atom = rendered(tmp_path, hostile)["atom"]
    root = ET.fromstring(atom.encode())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    # The whole feed is Atom elements only: nothing from the title became markup.
    assert {el.tag.split("}")[0] for el in root.iter()} == {"{http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) or "" for e in entries]
    assert any("<script>alert('title')</script>" in t for t in titles)
    for link in root.iter("{http://www.w3.org/2005/Atom}link"):
        assert re.match(r"^https?://", link.get("href", ""))
    contents = list(root.iter("{http://www.w3.org/2005/Atom}content"))
    assert len(contents) == 2 and {c.get("type") for c in contents} == {"text"}
    assert "\x1b" not in atom and "\r" not in atom


def test_email_headers_and_parts_are_safe(tmp_path: Path, hostile: Db) -> None:
    with smtp_server() as (box, port):
        cfg = make_config(
            tmp_path,
            hostile,
            formats=["markdown", "json", "atom", "html", "text"],
            email={
                "enabled": True,
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "starttls": False,
                "to": ["analyst@example.org"],
                "subject": "{count} new: {top}",
            },
        )
        out = outbox.send_digest(cfg, hostile.engine, now=T0, environ={})
        assert out.status == "sent"
        check_mail(box)
        files = {p.suffix: p.read_text(encoding="utf-8") for p in out.paths}
    assert "<script" not in files[".html"] and "](javascript" not in files[".md"]
    assert "<" not in files[".json"]
    [(error,)] = hostile.rows(
        sa.select(schema.feeds.c.last_error).where(schema.feeds.c.failures > 0)
    )
    assert "\r\n" in error  # the stored error was hostile; the outputs above were not


def check_mail(box: Inbox) -> None:
    assert len(box.messages) == 1
    _, rcpts, raw = box.messages[0]
    assert rcpts == ["analyst@example.org"]  # no Bcc smuggled in through the subject
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert not re.search(r"(?im)^(bcc|x-injected):", head)
    msg = box.parsed()
    subject = str(msg["Subject"])
    assert subject.startswith("2 new: Afghan migrants [click me](javascript:alert(1))")
    assert "\r" not in subject and "\n" not in subject and "\x1b" not in subject
    assert msg["Bcc"] is None
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert_safe_html(str(html_part.get_content()), template_tags=HTML_TAGS)
    assert not re.search(
        r"[\x00-\x08\x0b-\x1f\x7f]", str(text_part.get_content()).replace("\r\n", "\n")
    )


def test_markers_only_survive_as_inert_text(tmp_path: Path, hostile: Db) -> None:
    """The hostile input does reach every format (else the tests above would prove nothing)."""
    out = rendered(tmp_path, hostile)
    for fmt in ("html", "markdown", "text", "json", "atom"):
        assert "alert" in out[fmt], fmt
        assert "pwned" in out[fmt], fmt
