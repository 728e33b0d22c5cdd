"""Which addresses the watcher may connect to, and a network backend that connects only to those.

A feed URL comes from config, from an OPML file or from a web page's ``<link rel="alternate">``;
without a policy any of them could point the watcher at the cloud metadata service
(169.254.169.254), at the machine itself or at the office network (server-side request forgery).
Unless ``http.allow_private_addresses`` is true, a host whose address is loopback, private,
link-local, multicast, reserved, unspecified or otherwise not globally routable is refused;
``http.allow_networks`` (CIDRs or host names) opens exceptions.  The check runs on the *resolved*
addresses, so decimal (``2130706433``), hex (``0x7f000001``), octal and IPv4-mapped IPv6
(``::ffff:127.0.0.1``) spellings are caught like any other name.  ``PinningBackend`` resolves,
checks and then connects to the checked address itself, so a DNS answer that changes between check
and connect (rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore

from .aionet import AsyncioBackend
from .config import HttpConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# An async resolver: (host, port) -> IP address strings.  Tests inject a fake one.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not global, but not flagged by every Python's ipaddress (3.11 misses these): site-local IPv6
# (deprecated, still routed inside some networks), IETF protocol assignments, documentation.
_ALSO_NON_GLOBAL = tuple(
    ipaddress.ip_network(n) for n in ("fec0::/10", "192.0.0.0/24", "3fff::/20", "2001:db8::/32")
)


class AddressBlocked(Exception):
    """The address policy refused a host; raised by the backend before any packet is sent."""


def classify(ip: IPAddress) -> str | None:
    """Why an address is not public (e.g. "loopback"), or None if it is globally routable."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = classify(embedded)
            return f"{inner} (embedded in {ip})" if inner else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    )
    for name, hit in checks:
        if hit:
            return name
    if not ip.is_global or any(ip in net for net in _ALSO_NON_GLOBAL):
        return "non-global"
    return None


def _networks(cfg: HttpConfig) -> tuple[list[Network], set[str]]:
    nets: list[Network] = []
    names: set[str] = set()
    for item in cfg.allow_networks:
        try:
            nets.append(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            names.add(item.lower().rstrip("."))
    return nets, names


def _name_allowed(host: str, names: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == n or (n.startswith(".") and host.endswith(n)) for n in names)


def check_ips(
    host: str,
    ips: Sequence[str],
    cfg: HttpConfig,
    allowed: tuple[list[Network], set[str]] | None = None,
) -> str | None:
    """None if every address of host may be contacted, else one line saying why not."""
    if cfg.allow_private_addresses:
        return None
    nets, names = allowed or _networks(cfg)
    if _name_allowed(host, names):
        return None
    if not ips:
        return f"{host} has no address"
    for text in ips:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if any(ip in net for net in nets):
            continue
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if mapped and any(mapped in net for net in nets):
            continue
        reason = classify(ip)
        if reason:
            shown = host if host == text else f"{host} ({text})"
            return f"{shown} is a {reason} address; set http.allow_networks to allow it"
    return None


def _host_port(url: str) -> tuple[str, int] | str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        return f"invalid URL {url!r}: {e}"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme or '(none)'!r} is not allowed"
    if not parts.hostname:
        return f"invalid URL {url!r}: no host"
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_address(
    url: str, cfg: HttpConfig, *, resolve: Callable[[str, int], Sequence[str]] | None = None
) -> str | None:
    """None if the URL may be fetched, else the reason; resolves the host but never connects."""
    hp = _host_port(url)
    if isinstance(hp, str):
        return hp
    host, port = hp
    if cfg.allow_private_addresses:
        return None
    try:
        ips = (resolve or _getaddrinfo)(host, port)
    except (OSError, UnicodeError) as e:
        return f"cannot resolve {host}: {e}"
    return check_ips(host, ips, cfg)


async def _default_resolver(host: str, port: int) -> Sequence[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class PinningBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked address (never re-resolving)."""

    def __init__(self, cfg: HttpConfig, resolver: Resolver | None = None) -> None:
        self._cfg = cfg
        self._allowed = _networks(cfg)
        self._resolve = resolver or _default_resolver
        self._custom_resolver = resolver is not None
        self._inner = AsyncioBackend()  # plain asyncio: a third cheaper than AnyIO (issue 16)

    async def _addresses(self, host: str, port: int) -> list[str]:
        if not self._custom_resolver:
            try:  # an address literal needs no lookup (and no trip to the resolver's thread)
                return [str(ipaddress.ip_address(host.strip("[]")))]
            except ValueError:
                pass
        return list(await self._resolve(host, port))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            ips = await self._addresses(host, port)
        except (OSError, UnicodeError) as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        reason = check_ips(host, ips, self._cfg, self._allowed)
        if reason:
            raise AddressBlocked(reason)
        error: Exception | None = None
        for ip in dict.fromkeys(ips):  # in resolver order, each address once
            try:
                return await self._inner.connect_tcp(
                    ip, port, timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressBlocked("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
