"""Helpers for the hostile-input tests (issue 8): listeners, hostile strings, bombs, a small world.

Everything here talks to loopback only.  ``Listener`` is a raw TCP socket that counts accepted
connections and received bytes, so a test can prove that *nothing* reached an address the policy
refuses, not merely that no HTTP request was parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from tests.server import Server
from watcher import config as config_mod
from watcher.extract_pool import ExtractPool
from watcher.match import TopicModel
from watcher.pipeline import CycleReport, build_models, run_cycle_async
from watcher.store import open_db, schema

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}


class Listener:
    """A TCP listener on one loopback address that records every connection and byte it gets."""

    def __init__(self, host: str, port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                conn.settimeout(0.2)
                with contextlib.suppress(OSError):
                    self.received += conn.recv(65536)

    def url(self, path: str = "/", host: str | None = None) -> str:
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{shown}:{self.port}{path}"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def listener_or_none(host: str, port: int = 0) -> Listener | None:
    """A Listener, or None where the address cannot be bound (no IPv6, no 127.0.0.2)."""
    try:
        return Listener(host, port)
    except OSError:
        return None


# Strings a stranger might put in a title, a site name, a summary or a URL.
NASTY = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<a href='javascript:alert(3)'>x</a>",
    "[click](javascript:alert(4))",
    "![pixel](http://evil.example/p.png)",
    "<http://evil.example/autolink>",
    "[ref]: http://evil.example/ref",
    "javascript:alert(5)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==",
    "&lt;script&gt;",
    "&#x3C;svg onload=alert(7)&#x3E;",
    "**bold** _em_ `code` ~~del~~ | table |",
    "# heading",
    "1. list",
    "- item",
    "> quote",
    "---",
    "    indented code",
    "\r\nBcc: victim@example.org\r\n",
    "\nX-Injected: 1",
    "\x1b]0;pwned\x07",
    "\x1b[2J\x1b[31mred",
    "\x9b31m",
    "\u202egnp.exe",
    "\u2066isolate\u2069",
    "\x00nul",
    "\ufeffbom",
    "\ud800",
    "\uffff",
    "{top}{count}{0}{__class__}",
    "%s%n%x",
    "a" * 300,
)

hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(NASTY),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=5).map("".join),
)
hostile_url = st.one_of(
    st.sampled_from(
        (
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "http://evil.example/a)b](javascript:alert(1))",
            "http://evil.example/a\\)b\\](javascript:alert(1))\\%",
            'http://evil.example/"onmouseover="alert(1)',
            "http://evil.example/<script>",
            "http://evil.example/\r\nX-Injected: 1",
            "https://news.example/story?id=1&utm_source=x",
            "//evil.example/protocol-relative",
            "http://[oops/",
        )
    ),
    st.text(max_size=40),
    st.builds(lambda p: f"https://news.example/{p}", st.text(max_size=20)),
)


def billion_laughs(depth: int = 9, width: int = 10) -> bytes:
    """RSS whose title and description reference an entity that expands to width**depth words."""
    ents = ['<!ENTITY l0 "lollollollollollollollollollol">']
    ents += [f'<!ENTITY l{i} "{f"&l{i - 1};" * width}">' for i in range(1, depth + 1)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(ents) + "\n]>\n"
        '<rss version="2.0"><channel><title>Laughs</title><item><title>a&l' + str(depth) + ";b"
        "</title><link>http://news.example/laughs</link><description>&l"
        + str(depth)
        + ";</description></item></channel></rss>"
    ).encode()


def quadratic_blowup(size: int = 100_000, refs: int = 20_000) -> bytes:
    """One big entity referenced many times: no nesting, size x refs characters if expanded."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"A" * size}">]>'
        '<rss version="2.0"><channel><title>Q</title><item><title>q</title>'
        "<link>http://news.example/q</link><description>"
        + "&a;" * refs
        + "</description></item></channel></rss>"
    ).encode()


def external_entities(secret: Path, dtd_url: str) -> bytes:
    """RSS that asks for a local file (general and parameter entity) and a remote DTD."""
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{dtd_url}" [\n'
        f'<!ENTITY xxe SYSTEM "file://{secret}">\n'
        f'<!ENTITY % remote SYSTEM "{dtd_url}">\n%remote;\n'
        f'<!ENTITY net SYSTEM "{dtd_url}">\n]>\n'
        '<rss version="2.0"><channel><title>X&xxe;</title><item><title>x&xxe;y&net;</title>'
        "<link>http://news.example/xxe</link><description>&xxe;</description></item>"
        "</channel></rss>"
    ).encode()


