"""Extractive summaries: the few sentences of an article that say most about the topic.

Pure and local: sentences are ranked by how many of the matched terms (the concept groups the scorer
found) and other topic words they contain, with a small bonus for coming early; the best ones are
returned in their original order.  Works for any language whose sentences end with . ! ? or …
(English and Russian included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# A sentence ends at . ! ? … (possibly followed by closing quotes or brackets) before whitespace and
# a capital letter, digit or opening quote of the next one; Latin and Cyrillic capitals alike.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+(?=[\"'«“(\[]?[A-ZА-ЯЁ0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Sen|Rep|Gov|Jr|Sr|vs|etc|No|U\.S|т\.е|т\.д|г|гг|ул|им)\.)$"
)
_SPACE = re.compile(r"\s+")
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_CHARS = 25


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences (paragraph breaks always end one)."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\S)", text):
        paragraph = _SPACE.sub(" ", paragraph).strip()
        if not paragraph:
            continue
        pieces = _BOUNDARY.split(paragraph)
        current = ""
        for piece in pieces:
            current = f"{current} {piece}".strip() if current else piece
            if not _ABBREVIATION.search(current):
                out.append(current)
                current = ""
        if current:
            out.append(current)
    return out


def _patterns(terms: Iterable[str]) -> list[re.Pattern[str]]:
    """A case-insensitive pattern a term, anchored at a word start (so stems match word forms)."""
    seen: set[str] = set()
    out: list[re.Pattern[str]] = []
    for term in terms:
        t = " ".join(term.lower().split())
        if len(t) < 2 or t in seen:
            continue
        seen.add(t)
        out.append(re.compile(r"(?<!\w)" + re.escape(t).replace(r"\ ", r"\s+"), re.IGNORECASE))
    return out


def _shorten(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—-– ") + "…"


def summarize(
    text: str,
    terms: Sequence[str],
    topic_words: Sequence[str] = (),
    *,
    sentences: int = 3,
    title: str = "",
) -> tuple[str, ...]:
    """The best ``sentences`` sentences of ``text`` for these terms, in their original order."""
    if sentences <= 0:
        return ()
    candidates = [s for s in split_sentences(text) if len(s) >= MIN_SENTENCE_CHARS]
    norm_title = " ".join(title.lower().split())
    candidates = [s for s in candidates if " ".join(s.lower().split()) != norm_title]
    if not candidates:
        return ()
    matched = _patterns(terms)
    topical = _patterns(topic_words)
    ranked: list[tuple[float, int]] = []
    for i, sentence in enumerate(candidates):
        hits = sum(1 for p in matched if p.search(sentence))
        extra = sum(1 for p in topical if p.search(sentence))
        # Matched terms weigh most, topic words next; earlier sentences (the lede) win ties.
        ranked.append((2.0 * hits + 1.0 * extra + 0.5 / (1 + i), i))
    best = sorted(ranked, key=lambda r: (-r[0], r[1]))[:sentences]
    return tuple(_shorten(candidates[i]) for _, i in sorted(best, key=lambda r: r[1]))
