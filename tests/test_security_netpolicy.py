"""Address policy (issue 8): refused before any packet, on every hop, for feeds and article links.

Refusals are proven against raw TCP listeners on loopback addresses the policy does not allow
(127.0.0.2, 127.0.0.1 on its own port, ::1): a listener that accepted nothing is the proof.  Private,
link-local and public-looking targets are checked by classification and by a fake resolver whose
answers reach a recording backend that never connects, so no test sends a packet beyond loopback.
Complements ``test_http_policy.py`` (classification table, spellings, pinning, rebinding).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpcore
import pytest
import sqlalchemy as sa

from tests.http_helpers import fetch, http_cfg
from tests.security_helpers import RSS_TYPE, Listener, listener_or_none, make_world, rss_doc
from tests.server import Server
from watcher.config import HttpConfig
from watcher.http import Fetcher, check_address
from watcher.models import FetchResult, FetchStatus
from watcher.netpolicy import AddressBlocked, PinningBackend
from watcher.store import feeds as store_feeds
from watcher.store import now_utc, schema


@pytest.fixture
def lo2() -> Iterator[Listener]:
    listener = listener_or_none("127.0.0.2")
    if listener is None:
        pytest.skip("127.0.0.2 cannot be bound here")
    yield listener
    listener.stop()


@pytest.fixture
def lo6() -> Iterator[Listener | None]:
    listener = listener_or_none("::1")
    yield listener
    if listener is not None:
        listener.stop()


def spellings_of_127_0_0_2(port: int) -> list[str]:
    """The same address written the ways getaddrinfo and browsers accept."""
    return [
        f"http://127.0.0.2:{port}/",
        f"http://2130706434:{port}/",  # decimal
        f"http://0x7f000002:{port}/",  # hex
        f"http://0177.0.0.2:{port}/",  # octal
        f"http://127.2:{port}/",  # short form
        f"http://127.000.000.002:{port}/",
        f"http://[::ffff:127.0.0.2]:{port}/",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:2]:{port}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.2]:{port}/",
        f"HTTP://127.0.0.2:{port}/upper-case-scheme",
    ]


def refused(r: FetchResult) -> bool:
    """Refused by the address policy, or not even a URL httpx would request."""
    if r.status is FetchStatus.BLOCKED:
        return "allow_networks" in (r.error or "") or "scheme" in (r.error or "")
    return r.status is FetchStatus.HTTP_ERROR and "invalid URL" in (r.error or "")


def test_every_spelling_of_another_loopback_address_is_refused_unreached(
    http_server: Server, lo2: Listener
) -> None:
    cfg = http_cfg(allow_networks=("127.0.0.1",))  # the test server only
    outcomes = {url: fetch(cfg, url) for url in spellings_of_127_0_0_2(lo2.port)}
    for url, r in outcomes.items():
        assert refused(r), (url, r)
    # httpx itself rejects some spellings (octal); every other one met the address policy.
    blocked = [u for u, r in outcomes.items() if r.status is FetchStatus.BLOCKED]
    assert len(blocked) >= len(outcomes) - 2
    assert all("loopback" in (outcomes[u].error or "") for u in blocked)
    assert lo2.connections == 0 and lo2.received == b""
    # Control: the same listener is reachable once allow-listed, so the zero above means something.
    assert fetch(http_cfg(allow_networks=("127.0.0.2",)), lo2.url()).status is not FetchStatus.BLOCKED
    assert lo2.connections == 1


def test_localhost_ipv6_and_unspecified_are_refused_unreached(lo6: Listener | None) -> None:
    lo1 = Listener("127.0.0.1")
    try:
        cfg = http_cfg(allow_networks=("127.0.0.3",))  # some other loopback address only
        urls = [
            lo1.url(host="localhost"),
            lo1.url(host="LocalHost"),
            lo1.url(host="0.0.0.0"),  # Linux connects 0.0.0.0 to this host
            lo1.url(host="0"),
            lo1.url(host="[::ffff:127.0.0.1]"),
            lo1.url(host="[::]"),
        ]
        if lo6 is not None:
            urls += [lo6.url(), lo6.url(host="[0:0:0:0:0:0:0:1]")]
        for url in urls:
            r = fetch(cfg, url)
            assert refused(r), (url, r)
        assert lo1.connections == 0 and (lo6 is None or lo6.connections == 0)
        # Control: without the policy, 0.0.0.0 really does reach a listener on 127.0.0.1.
        r = fetch(http_cfg(allow_private_addresses=True), lo1.url(host="0.0.0.0"))
        assert r.status is not FetchStatus.BLOCKED and lo1.connections == 1
    finally:
        lo1.stop()


def test_allow_networks_takes_cidrs_and_host_names(lo2: Listener) -> None:
    assert fetch(http_cfg(allow_networks=("127.0.0.0/30",)), lo2.url()).status is not (FetchStatus.BLOCKED)
    lo1 = Listener("127.0.0.1")
    try:
        by_name = http_cfg(allow_networks=("localhost",))
        assert fetch(by_name, lo1.url(host="localhost")).status is not FetchStatus.BLOCKED
        assert fetch(by_name, lo2.url()).status is FetchStatus.BLOCKED  # the name, not the range
        assert fetch(by_name, lo1.url()).status is FetchStatus.BLOCKED  # nor its address
    finally:
        lo1.stop()
    assert lo2.connections == 1 and lo1.connections == 1


def test_every_redirect_hop_is_checked(http_server: Server, lo2: Listener) -> None:
    cfg = http_cfg(allow_networks=("127.0.0.1",))
    # Two allowed hops, then a refused one: the chain stops at the third, before connecting.
    http_server.route("/a", b"", status=301, headers={"Location": "/b"})
    http_server.route("/b", b"", status=302, headers={"Location": lo2.url("/meta", "2130706434")})
    r = fetch(cfg, http_server.url("/a"))
    assert r.status is FetchStatus.BLOCKED and "2130706434" in (r.error or "")
    assert http_server.hits("/a") == 1 and http_server.hits("/b") == 1
    for i, target in enumerate(
        [
            lo2.url("/x", "[::ffff:127.0.0.2]"),
            f"http://0.0.0.0:{lo2.port}/x",
            "file:///etc/passwd",
            "ftp://127.0.0.1/x",
            "gopher://127.0.0.1:70/_x",
            "dict://127.0.0.1:11211/stat",
        ]
    ):
        http_server.route(f"/r{i}", b"", status=307, headers={"Location": target})
        r = fetch(cfg, http_server.url(f"/r{i}"))
        assert refused(r), (target, r)
    assert lo2.connections == 0


class Recorder(httpcore.AsyncNetworkBackend):
    """A network backend that records where it was asked to connect and never connects."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.calls.append((host, port))
        raise httpcore.ConnectError("recorder: not connecting")


