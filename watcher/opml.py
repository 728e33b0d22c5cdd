"""Pure: OPML 2.0 subscription lists in and out (``watcher feeds import`` / ``export``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from .errors import WatcherError
from .models import Feed


class OpmlError(WatcherError):
    """The file is not an OPML subscription list."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str = ""
    category: str = ""


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds (outlines with an http(s) ``xmlUrl``) of an OPML document, nested ones included."""
    if b"<!ENTITY" in data[:65536].upper():
        # No DTD entities in a subscription list: refuse rather than expand them.
        raise OpmlError("the OPML file declares entities; refusing to expand them")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise OpmlError(f"not an OPML file: {e}") from e
    if root.tag != "opml" or root.find("body") is None:
        raise OpmlError(f"not an OPML file: the root element is <{root.tag}>, not <opml>")
    found: dict[str, OpmlFeed] = {}

    def walk(node: ET.Element, category: str) -> None:
        for child in node.findall("outline"):
            url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
            name = (child.get("title") or child.get("text") or "").strip()
            if url and _scheme(url) in ("http", "https") and url not in found:
                found[url] = OpmlFeed(url, name, category)
            walk(child, name if not url else category)

    body = root.find("body")
    assert body is not None
    walk(body, "")
    return list(found.values())


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme
    except ValueError:  # "http://[oops": not a feed anyone can fetch
        return ""


def render_opml(feeds: Sequence[Feed], *, now: datetime, title: str = "watcher feeds") -> bytes:
    """An OPML 2.0 document listing the feeds (their current URLs, after permanent moves)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.name or feed.title or feed.fetch_url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.fetch_url)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
