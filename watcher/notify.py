"""I/O: one message to one Apprise URL (Apprise stays inside this module; issue 15).

Each target gets the body in the format it reads (its plugin's first declared format), already
escaped by ``alert_message``; Apprise is told that format so it converts nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import apprise

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    error: str = ""


def target_key(url: str) -> str:
    """A stable id for a target that does not reveal its URL (which holds tokens)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _format(plugin: object, url: str) -> str:
    """The target's format: the URL's ``?format=`` if given, else the plugin's first declared one."""
    declared = getattr(plugin, "notify_format", "text")
    listed = declared if isinstance(declared, tuple | list) else [declared]
    formats = [str(getattr(f, "value", f)) for f in listed]
    try:
        asked = parse_qs(urlsplit(url).query).get("format", [""])[-1].lower()
    except ValueError:
        asked = ""
    value = asked if asked in formats else (formats[0] if formats else "text")
    return value if value in ("text", "markdown", "html") else "text"


def check(url: str) -> str | None:
    """None if Apprise understands the URL, else why not (without echoing the URL)."""
    return None if apprise.Apprise.instantiate(url) is not None else "not an Apprise URL it knows"


def send(url: str, title: str, body: Callable[[str], str]) -> Sent:
    """Notify one target; ``body(fmt)`` renders the message for the target's format."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return Sent(False, "not an Apprise URL it knows (see https://github.com/caronc/apprise/wiki)")
    fmt = _format(plugin, url)
    target = apprise.Apprise()
    target.add(plugin)
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        try:
            ok = bool(target.notify(body=body(fmt), title=title, body_format=fmt))
        except Exception as e:  # a plugin bug must not stop the other targets
            log.debug("apprise raised", exc_info=True)
            return Sent(False, f"{type(e).__name__}: {e}")
        text = captured.getvalue() if hasattr(captured, "getvalue") else ""
    if ok:
        return Sent(True)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return Sent(False, " / ".join(lines[-2:])[:500] or "the service did not accept the message")
