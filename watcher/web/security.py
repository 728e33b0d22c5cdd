"""The review page's guards: the access token, the Host check, CSRF tokens, strict response headers.

* Off loopback every request needs the token (``Authorization: Bearer``, the cookie it sets, or
  ``?token=`` once, which sets the cookie and redirects to the same page without it).
* On loopback without a token, only requests naming a loopback host are served (a DNS-rebinding page
  on another site cannot reach the server through its own name).
* Every POST carries the CSRF token of the page that rendered its form (checked in ``form()``).
* No script runs: the Content-Security-Policy allows none; the stored copy of a page is sandboxed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData, Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "watcher_token"
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """The host of a Host header (``127.0.0.1:8765``, ``[::1]:8765``, ``localhost``)."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class Guard:
    """ASGI middleware: token, Host check, security headers."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _with_headers(refusal)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode().lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        if self.token is None:
            if not is_loopback(_host_name(headers.get("host", ""))):
                return PlainTextResponse("watcher: this server answers to 127.0.0.1 only\n", 421)
            return None
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and same(bearer[7:].strip(), self.token):
            return None
        if same(Request(scope).cookies.get(TOKEN_COOKIE), self.token):
            return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = dict(query).get("token")
        if given is not None and same(given, self.token) and scope["method"] == "GET":
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        return PlainTextResponse(
            "watcher: this server needs its token: open it once as /?token=TOKEN\n", 401
        )


def _with_headers(response: Response) -> Response:
    for k, v in HEADERS.items():
        response.headers.setdefault(k, v)
    return response


class CsrfError(Exception):
    """A POST without the page's CSRF token (or from another site)."""


async def form(request: Request, csrf: str) -> FormData:
    """The POSTed form once its CSRF token and origin check out; else ``CsrfError``."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = origin.split("://", 1)[-1]
        if host != request.headers.get("host"):
            raise CsrfError(f"a form from {origin} is not accepted")
    data = await request.form()
    value = data.get("csrf")
    if not isinstance(value, str) or not same(value, csrf):
        raise CsrfError("the form's CSRF token is missing or stale: reload the page")
    return data


def field(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""
