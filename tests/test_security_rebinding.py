"""DNS rebinding, end to end: a name that answers a public address first and a loopback one next.

A resolver the test controls (injected where the address guard resolves, ``netpolicy``) answers
``93.184.215.14`` on a name's first lookup and ``127.0.0.2`` on its next; ``127.0.0.2`` is not
allow-listed (only ``127.0.0.1`` is) and a listener there counts any connection.  A fake network
under the guard records every address actually connected to: the "public" one is routed to the
local test server (so the first fetch works and no packet leaves the machine), and any other
non-loopback address is refused.  For the feed, a redirect hop and an article link: the first poll
goes to the checked public answer, the next is refused on the loopback answer, and 127.0.0.2 never
sees a connection.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpcore
import pytest
import sqlalchemy as sa

from tests.security_helpers import HTML_TYPE, RSS_TYPE, Listener, listener_or_none, make_world, rss_doc
from tests.server import Server
from watcher import netpolicy
from watcher.aionet import AsyncioBackend
from watcher.store import feeds as store_feeds
from watcher.store import now_utc, schema

PUBLIC = "93.184.215.14"  # never connected to: the fake network routes it to the test server
INSIDE = "127.0.0.2"


class RebindingDns:
    """Per name: the public address on odd lookups, the loopback one on even lookups."""

    def __init__(self) -> None:
        self.lookups: Counter[str] = Counter()
        self.answers: list[tuple[str, str]] = []  # (name, address) in the order given

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]  # literals are not looked up
        except ValueError:
            pass
        if not host.endswith(".rebind.test"):
            raise OSError(f"test resolver: {host} is not resolved (tests send no DNS queries)")
        self.lookups[host] += 1
        ip = PUBLIC if self.lookups[host] % 2 else INSIDE
        self.answers.append((host, ip))
        return [ip]


class FakeNet:
    """Under the guard: records each address connected to; routes PUBLIC to the local server."""

    def __init__(self, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        self.connected: list[str] = []
        real = AsyncioBackend.connect_tcp  # the network backend under the guard (watcher.aionet)
        net = self

        async def connect_tcp(
            backend: AsyncioBackend, host: str, port: int, *args: Any, **kw: Any
        ) -> httpcore.AsyncNetworkStream:
            net.connected.append(host)
            if host == PUBLIC:
                host, port = "127.0.0.1", net.server.port
            elif not ipaddress.ip_address(host).is_loopback:
                raise httpcore.ConnectError(f"test network: {host} is not loopback, not connected")
            return await real(backend, host, port, *args, **kw)

        monkeypatch.setattr(AsyncioBackend, "connect_tcp", connect_tcp)


@pytest.fixture
def lo2() -> Iterator[Listener]:
    listener = listener_or_none(INSIDE)
    if listener is None:
        pytest.skip(f"{INSIDE} cannot be bound here")
    yield listener
    listener.stop()


def _article_rows(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.entries.c.link, schema.articles.c.status, schema.articles.c.error).join(
                schema.articles, schema.articles.c.entry_id == schema.entries.c.id
            )
        ).all()
    return {r.link: r for r in rows}


def test_a_rebinding_name_never_reaches_the_loopback_answer(
    http_server: Server, tmp_path: Path, lo2: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = RebindingDns()
    monkeypatch.setattr(netpolicy, "_default_resolver", dns.resolve)
    net = FakeNet(http_server, monkeypatch)
    port = lo2.port  # every rebinding URL names the inside listener's port

    # the feed itself on a rebinding name
    feed_url = f"http://feed.rebind.test:{port}/direct"
    http_server.route("/direct", rss_doc("Direct", [("Direct one", "", "text")]), headers=RSS_TYPE)
    # a feed whose redirect hop is a rebinding name
    http_server.route("/jump", b"", status=302, headers={"Location": f"http://hop.rebind.test:{port}/hopped"})
    http_server.route("/hopped", rss_doc("Hopped", [("Hopped one", "", "text")]), headers=RSS_TYPE)
    # a feed whose article links are on a rebinding name
    http_server.route(
        "/a", "<html><body><article><p>" + "Afghan migrants. " * 40 + "</p></article>", headers=HTML_TYPE
    )
    http_server.route(
        "/b", "<html><body><article><p>" + "Afghan refugees. " * 40 + "</p></article>", headers=HTML_TYPE
    )
    link_a, link_b = f"http://art.rebind.test:{port}/a", f"http://art.rebind.test:{port}/b"
    http_server.route("/links", rss_doc("Links", [("Story A", link_a, "Afghan migrants")]), headers=RSS_TYPE)

    world = make_world(http_server, tmp_path, ["/jump", "/links"])
    store_feeds.add_feed(world.engine, feed_url, name="direct", now=now_utc())

    first = {f.feed: f for f in world.cycle().feeds}
    assert (first["direct"].status, first["direct"].new) == ("ok", 1)
    assert (first["feed 0"].status, first["feed 0"].new) == ("ok", 1)  # through the hop
    assert first["feed 1"].status == "ok" and _article_rows(world.engine)[link_a].status == "ok"
    assert sorted(dns.answers) == sorted(
        [(h, PUBLIC) for h in ("feed.rebind.test", "hop.rebind.test", "art.rebind.test")]
    )

    http_server.route(
        "/links",
        rss_doc("Links", [("Story A", link_a, "x"), ("Story B", link_b, "Afghan refugees")]),
        headers=RSS_TYPE,
    )
    second = {f.feed: f for f in world.cycle().feeds}
    assert second["direct"].status == "blocked" and INSIDE in (second["direct"].error or "")
    assert second["feed 0"].status == "blocked" and INSIDE in (second["feed 0"].error or "")
    assert second["feed 1"].status == "ok"
    b = _article_rows(world.engine)[link_b]
    assert b.status == "fallback" and INSIDE in (b.error or "")  # the feed's own text stands in
    assert {ip for _, ip in dns.answers[3:]} == {INSIDE}

    # The guard decided on the address actually connected to: each rebinding name was connected
    # to once, at its checked public answer; the loopback answer was never connected to.
    assert Counter(net.connected)[PUBLIC] == 3
    assert INSIDE not in net.connected and lo2.connections == 0
    assert set(net.connected) <= {PUBLIC, "127.0.0.1"}
    world.engine.dispose()
