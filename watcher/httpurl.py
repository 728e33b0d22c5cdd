"""The address of one GET, parsed once: what the fetcher's gates, guard and connections need.

``httpx.URL`` costs ~0.15 ms of CPU per call (it checks every character for control codes,
percent-quotes each component, normalises the path), once per article page (issue 16).  Most
addresses a feed hands out are plain ASCII that httpx would return unchanged: ``http(s)://``, a
lowercase-able host name or IPv4 address, an optional port, and a path and query made only of
characters httpx leaves as they are, with no dot segments.  Those are read here by one regular
expression; anything else (a fragment, user info, IPv6, an IDNA or ``xn--`` name, a character httpx
would quote, a default port, a dot segment) goes through ``httpx.URL`` itself, so the result (and
any error: ``httpx.InvalidURL``, ``ValueError`` from IDNA) is httpx's.  tests/test_httpurl.py
compares the two on every shape of address it can think of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

_DEFAULT_PORT = {"http": 80, "https": 443}
# Characters httpx keeps as they are: in a path, printable ASCII but space " # < > ? ` { };
# in a query, printable ASCII but space " # < >.
_PATH = r"[!$-;=@-_a-z|~]"  # 0x21, 0x24-0x3B, 0x3D, 0x40-0x5F, 0x61-0x7A, 0x7C, 0x7E
_QUERY = r"[!$-;=?-~]"  # 0x21, 0x24-0x3B, 0x3D, 0x3F-0x7E
_SIMPLE = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    rf"(?P<path>/{_PATH}*)?"
    rf"(?:\?(?P<query>{_QUERY}*))?"
)
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")  # httpx's test for an IPv4 host
# What ipaddress.IPv4Address (httpx's check) accepts: four octets 0-255, no leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed http(s) address, as ``httpx.URL`` would give its parts."""

    text: str  # the address as given (an injected httpx transport parses it again)
    scheme: str  # "http" or "https", lowercase (others only from the httpx path)
    host: str  # the host name, IDNA-decoded, as httpx.URL.host
    port: int | None  # None for the scheme's default port
    raw_host: bytes
    netloc: bytes
    raw_path: bytes  # path (at least "/") and "?query"

    @property
    def raw_scheme(self) -> bytes:
        return self.scheme.encode("ascii")


def parse(url: str) -> Target:
    """The parts of ``url``; raises what ``httpx.URL`` raises for an address it rejects."""
    m = _SIMPLE.fullmatch(url)
    if m is not None:
        found = _simple(url, m)
        if found is not None:
            return found
    return from_httpx(url, httpx.URL(url))


def from_httpx(text: str, u: httpx.URL) -> Target:
    return Target(text, u.scheme, u.host, u.port, u.raw_host, u.netloc, u.raw_path)


def _simple(url: str, m: re.Match[str]) -> Target | None:
    scheme, host, port_text, path, query = m.group("scheme", "host", "port", "path", "query")
    scheme, host = scheme.lower(), host.lower()
    if "xn--" in host:
        return None  # httpx decodes (and may reject) IDNA names: let it
    if _IPV4_STYLE.fullmatch(host) and not _IPV4.fullmatch(host):
        return None  # httpx raises its own error
    port: int | None = None
    if port_text is not None:
        port = int(port_text)
        if port == _DEFAULT_PORT[scheme]:
            return None  # httpx drops it from the netloc
    path = path or "/"
    if "/." in path and _DOT_SEGMENT.search(path):
        return None  # httpx removes dot segments
    netloc = f"{host}:{port}" if port is not None else host
    raw_path = path if query is None else f"{path}?{query}"
    return Target(
        url, scheme, host, port, host.encode("ascii"), netloc.encode("ascii"),
        raw_path.encode("ascii"),
    )  # fmt: skip
