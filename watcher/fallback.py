"""Pure: the ``Article`` that stands in when a page is not extracted (a failure, or the feed's text).

Kept apart from ``extract`` so that the main process, whose workers extract, never imports
trafilatura: ``fetch`` starts faster and a cycle with nothing new never loads it (issue 16).
"""

from __future__ import annotations

from .language import guess_language
from .models import Article, Entry


def failed_article(url: str, status: str, error: str) -> Article:
    """An Article that says extraction did not happen, and why, in one line."""
    line = " ".join(str(error).split())[:300]
    return Article(url=url, title="", text="", source="none", status=status, error=line)


def fallback_article(entry: Entry, reason: str) -> Article:
    """The feed's own content (else its summary) standing in for a page that would not extract."""
    text = entry.text
    return Article(
        url=entry.url or entry.link,
        title=entry.title,
        text=text,
        source="feed",
        author=entry.author,
        language=(
            entry.language
            if entry.language is not None
            else guess_language(f"{entry.title}\n{text}")
        )
        or None,
        published=entry.published,
        status="fallback",
        error=" ".join(reason.split())[:300] or None,
    )