def rss_doc(title: str, items: Sequence[tuple[str, str, str]]) -> bytes:
    """RSS 2.0 with (title, link, description) items, the strings XML-escaped."""
    from xml.sax.saxutils import escape

    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        f"<guid isPermaLink='false'>{escape(link or t)}</guid>"
        f"<description>{escape(d)}</description></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://news.example/</link>{body}</channel></rss>"
    ).encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8 bytes


TOPIC = {
    "name": "Russia–Afghan migration",
    "groups": [
        {"name": "migration", "terms": ["migrant", "migrants", "refugee"]},
        {"name": "place", "terms": ["Russia", "Afghan", "Afghanistan"]},
    ],
}


@dataclass
class World:
    """A real SQLite file, a config over feeds on the local server, topic models built once."""

    server: Server
    tmp: Path
    cfg: config_mod.Config
    engine: sa.Engine
    models: list[TopicModel]
    raw: dict[str, Any] = field(default_factory=dict)  # the config as written, for a subprocess

    def cycle(self) -> CycleReport:
        """One cycle with an in-process extraction pool (the worker processes are tested elsewhere)."""

        async def go() -> CycleReport:
            async with ExtractPool(self.cfg.extract, workers=0) as pool:
                return await run_cycle_async(self.cfg, self.engine, models=self.models, pool=pool)

        return asyncio.run(go())

    def stored(self) -> dict[str, int]:
        """Entry key -> entry id, for every entry in the database."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.entries.c.id, schema.entries.c.url))
            return {str(r.url): int(r.id) for r in rows}

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def make_world(server: Server, tmp: Path, feeds: Sequence[str], **sections: Any) -> World:
    """A World polling ``feeds`` (paths on ``server``); loopback 127.0.0.1 is allow-listed."""
    raw: dict[str, Any] = {
        "storage": {"db": str(tmp / "seen.db")},
        "http": {
            "allow_networks": ["127.0.0.1"],
            "min_host_gap": 0.0,
            "connect_timeout": 2,
            "read_timeout": 2,
            **sections.pop("http", {}),
        },
        "extract": {"workers": 1, "timeout": 10, **sections.pop("extract", {})},
        "digest": {"dir": str(tmp / "digests")},
        "feeds": [{"url": server.url(p), "name": f"feed {i}"} for i, p in enumerate(feeds)],
        "topics": [TOPIC],
        **sections,
    }
    cfg = config_mod.parse(raw, tmp)
    engine = open_db(cfg.db_url)
    return World(server, tmp, cfg, engine, build_models(cfg, engine), raw)


# ---- documents for fuzzing: arbitrary bytes, and feed-shaped documents made of hostile parts ----

_PROLOGS = (
    b"",
    b'<?xml version="1.0"?>',
    b'<?xml version="1.0" encoding="utf-8"?>',
    b'<?xml version="1.0" encoding="windows-1251"?>',
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<?xml version="1.0" encoding="bogus-9"?>',
    b"\xef\xbb\xbf<?xml version='1.0'?>",
    b"<!--" + b"x" * 3000 + b"-->",
)
_DOCTYPES = (
    b"",
    b'<!DOCTYPE rss [<!ENTITY a "AAAA"><!ENTITY b "&a;&a;&a;&a;">]>',
    b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">',
    b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
    b"<!DOCTYPE html>",
    b"<!DOCTYPE rss [<!ENTITY % p SYSTEM 'file:///etc/hostname'> %p;]>",
)
_ROOTS = (
    (b'<rss version="2.0"><channel>', b"</channel></rss>"),
    (b'<rss version="0.91"><channel>', b"</channel></rss>"),
    (b'<feed xmlns="http://www.w3.org/2005/Atom">', b"</feed>"),
    (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">',
        b"</rdf:RDF>",
    ),
    (b"<html><head>", b"</head><body></body></html>"),
    (b"", b""),
)
_JUNK = (
    b"<![<![",
    b"<!---->" * 40,
    b"<a " * 200,
    b"&b;&x;&unknown;",
    b"<![CDATA[<script>alert(1)</script>]]>",
    b"\x00\xff\xfe",
    b"\x1b[31m",
    b"<" * 100,
    b"<div>" * 300,
    b'<link rel="alternate" type="application/rss+xml" href="http://[oops/">',
    b'<link rel="alternate" type="application/rss+xml" href="/f&#27;[2J">',
)


def _text_bytes(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return strategy.map(lambda s: s.encode("utf-8", errors="surrogatepass"))


_field_text = _text_bytes(hostile_text).map(lambda b: b.replace(b"<", b"&lt;"))
_item = st.builds(
    lambda tag, title, link, desc, extra: (
        b"<" + tag + b"><title>" + title + b"</title><link>" + link + b"</link>"
        b'<link href="'
        + link
        + b'"/><guid>'
        + title[:20]
        + b"</guid><description>"
        + desc
        + b"</description><pubDate>"
        + extra
        + b"</pubDate></"
        + tag
        + b">"
    ),
    st.sampled_from([b"item", b"entry"]),
    _field_text,
    _text_bytes(hostile_url).map(lambda b: b.replace(b"<", b"%3C").replace(b"&", b"&amp;")),
    st.one_of(_field_text, st.sampled_from(_JUNK)),
    st.sampled_from([b"", b"Mon, 01 Jan 2024 00:00:00 GMT", b"not a date", b"9999-99-99", b"0"]),
)
feedish = st.builds(
    lambda prolog, doctype, root, items, junk: (
        prolog + doctype + root[0] + b"<title>T</title>" + b"".join(items) + junk + root[1]
    ),
    st.sampled_from(_PROLOGS),
    st.sampled_from(_DOCTYPES),
    st.sampled_from(_ROOTS),
    st.lists(_item, max_size=4),
    st.one_of(st.just(b""), st.sampled_from(_JUNK), st.binary(max_size=40)),
)
documents = st.one_of(st.binary(max_size=2000), feedish)
content_types = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/atom+xml; charset=utf-8",
        "text/xml",
        "text/html",
        "text/plain; charset=bogus",
        "application/octet-stream",
        "application/rss+xml; charset=windows-1251",
    ]
)


# ---- whole cycles over fuzzed feeds and pages ----

GOOD = [
    ("Russia grants Afghan migrants new work permits", "/good/1", "Afghan migrants in Russia."),
    ("Afghan refugees in Moscow ask for asylum", "/good/2", "Afghan migrants in Russia."),
    ("Storm closes mountain passes", "/good/3", "Snow."),
]
PAGE = (
    "<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
    + "".join(
        f"<p>Afghan migrants in Russia applied for work permits in region {i}, officials said on "
        f"day {i} of the month; {i * 7} applications were filed and {i * 3} approved.</p>"
        for i in range(1, 9)
    )
    + "</article></body></html>"
)


def good_world(server: Server, tmp: Path) -> World:
    """A World with a good feed (three extracted, stored articles) and a feed to fuzz at /fuzz.rss."""
    for title, path, _ in GOOD:
        server.route(path, PAGE.format(t=title), headers=HTML_TYPE)
    items = [(t, server.url(p), d) for t, p, d in GOOD]
    server.route("/good.rss", rss_doc("Good", items), headers=RSS_TYPE)
    w = make_world(server, tmp, ["/good.rss", "/fuzz.rss"], extract={"timeout": 5})
    w.cycle()
    assert len(w.stored()) == 3 and w.count(schema.matches) >= 2
    with w.engine.connect() as conn:  # the good pages really were extracted, not just their feed
        assert conn.execute(sa.select(schema.articles.c.status)).scalars().all() == ["ok"] * 3
    return w


def serve_fuzz(w: World, feed: bytes, ctype: str | None, bodies: list[tuple[bytes, dict[str, str]]]) -> None:
    server = w.server
    links = [server.url(f"/fz/{i}") for i in range(len(bodies))]
    for i, (body, headers) in enumerate(bodies):
        data = gzip.compress(body) if headers else body
        server.route(f"/fz/{i}", data, headers={**HTML_TYPE, **headers})
    items = b"".join(
        f"<item><title>Afghan migrants in Russia {i}</title><link>{u}</link></item>".encode()
        for i, u in enumerate(links)
    )
    feed = feed.replace(b"</channel>", items + b"</channel>", 1) if b"</channel>" in feed else feed
    server.route("/fuzz.rss", feed, headers={"Content-Type": ctype} if ctype else {})


def check_cycle(w: World, before: dict[str, int], matches: int) -> tuple[dict[str, int], int]:
    start = time.perf_counter()
    report = w.cycle()
    assert time.perf_counter() - start < 30
    assert not [f for f in report.feeds if f.status == "crashed"], report.feeds
    after = w.stored()
    assert before.items() <= after.items(), "an entry stored earlier was lost"
    count = w.count(schema.matches)
    assert count >= matches, "a match stored earlier was lost"
    return after, count


async def loopback_only_resolver(host: str, port: int) -> Sequence[str]:
    """A resolver that never asks DNS: address literals as they are, localhost, else no answer."""
    import ipaddress

    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if host.lower().rstrip(".") == "localhost":
        return ["127.0.0.1"]
    raise OSError(f"test resolver: {host} is not resolved (tests send no DNS queries)")


def patch_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fetchers built from now on resolve names with ``loopback_only_resolver``."""
    from watcher import netpolicy

    monkeypatch.setattr(netpolicy, "_default_resolver", loopback_only_resolver)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DNS query leaves the machine during the test (feeds link to *.example hosts)."""
    patch_resolver(monkeypatch)
