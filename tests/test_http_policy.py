"""The address policy: refusals proven on loopback only, other ranges by classification only.

No test here sends a packet anywhere but 127.0.0.1: non-loopback addresses appear only as answers of
a fake resolver to ``check_address``, or as answers that the policy refuses before connecting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tests.http_helpers import fetch, http_cfg, rss
from tests.server import Server
from watcher.bodies import parse_retry_after
from watcher.config import HttpConfig
from watcher.http import Fetcher, check_address
from watcher.models import FetchResult, FetchStatus
from watcher.netpolicy import classify

STRICT = HttpConfig(min_host_gap=0.0, connect_timeout=1.0, read_timeout=1.0)


def fake(ips: Sequence[str]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return ips

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    ("ip", "kind"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-global"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:c0a8:0101::1", "private"),
    ],
)
def test_non_public_addresses_are_refused(ip: str, kind: str) -> None:
    reason = check_address("http://feeds.example/rss", STRICT, resolve=fake([ip]))
    assert reason is not None and kind in reason and "allow_networks" in reason


@pytest.mark.parametrize(
    "ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(ip: str) -> None:
    assert check_address("https://feeds.example/rss", STRICT, resolve=fake([ip])) is None


def test_one_bad_answer_among_good_ones_refuses() -> None:
    reason = check_address("http://mixed.example/", STRICT, resolve=fake(["8.8.8.8", "10.0.0.1"]))
    assert reason and "10.0.0.1" in reason


def test_allow_networks_opens_exceptions() -> None:
    cfg = HttpConfig(allow_networks=("10.0.0.0/8", "intranet.example", ".corp.example"))
    assert check_address("http://a.example/", cfg, resolve=fake(["10.9.9.9"])) is None
    assert check_address("http://a.example/", cfg, resolve=fake(["192.168.0.1"])) is not None
    assert check_address("http://intranet.example/", cfg, resolve=fake(["192.168.0.1"])) is None
    assert check_address("http://wiki.corp.example/", cfg, resolve=fake(["192.168.0.1"])) is None
    assert (
        check_address("http://corp.example.evil/", cfg, resolve=fake(["192.168.0.1"])) is not None
    )
    assert check_address("http://x.example/", cfg, resolve=fake(["::ffff:10.1.1.1"])) is None


def test_allow_private_addresses_allows_all() -> None:
    cfg = HttpConfig(allow_private_addresses=True)
    assert check_address("http://a.example/", cfg, resolve=fake(["10.0.0.1"])) is None


@pytest.mark.parametrize(
    "url", ["ftp://example.org/f", "file:///etc/passwd", "gopher://x/", "//x/y"]
)
def test_only_http_and_https(url: str) -> None:
    reason = check_address(url, HttpConfig(allow_private_addresses=True), resolve=fake(["8.8.8.8"]))
    assert reason and "scheme" in reason


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::1]"]
)
def test_loopback_spellings_resolve_and_are_refused(host: str) -> None:
    # Real resolution (getaddrinfo) of loopback spellings; nothing is connected.
    reason = check_address(f"http://{host}:9/feed", STRICT)
    assert reason is not None and "loopback" in reason


def test_classify_public() -> None:
    import ipaddress

    assert classify(ipaddress.ip_address("1.1.1.1")) is None


# ---- the Fetcher refuses before connecting (the server counts every request) ----


@pytest.mark.parametrize(
    "host", ["127.0.0.2", "localhost", "0.0.0.0", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]"]
)
def test_fetcher_blocks_loopback_spellings(http_server: Server, host: str) -> None:
    http_server.route("/feed", rss([("a", "A")]))
    r = fetch(STRICT, f"http://{host}:{http_server.port}/feed")
    assert r.status is FetchStatus.BLOCKED and r.error and "allow_networks" in r.error
    assert http_server.requests == []


def test_fetcher_blocks_ipv6_loopback() -> None:
    r = fetch(STRICT, "http://[::1]:9/feed")
    assert r.status is FetchStatus.BLOCKED


def test_fetcher_blocks_non_http_scheme() -> None:
    r = fetch(STRICT, "file:///etc/passwd")
    assert r.status is FetchStatus.BLOCKED and "scheme" in (r.error or "")


def test_allowlisted_loopback_is_fetched(http_server: Server) -> None:
    url = http_server.route("/feed", rss([("a", "A")]))
    assert fetch(http_cfg(allow_networks=("127.0.0.1",)), url).status is FetchStatus.OK
    assert (
        fetch(http_cfg(allow_networks=(), allow_private_addresses=True), url).status
        is FetchStatus.OK
    )


def test_redirect_to_blocked_address_is_refused(http_server: Server) -> None:
    target = f"http://127.0.0.2:{http_server.port}/feed"
    http_server.route("/feed", rss([("a", "A")]))
    start = http_server.route("/jump", b"", status=302, headers={"Location": target})
    r = fetch(http_cfg(allow_networks=("127.0.0.1",)), start)
    assert r.status is FetchStatus.BLOCKED and "127.0.0.2" in (r.error or "")
    assert http_server.hits("/feed") == 0


def _fetch_with_resolver(
    cfg: HttpConfig, url: str, answers: list[list[str]]
) -> tuple[FetchResult, int]:
    calls = 0

    async def resolver(host: str, port: int) -> Sequence[str]:
        nonlocal calls
        calls += 1
        return answers[min(calls, len(answers)) - 1]

    async def go() -> FetchResult:
        async with Fetcher(cfg, resolver=resolver) as f:
            return await f.get(url)

    return asyncio.run(go()), calls


def test_connection_is_pinned_to_the_checked_address(http_server: Server) -> None:
    # "feeds.test" exists only in the fake resolver: reaching the server proves the backend
    # connected to the address it checked rather than resolving the name again.
    http_server.route("/feed", rss([("a", "A")]))
    cfg = http_cfg(allow_networks=("127.0.0.1",))
    r, calls = _fetch_with_resolver(
        cfg, f"http://feeds.test:{http_server.port}/feed", [["127.0.0.1"]]
    )
    assert r.status is FetchStatus.OK and calls == 1
    assert http_server.requests[-1][2]["Host"] == f"feeds.test:{http_server.port}"


def test_rebinding_answer_is_refused_without_connecting(http_server: Server) -> None:
    http_server.route("/feed", rss([("a", "A")]))
    cfg = http_cfg(allow_networks=("127.0.0.1",))
    r, _ = _fetch_with_resolver(cfg, f"http://rebind.test:{http_server.port}/feed", [["127.0.0.2"]])
    assert r.status is FetchStatus.BLOCKED and http_server.requests == []


def test_unresolvable_host_is_connection_error() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    async def go() -> FetchResult:
        async with Fetcher(STRICT, resolver=resolver) as f:
            return await f.get("http://nowhere.test/feed")

    r = asyncio.run(go())
    assert r.status is FetchStatus.CONNECTION_ERROR and "nowhere.test" in (r.error or "")


def test_parse_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == now + timedelta(seconds=30)
    assert parse_retry_after("Wed, 01 May 2024 13:00:00 GMT", now) == now + timedelta(hours=1)
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == now  # past: retry now
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