def _answers(ips: Sequence[str]) -> Any:
    async def resolve(host: str, port: int) -> Sequence[str]:
        return ips

    return resolve


NON_PUBLIC = [
    "169.254.169.254",  # cloud metadata
    "fd00:ec2::254",  # cloud metadata over IPv6
    "10.0.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.100.100.200",  # CGNAT (another cloud's metadata)
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "255.255.255.255",
    "fe80::1%1",
    "fec0::1",  # site-local
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "2002:a9fe:a9fe::1",  # 6to4 of it
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "192.0.0.8",
    "198.18.0.1",
    "2001:db8::1",
]


@pytest.mark.parametrize("ip", NON_PUBLIC)
def test_non_public_answers_are_refused_before_the_backend_connects(ip: str) -> None:
    backend = PinningBackend(HttpConfig(), resolver=_answers([ip]))
    recorder = Recorder()
    backend._inner = recorder  # type: ignore[assignment]
    with pytest.raises(AddressBlocked, match="allow_networks"):
        asyncio.run(backend.connect_tcp("feeds.example", 80))
    assert recorder.calls == []
    reason = check_address("http://feeds.example/", HttpConfig(), resolve=lambda h, p: [ip])
    assert reason and "allow_networks" in reason


def test_public_answers_reach_the_backend_pinned_to_the_checked_address() -> None:
    backend = PinningBackend(HttpConfig(), resolver=_answers(["93.184.215.14", "2606:2800::1"]))
    recorder = Recorder()
    backend._inner = recorder  # type: ignore[assignment]
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("news.example", 443))
    assert recorder.calls == [("93.184.215.14", 443), ("2606:2800::1", 443)]  # no re-resolution


def test_fetcher_refuses_a_name_resolving_to_metadata_without_connecting() -> None:
    async def go() -> tuple[FetchResult, list[tuple[str, int]]]:
        fetcher = Fetcher(HttpConfig(), resolver=_answers(["169.254.169.254"]))
        recorder = Recorder()
        fetcher._transport._backend._inner = recorder  # type: ignore[attr-defined]
        async with fetcher:
            return await fetcher.get("http://metadata.example/latest/meta-data/"), recorder.calls

    r, calls = asyncio.run(go())
    assert r.status is FetchStatus.BLOCKED and "169.254.169.254" in (r.error or "")
    assert "link-local" in (r.error or "") and calls == []


def test_pipeline_refuses_article_links_and_feeds_with_a_status(
    http_server: Server, tmp_path: Path, lo2: Listener
) -> None:
    links = [
        lo2.url("/a1"),
        lo2.url("/a2", "0x7f000002"),
        lo2.url("/a3", "[::ffff:127.0.0.2]"),
        f"http://0.0.0.0:{lo2.port}/a4",
    ]
    items = [(f"Afghan migrants in Russia, report {i}", u, "Afghan migrants.") for i, u in enumerate(links)]
    items.append(("Afghan migrants: file link", "file:///etc/passwd", "Afghan migrants in Russia."))
    http_server.route("/feed", rss_doc("Feed", items), headers=RSS_TYPE)
    world = make_world(http_server, tmp_path, ["/feed"])
    blocked_feed = lo2.url("/feed")
    store_feeds.add_feed(world.engine, blocked_feed, name="inside", now=now_utc())
    report = world.cycle()
    by_name = {f.feed: f for f in report.feeds}
    assert by_name["feed 0"].status == "ok" and by_name["feed 0"].new == len(items)
    assert by_name["inside"].status == "blocked" and "allow_networks" in (by_name["inside"].error or "")
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.entries.c.link, schema.articles.c.status, schema.articles.c.error).join(
                schema.articles, schema.articles.c.entry_id == schema.entries.c.id
            )
        ).all()
    errors = {r.link: r.error or "" for r in rows if r.link.startswith("http")}
    assert len(errors) == len(links)
    assert all("allow_networks" in e for e in errors.values()), errors
    assert all(r.status == "fallback" for r in rows)  # the feed's own text stands in
    feed = store_feeds.get_feed(world.engine, blocked_feed)
    assert feed is not None and feed.failures == 1 and "allow_networks" in (feed.last_error or "")
    assert lo2.connections == 0
    world.engine.dispose()
