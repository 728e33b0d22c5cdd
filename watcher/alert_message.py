"""Pure: matches -> one alert message (title and a body per format), strangers' text escaped (issue 15).

Titles, site names, reasons and links come from strangers.  Each body is written in the format its
target reads — plain text, Markdown or HTML — and escaped for that format here, so that Apprise
passes it through unconverted: no markup, link or control character of theirs reaches the reader.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlsplit

from .digest import clean
from .models import StoredMatch

FORMATS = ("text", "markdown", "html")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~^=:\"'$&%@])")
TITLE_CHARS = 120
WHY_CHARS = 300


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One match as alerted: what the reader needs to decide whether to open it."""

    match_id: int
    topic: str
    score: float
    title: str
    source: str
    why: str
    url: str


@dataclass(frozen=True, slots=True)
class AlertMessage:
    id: str
    items: tuple[AlertItem, ...]

    @property
    def title(self) -> str:
        """Our words and the topic names only: some targets put the title into markup unescaped.

        The headline leads the body, which is what a push notification shows under the title.
        """
        topics = ", ".join(dict.fromkeys(i.topic for i in self.items))
        n = len(self.items)
        return _cut(f"watcher: {n} new match{'es' if n != 1 else ''} — {topics}", TITLE_CHARS)

    def body(self, fmt: str) -> str:
        render = {"text": _text, "markdown": _markdown, "html": _html}[fmt]
        return render(self)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def item_of(m: StoredMatch) -> AlertItem:
    """An alert item from a stored match; strangers' text made one clean line."""
    return AlertItem(
        match_id=m.match_id,
        topic=clean(m.topic),  # from our config, cleaned all the same
        score=round(m.score, 2),
        title=_cut(clean(m.title), 300),
        source=_cut(clean(m.source), 120),
        why=_cut(clean(m.reasons), WHY_CHARS),
        url=clean(m.url),
    )


def to_json(message: AlertMessage) -> str:
    return json.dumps([asdict(i) for i in message.items], ensure_ascii=False)


def from_json(message_id: str, payload: str) -> AlertMessage:
    items = tuple(AlertItem(**i) for i in json.loads(payload))
    return AlertMessage(message_id, items)


def _web(url: str) -> bool:
    """Only http(s) links become links (no javascript:, data: or file: from a stranger's feed)."""
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False


def _text(m: AlertMessage) -> str:
    blocks = []
    for i in m.items:
        lines = [f"{i.score:.2f}  {i.title or '(untitled)'}", f"{i.source} · {i.topic}"]
        if i.why:
            lines.append(f"why: {i.why}")
        lines.append(i.url)
        blocks.append("\n".join(lines))
    return "\n\n".join([*blocks, f"— watcher alert {m.id}"])


def md_escape(text: str) -> str:
    """Backslash every Markdown punctuation character (CommonMark: any ASCII punctuation may be)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_url(url: str) -> str:
    """A link destination that cannot end the link early: spaces, brackets and parens encoded."""
    return quote(url, safe="/:?#&=%;,+@!$*'~._-")


def _markdown(m: AlertMessage) -> str:
    blocks = []
    for i in m.items:
        title = md_escape(i.title or "(untitled)")
        link = f"[{title}]({_md_url(i.url)})" if _web(i.url) else title
        head = f"**{i.score:.2f}** {link}"
        lines = [head, f"{md_escape(i.source)} · {md_escape(i.topic)}"]
        if i.why:
            lines.append(f"why: {md_escape(i.why)}")
        if not _web(i.url):
            lines.append(md_escape(i.url))
        blocks.append("  \n".join(lines))
    return "\n\n".join([*blocks, f"— watcher alert {md_escape(m.id)}"])


def _html(m: AlertMessage) -> str:
    e = html.escape
    items = []
    for i in m.items:
        title = e(i.title or "(untitled)")
        link = f'<a href="{e(i.url, quote=True)}">{title}</a>' if _web(i.url) else title
        why = f"<br>why: {e(i.why)}" if i.why else ""
        # The address in the text as well: mail clients showing the text part keep the link.
        shown = f'<a href="{e(i.url, quote=True)}">{e(i.url)}</a>' if _web(i.url) else e(i.url)
        plain = f"<br>{shown}"
        items.append(
            f"<li><b>{i.score:.2f}</b> {link}<br>{e(i.source)} · {e(i.topic)}{why}{plain}</li>"
        )
    return f"<ul>\n{chr(10).join(items)}\n</ul>\n<p>— watcher alert {e(m.id)}</p>"


def build(message_id: str, matches: Sequence[StoredMatch]) -> AlertMessage:
    """One message listing the matches, strongest first."""
    items = sorted((item_of(m) for m in matches), key=lambda i: (-i.score, i.match_id))
    return AlertMessage(message_id, tuple(items))
