"""Fuzzing (issue 8): URL canonicalisation, feed parsing of arbitrary bytes, and whole poll cycles.

The cycle test serves fuzzed documents as a feed and as its article pages from a real local server
and runs ``run_cycle_async`` (and once ``run_cycle`` with its worker processes): no cycle raises, no
feed crashes, and every entry stored by an earlier cycle is still stored.  The longer campaign is
``scripts/fuzz.py`` (same strategies, thousands of cases).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security_helpers import (
    World,
    check_cycle,
    content_types,
    documents,
    good_world,
    hostile_text,
    hostile_url,
    patch_resolver,
    rss_doc,
    serve_fuzz,
)
from tests.server import Server
from watcher.feeds import canonical_url, parse_feed
from watcher.models import FetchStatus
from watcher.pipeline import run_cycle
from watcher.store import schema

PARSE_SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
urls = st.one_of(
    hostile_url,
    st.builds(
        "{}://{}{}/{}{}{}".format,
        st.sampled_from(["http", "https", "HTTP", "hTtPs"]),
        st.sampled_from(["news.example", "NEWS.Example.COM", "[::1]", "xn--80ak6aa92e.com", "пример.рф"]),
        st.sampled_from(["", ":80", ":443", ":8080", ":99999", ":x"]),
        st.text(max_size=12),
        st.sampled_from(["", "?utm_source=rss&id=5", "?b=2&a=1", "?fbclid=x", "?q=%D1%8B"]),
        st.sampled_from(["", "#top", "#"]),
    ),
)


@PARSE_SETTINGS
@given(st.one_of(urls, st.text()))
def test_canonical_url_never_raises_and_is_idempotent(url: str) -> None:
    check_canonical(url)


def check_canonical(url: str) -> None:
    """canonical_url returns a string; an http(s) result is a fixed point without tracking."""
    c = canonical_url(url)
    assert isinstance(c, str)
    if re.match(r"(?i)^https?://", c):
        assert canonical_url(c) == c and "#" not in c
        with contextlib.suppress(ValueError):  # "http://[oops" is kept as it is, an identity
            keys = {k.lower() for k, _ in parse_qsl(urlsplit(c).query, keep_blank_values=True)}
            assert not any(k.startswith("utm_") or k in ("fbclid", "gclid") for k in keys), c


@PARSE_SETTINGS
@given(documents, content_types, st.booleans())
def test_parse_feed_takes_any_bytes(body: bytes, content_type: str | None, fast: bool) -> None:
    check_parse(body, content_type, fast)


def check_parse(body: bytes, content_type: str | None, fast: bool) -> None:
    """parse_feed returns a consistent ParsedFeed quickly; links are http(s) or empty."""
    start = time.perf_counter()
    p = parse_feed(body, url="http://fuzz.example/f", content_type=content_type, fast=fast)
    assert time.perf_counter() - start < 2.0
    assert p.status in (FetchStatus.OK, FetchStatus.NOT_A_FEED, FetchStatus.PARSE_ERROR)
    assert (p.status is FetchStatus.OK) == (p.error is None)
    for e in p.entries:
        assert e.link == "" or re.match(r"(?i)^https?://", e.link), e.link
        assert e.url or e.guid  # every entry has an identity
    assert all(re.match(r"^https?://", a) for a in p.alternates)


# ---- whole cycles over fuzzed feeds and pages ----


@pytest.fixture
def world(http_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    patch_resolver(monkeypatch)  # hostile links name *.example hosts: no DNS query leaves
    w = good_world(http_server, tmp_path)
    yield w
    w.engine.dispose()


pages = st.lists(st.tuples(documents, st.sampled_from([{}, {"Content-Encoding": "gzip"}])), max_size=3)


def test_cycles_over_fuzzed_feeds_and_pages_never_crash_or_lose_data(world: World) -> None:
    stored, matches = [world.stored()], [world.count(schema.matches)]  # updated by each case

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(documents, content_types, pages, st.lists(st.tuples(hostile_text, hostile_url), max_size=3))
    def one(
        feed: bytes,
        ctype: str | None,
        bodies: list[tuple[bytes, dict[str, str]]],
        extra: list[tuple[str, str]],
    ) -> None:
        if extra:  # hostile titles and links in a well-formed feed as well
            feed = rss_doc("Extra", [(t, u, t) for t, u in extra])
        serve_fuzz(world, feed, ctype, bodies)
        stored[0], matches[0] = check_cycle(world, stored[0], matches[0])

    one()
    assert matches[0] >= 1  # the good feed's matches survived every fuzzed cycle


def test_run_cycle_with_worker_processes_survives_hostile_pages(world: World) -> None:
    bodies = [
        (b"<html><body>" + b"<div>" * 3000 + b"x", {}),
        (b"\x00\xff" * 5000, {"Content-Encoding": "gzip"}),
        (b"<html><![<![<a " * 3000, {}),
    ]
    serve_fuzz(world, rss_doc("F", [("Afghan migrants in Russia", "http://[oops/", "x")]), None, bodies)
    before = world.stored()
    report = run_cycle(world.cfg, world.engine)  # the real pool: spawned worker processes
    assert not [f for f in report.feeds if f.status == "crashed"], report.feeds
    assert before.items() <= world.stored().items()
    assert {f.feed: f.status for f in report.feeds}["feed 1"] == "ok"
