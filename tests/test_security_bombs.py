"""Document bombs (issue 8): entity expansion, external entities, compression bombs, huge HTML.

Each bomb is parsed on both feed paths (lxml fast path and feedparser) or served from a real local
server, and must come back as a value within bounded time and memory.  Memory is measured per case in
a fresh process (``tests/bomb_probe.py``): the peak resident size is a high-water mark, so read here
a blow-up below an earlier test's peak would be invisible.
Compression caps in the fetcher are also covered by ``test_http_fetcher.py`` (gzip, brotli) and the
extraction caps by ``test_extract_article.py`` (bytes, elements, depth, tag floods).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
import sqlalchemy as sa

from tests.http_helpers import raw_response
from tests.security_helpers import (
    HTML_TYPE,
    RSS_TYPE,
    Listener,
    billion_laughs,
    external_entities,
    make_world,
    no_dns,
    quadratic_blowup,
    rss_doc,
)
from tests.server import Server
from tests.shared_data import ROOT, require_shared
from watcher.feeds import discover_feeds, html_to_text, parse_feed
from watcher.feeds_fast import parse_fast
from watcher.models import Entry, FetchStatus, ParsedFeed
from watcher.store import schema

pytestmark = pytest.mark.usefixtures(no_dns.__name__)  # feeds link to *.example: no DNS queries
MALFORMED = ("fixtures", "feeds", "feedparser-rs", "malformed")
MEMORY_BOUND_MIB = 64.0  # peak growth allowed for one bomb
TIME_BOUND_S = 3.0


def probe(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run each case in a fresh process; its status, markers found, time and own memory growth."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.bomb_probe"],
        input=json.dumps(cases),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(out.stdout)
    assert len(results) == len(cases)
    return results


def bounded(result: dict[str, Any], bound_mib: float = MEMORY_BOUND_MIB) -> dict[str, Any]:
    """Check one probed case stayed within the time and memory bounds."""
    assert result["status"] not in ("died", "probe-error"), result
    assert result["seconds"] < TIME_BOUND_S, f"took {result['seconds']:.2f}s"
    assert result["grew_mib"] < bound_mib, f"peak memory grew by {result['grew_mib']:.0f} MiB"
    return result


def parse_case(
    tmp: Path, doc: bytes, *, fast: bool, markers: list[str], content_type: str | None = None
) -> dict[str, Any]:
    path = tmp / f"doc-{len(list(tmp.glob('doc-*')))}.xml"
    path.write_bytes(doc)
    return {
        "kind": "parse", "path": str(path), "url": "http://f.example/",
        "content_type": content_type, "fast": fast, "markers": markers,
    }  # fmt: skip


def test_the_probe_sees_each_blow_up_whatever_came_before() -> None:
    # Controls: a case that allocates is seen at its own size, after a bigger one as well as alone
    # (the process-wide high-water mark would show the second as no growth at all).
    big, small, none = probe([{"kind": "alloc", "mib": mib} for mib in (160, 96, 0)])
    assert big["grew_mib"] >= 150 and small["grew_mib"] >= 90
    assert small["grew_mib"] > MEMORY_BOUND_MIB  # a blow-up of this size fails bounded()
    assert none["grew_mib"] < 8


def texts(p: ParsedFeed) -> str:
    return "\n".join([p.title, *(f"{e.title}\n{e.summary}\n{e.content}" for e in p.entries)])


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener("127.0.0.1")
    yield lst
    lst.stop()


@pytest.mark.parametrize("fast", [True, False], ids=["lxml", "feedparser"])
@pytest.mark.parametrize(
    "bomb",
    [billion_laughs(9), billion_laughs(30, 2), quadratic_blowup()],
    ids=["billion-laughs", "deep-chain", "quadratic"],
)
def test_entity_bombs_are_neutralised(tmp_path: Path, bomb: bytes, fast: bool) -> None:
    markers = ["lol" * 50, "A" * 200_000]
    case = parse_case(tmp_path, bomb, fast=fast, markers=markers, content_type=RSS_TYPE["Content-Type"])
    (p,) = probe([case])
    bounded(p)
    assert p["status"] in (FetchStatus.OK, FetchStatus.PARSE_ERROR)
    assert p["markers"] == dict.fromkeys(markers, False)


@pytest.mark.parametrize("fast", [True, False], ids=["lxml", "feedparser"])
def test_external_entities_read_no_file_and_fetch_nothing(
    tmp_path: Path, listener: Listener, fast: bool
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER\n", encoding="utf-8")
    doc = external_entities(secret, listener.url("/evil.dtd"))
    (p,) = probe([parse_case(tmp_path, doc, fast=fast, markers=["TOP-SECRET-MARKER"])])
    bounded(p)
    assert p["markers"] == {"TOP-SECRET-MARKER": False}
    assert listener.connections == 0


def test_the_lxml_path_itself_neutralises_a_doctype_it_did_not_see(
    tmp_path: Path, listener: Listener
) -> None:
    # parse_fast hands documents with a DOCTYPE in their first 2 KiB to feedparser; one hidden
    # behind a long comment reaches lxml, whose parser must not expand, read or fetch anything.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER\n", encoding="utf-8")
    pad = b'<?xml version="1.0"?><!--' + b"x" * 4096 + b"-->"
    for doc in (billion_laughs(9), external_entities(secret, listener.url("/evil.dtd"))):
        padded = pad + doc.split(b"?>", 1)[1]
        d = parse_fast(padded, "http://f.example/", "application/rss+xml")
        shown = repr(d)
        assert "TOP-SECRET-MARKER" not in shown and "lol" * 50 not in shown
        p = parse_feed(padded, url="http://f.example/", content_type="application/rss+xml")
        assert "TOP-SECRET-MARKER" not in texts(p) and "lol" * 50 not in texts(p)
    assert listener.connections == 0


@pytest.mark.parametrize("fast", [True, False], ids=["lxml", "feedparser"])
def test_shared_malformed_fixtures_parse_within_bounds(fast: bool) -> None:
    files = sorted(require_shared(*MALFORMED).glob("*.xml"))
    assert files
    cases = [
        {"kind": "parse", "path": str(p), "url": "http://f.example/", "fast": fast, "markers": ["lol" * 50]}
        for p in files
    ]
    for path, p in zip(files, probe(cases), strict=True):
        bounded(p)
        assert p["status"] in (FetchStatus.OK, FetchStatus.PARSE_ERROR, FetchStatus.NOT_A_FEED), path.name
        assert p["markers"] == {"lol" * 50: False}, path.name


# ---- compression bombs, from a real server ----


def _zeros_gzip(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b"\0" * (1 << 20)
    return b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()


def _zeros_deflate(size: int, raw: bool) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    return b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()


BOMB_SIZE = 256 << 20


@pytest.mark.parametrize(
    ("encoding", "make"),
    [
        ("deflate", lambda: _zeros_deflate(BOMB_SIZE, raw=False)),
        ("deflate", lambda: _zeros_deflate(BOMB_SIZE, raw=True)),
        ("gzip, gzip", lambda: gzip.compress(_zeros_gzip(BOMB_SIZE))),
        ("br", lambda: brotli.compress(b"\0" * (64 << 20), quality=5)),
        ("gzip, br", lambda: brotli.compress(_zeros_gzip(BOMB_SIZE), quality=5)),
    ],
    ids=["deflate-zlib", "deflate-raw", "gzip-in-gzip", "brotli", "gzip-in-brotli"],
)
def test_compression_bombs_stop_at_the_decoded_cap(
    http_server: Server, encoding: str, make: Callable[[], bytes]
) -> None:
    bomb = make()
    assert len(bomb) < 2 << 20
    url = http_server.handler("/bomb", raw_response(200, {**RSS_TYPE, "Content-Encoding": encoding}, bomb))
    (r,) = probe([{"kind": "fetch", "url": url, "max_body_bytes": 1 << 20}])
    assert r["status"] == FetchStatus.TOO_LARGE and r["body_bytes"] == 0
    assert r["grew_mib"] < MEMORY_BOUND_MIB, f"peak memory grew by {r['grew_mib']:.0f} MiB"


# ---- through the pipeline: bombs as feeds and as article pages; nothing crashes ----


def test_pipeline_survives_bombs_as_feeds_and_article_pages(http_server: Server, tmp_path: Path) -> None:
    deep = b"<html><body>" + b"<div>" * 5000 + b"Afghan migrants in Russia" + b"</div>" * 5000
    flood = b"<html><body>" + b"<p>x" * 200_000  # 800 KB, under the byte cap
    pages = {
        "/big": (b"<html><body><p>" + b"Afghan migrants in Russia. " * 100_000, {}),
        "/gz": (_zeros_gzip(BOMB_SIZE), {"Content-Encoding": "gzip"}),
        "/deep": (deep, {}),
        "/flood": (flood, {}),
    }
    for path, (body, headers) in pages.items():
        http_server.handler(path, raw_response(200, {**HTML_TYPE, **headers}, body))
    items = [
        (f"Afghan migrants in Russia: {p}", http_server.url(p), "Afghan migrants, Russia") for p in pages
    ]
    http_server.route("/feed", rss_doc("Pages", items), headers=RSS_TYPE)
    http_server.route("/laughs", billion_laughs(9), headers=RSS_TYPE)
    http_server.route("/quadratic", quadratic_blowup(), headers=RSS_TYPE)
    http_server.handler(
        "/feed-gz", raw_response(200, {**RSS_TYPE, "Content-Encoding": "gzip"}, _zeros_gzip(BOMB_SIZE))
    )
    world = make_world(
        http_server,
        tmp_path,
        ["/feed", "/laughs", "/quadratic", "/feed-gz"],
        extract={"max_html_bytes": 1 << 20, "max_tree_nodes": 50_000},
        http={"max_body_bytes": 2 << 20},
    )
    (run,) = probe([{"kind": "cycle", "config": world.raw, "dir": str(tmp_path)}])
    assert run["status"] == "ok", run
    assert run["seconds"] < 30 and run["grew_mib"] < 2 * MEMORY_BOUND_MIB, run
    assert run["feeds"] == {"feed 0": "ok", "feed 1": "ok", "feed 2": "ok", "feed 3": "too_large"}
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.entries.c.link, schema.articles.c.status, schema.articles.c.error).join(
                schema.articles, schema.articles.c.entry_id == schema.entries.c.id
            )
        ).all()
    by_path = {r.link.rsplit("/", 1)[-1]: r for r in rows if r.link.startswith(http_server.url())}
    assert set(by_path) == {"big", "gz", "deep", "flood"}
    assert all(r.status == "fallback" for r in by_path.values())  # the feed's text stands in
    assert "larger than" in by_path["big"].error and "larger than" in by_path["gz"].error
    assert "deeper" in by_path["deep"].error and "tags" in by_path["flood"].error
    world.engine.dispose()


# ---- regular expressions and parsers that were super-linear on crafted text (fixed) ----


@pytest.mark.parametrize(
    "text",
    [
        "<a" * 200_000,  # every "<a" scanned to the end: quadratic
        "<script" * 100_000,
        '<a "' * 100_000,
        "<!" * 200_000,
        "<?" * 200_000,
        "a" + "\u2003" * 500_000 + "b",  # em spaces around no newline: quadratic in _NL
        "x" + "\x1c" * 500_000,
    ],
    ids=["tags", "script", "quotes", "decl", "pi", "em-spaces", "separators"],
)
def test_html_to_text_is_linear_on_crafted_text(text: str) -> None:
    start = time.perf_counter()
    html_to_text(text)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "page",
    [
        b"<html>" + b"<a " * 100_000,
        b"<html>" + b"<!--" * 100_000,
        b"<html><![<![",
        b"<html><a href='" * 50_000,
    ],
    ids=["attrs", "comments", "marked-section", "quotes"],
)
def test_feed_discovery_survives_crafted_pages(page: bytes) -> None:
    # html.parser took minutes on the first two and raised AssertionError on the third.
    start = time.perf_counter()
    assert discover_feeds(page, "http://site.example/") == []
    assert time.perf_counter() - start < 1.0
    # feedparser's own loose parser is linear but slow on such pages (~1 s per MB).
    p = parse_feed(page, url="http://site.example/", content_type="text/html")
    assert p.status is FetchStatus.NOT_A_FEED
    assert time.perf_counter() - start < 5.0


def test_html_sniffing_does_not_backtrack_over_comments() -> None:
    body = b"<!---->" * 580 + b"x"  # 2**580 ways to split the comments before the fix
    start = time.perf_counter()
    p = parse_feed(body, url="http://f.example/", content_type="application/rss+xml")
    assert p.status is FetchStatus.PARSE_ERROR and time.perf_counter() - start < 1.0


@pytest.mark.parametrize("fast", [True, False], ids=["lxml", "feedparser"])
def test_one_unparseable_link_does_not_lose_the_feed(fast: bool) -> None:
    doc = rss_doc(
        "F",
        [
            ("bad", "http://[oops/", "Invalid IPv6 URL in urllib"),
            ("good", "http://news.example/good", "kept"),
        ],
    )
    p = parse_feed(doc, url="http://f.example/", fast=fast)
    assert p.status is FetchStatus.OK
    links = {e.title: e.link for e in p.entries}
    assert links == {"bad": "", "good": "http://news.example/good"}
    assert all(isinstance(e, Entry) for e in p.entries)
