"""Render a ``Digest``: Markdown, HTML, text (Jinja2 templates), JSON, Atom (feedgen), subject.

Templates are looked up first in the user's ``[digest] templates`` folder, then in the bundled
``watcher/templates``; a user file with the same name (``digest.html.j2`` …) replaces the bundled
one.  Every string from a feed is untrusted: the digest model already drops control characters,
line breaks and non-http(s) URLs; here HTML is autoescaped, Markdown goes through ``md_escape``,
JSON escapes ``<>&`` too, and feedgen escapes XML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from feedgen.feed import FeedGenerator

from .digest import Digest, Item, clean, safe_url, to_dict

FORMATS = ("markdown", "html", "text", "json", "atom")
EXTENSIONS = {"markdown": "md", "html": "html", "text": "txt", "json": "json", "atom": "atom"}
_TEMPLATES = {"markdown": "digest.md.j2", "html": "digest.html.j2", "text": "digest.txt.j2"}
# Characters with a meaning somewhere in CommonMark / GFM inline syntax, escaped with a backslash.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")
_MD_LINE_START = re.compile(r"^(\s*)([-=>])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")


def md_escape(text: object) -> str:
    """Escape text for Markdown so it is shown literally (no links, images, HTML or emphasis)."""
    s = clean(str(text))
    s = _MD_SPECIAL.sub(r"\\\1", s)
    # Neutralise scheme-like words so no viewer auto-links them (javascript:, data:, even http:).
    s = re.sub(r"(?i)\b(javascript|vbscript|data|file|https?|ftp|mailto|www)(:|\.)", r"\1\\\2", s)
    s = _MD_ORDERED.sub(r"\1\\\2", s)
    return _MD_LINE_START.sub(r"\1\\\2", s)


def md_url(url: str) -> str:
    """A URL fit for a Markdown link destination: http(s) only, parentheses and spaces encoded."""
    u = safe_url(url)
    # A backslash would escape the next character inside a CommonMark link destination.
    return u.replace("\\", "%5C").replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def plural(n: int, word: str) -> str:
    """'1 feed', '3 feeds'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def make_env(templates: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment over the user's folder (if any) then the bundled templates."""
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders.append(jinja2.PackageLoader("watcher", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: name is not None and (".html" in name or ".xml" in name),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["mdurl"] = md_url
    env.filters["url"] = safe_url
    env.filters["clean"] = clean
    env.filters["score"] = lambda s: f"{float(s):.2f}"
    env.filters["plural"] = plural
    return env


def _local(tz: str) -> object:
    zone = ZoneInfo(tz)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "" if value is None else value.astimezone(zone).strftime(fmt)

    return local


def context(digest: Digest) -> dict[str, object]:
    """What every template sees."""
    return {
        "digest": digest,
        "sections": digest.sections,
        "health": digest.health,
        "stats": digest.stats,
        "local": _local(digest.timezone),
        "date": digest.created_at.astimezone(ZoneInfo(digest.timezone)).strftime("%Y-%m-%d"),
        "tz": digest.timezone,
    }


def render_template(env: jinja2.Environment, fmt: str, digest: Digest) -> str:
    return env.get_template(_TEMPLATES[fmt]).render(**context(digest))


def render_json(digest: Digest) -> str:
    """The digest as JSON; <, > and & are \\u-escaped so the text is safe even inside HTML."""
    text = json.dumps(to_dict(digest), ensure_ascii=False, indent=2, sort_keys=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _atom_text(item: Item) -> str:
    lines = [" ".join(item.summary)] if item.summary else []
    lines.append(
        f"Score {item.score:.2f}. Why: {item.why}" if item.why else f"Score {item.score:.2f}."
    )
    if item.also:
        lines.append(
            "Also reported by "
            + ", ".join(f"{c.source} ({c.time:%Y-%m-%d %H:%M} UTC)" for c in item.also)
        )
    return "\n\n".join(lines)


def render_atom(
    items: Iterable[Item], *, feed_id: str, title: str, updated: datetime, self_url: str = ""
) -> str:
    """An Atom feed of items (most recent first), for any feed reader."""
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(clean(title) or "watcher")
    fg.author({"name": "watcher"})
    fg.updated(updated)
    fg.generator("watcher")
    if safe_url(self_url):
        fg.link(href=safe_url(self_url), rel="self")
    for item in items:
        fe = fg.add_entry(order="append")
        fe.id(f"urn:watcher:match:{item.match_id}")
        fe.title(item.title or "(untitled)")
        if item.url:
            fe.link(href=item.url, rel="alternate")
        fe.updated(item.time)
        fe.published(item.time)
        fe.author({"name": item.source or "unknown"})
        fe.category(term=item.topic)
        fe.content(_atom_text(item), type="text")  # content, not summary: valid without a link
    return str(fg.atom_str(pretty=True).decode("utf-8"))


def subject(digest: Digest, template: str) -> str:
    """The e-mail subject: the configured template ({date}, {count}, {top}, {topics}), one line."""
    ctx = context(digest)
    if digest.empty:
        s = digest.stats
        return clean(
            f"watcher {ctx['date']}: nothing new ({plural(s.feeds, 'feed')} polled, "
            f"{plural(s.errors, 'error')})"
        )
    items = sorted(
        (it for sec in digest.sections for it in sec.items + sec.more), key=lambda it: -it.score
    )
    top = items[0].title if items else ""
    values: Mapping[str, object] = {
        "date": ctx["date"],
        "count": digest.count,
        "top": top[:100] + ("…" if len(top) > 100 else ""),
        "topics": ", ".join(sec.topic for sec in digest.sections),
    }
    try:
        text = template.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError):
        text = "watcher digest {date}: {count} new".format_map(values)
    return clean(text)


def render(env: jinja2.Environment, fmt: str, digest: Digest) -> str:
    """One format of one digest (atom: the digest's own items; the rolling feed is separate)."""
    if fmt == "json":
        return render_json(digest)
    if fmt == "atom":
        items = [it for sec in digest.sections for it in sec.all_items]
        return render_atom(
            items,
            feed_id=f"urn:watcher:digest:{digest.id}",
            title="watcher digest",
            updated=digest.created_at,
        )
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown digest format {fmt!r}")
    return render_template(env, fmt, digest)
