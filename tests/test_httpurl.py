"""watcher.httpurl: the fetcher's own parse of plain addresses gives exactly what httpx.URL gives."""

from __future__ import annotations

import itertools
import random

import httpx
import pytest

from watcher import httpurl


def _httpx(url: str) -> tuple[object, ...]:
    """httpx's answer: the parts the fetcher uses, or the kind of error."""
    try:
        u = httpx.URL(url)
        return (u.scheme, u.host, u.port, u.raw_host, u.netloc, u.raw_path)
    except (httpx.InvalidURL, ValueError) as e:
        return ("error", type(e).__name__)


def _ours(url: str) -> tuple[object, ...]:
    try:
        t = httpurl.parse(url)
        return (t.scheme, t.host, t.port, t.raw_host, t.netloc, t.raw_path)
    except (httpx.InvalidURL, ValueError) as e:
        return ("error", type(e).__name__)


EDGES = [
    "http://example.com",
    "http://example.com/",
    "https://Example.COM/a/b.html?x=1&y=2",
    "HTTPS://example.com/A%20b",
    "http://example.com:8080/p",
    "http://example.com:80/p",  # the default port: dropped
    "https://example.com:443/",
    "https://example.com:0443/",
    "http://example.com:0/",
    "http://example.com:99999/",
    "http://example.com:/",
    "http://127.0.0.1:8000/feed.xml",
    "http://127.0.0.1/",
    "http://999.1.1.1/",  # not an IPv4 address
    "http://01.2.3.4/",
    "http://0.0.0.0/",
    "http://255.255.255.255/",
    "http://256.1.1.1/",
    "http://1.2.3.04/",
    "http://10.250.199.9:81/",
    "http://1.2.3/",
    "http://[::1]:8080/x",
    "http://user:pw@example.com/",
    "http://example.com/a/./b",
    "http://example.com/a/../b",
    "http://example.com/a/..",
    "http://example.com/a/.",
    "http://example.com/a/.b/..c/",
    "http://example.com/.well-known/x",
    "http://example.com/a?b/../c",
    "http://example.com/a#frag",
    "http://example.com/a?",
    "http://example.com?q=1",
    "http://example.com/a b",
    "http://example.com/a\tb",
    'http://example.com/a"b',
    "http://example.com/a<b>",
    "http://example.com/a`b",
    "http://example.com/a{b}",
    "http://example.com/a?b`c{d}|e^f[g]\\h",
    "http://example.com/a|b^c[d]\\e~f",
    "http://example.com/a%zz",
    "http://example.com/ä",
    "http://bücher.example/",
    "http://xn--bcher-kva.example/",
    "http://xn--/",
    "http://a.xn--nxasmq6b/",
    "http://a..b/",
    "http://a./",
    "http://-a/",
    "http://a_b.example/",
    "ftp://example.com/",
    "http:/example.com/",
    "http:example.com",
    "//example.com/",
    "http://",
    "http:///path",
    "http://exa mple.com/",
]


@pytest.mark.parametrize("url", EDGES)
def test_same_parts_or_error_as_httpx(url: str) -> None:
    assert _ours(url) == _httpx(url)


def test_random_addresses_match_httpx() -> None:
    """Addresses assembled from pieces that each bend one rule httpx applies."""
    rnd = random.Random(16)
    schemes = ["http", "https", "HTTP", "Https", "ftp"]
    hosts = ["a.example", "A.Example", "127.0.0.1", "300.0.0.1", "xn--p1ai", "b-c.d", "h_st", "[::1]", "é.fr"]
    ports = ["", ":80", ":443", ":8080", ":0", ":", ":65536", ":0080"]
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + ["é", "\x00", "/", "/./", "/../", "%41"]
    checked = 0
    for scheme, host, port in itertools.product(schemes, hosts, ports):
        for _ in range(6):
            path = "/" + "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 12)))
            url = f"{scheme}://{host}{port}{path}"
            assert _ours(url) == _httpx(url), url
            checked += 1
    assert checked == len(schemes) * len(hosts) * len(ports) * 6


def test_plain_addresses_take_the_short_path() -> None:
    """The addresses feeds hand out are read without httpx (what the module is for)."""
    for url in ("https://news.example.org/2026/12/01/story-name.html?utm=x&id=3",
                "http://127.0.0.1:39871/p/12/3"):  # fmt: skip
        m = httpurl._SIMPLE.fullmatch(url)
        assert m is not None and httpurl._simple(url, m) is not None, url


def test_numeric_hosts_match_httpx() -> None:
    """IPv4-looking hosts: httpx accepts exactly what ipaddress accepts (no octet over 255, no
    leading zero); the short path must agree on every one."""
    rnd = random.Random(4)
    octets = ["0", "00", "01", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "300"]
    for _ in range(3000):
        host = ".".join(rnd.choice([*octets, str(rnd.randrange(0, 300))]) for _ in range(4))
        url = f"http://{host}:8080/x"
        assert _ours(url) == _httpx(url), url
