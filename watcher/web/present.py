"""Pure helpers of the review pages: what a near miss lacked, matched terms highlighted, safe paths."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..config import ConceptGroup
from ..digest import clean

LOW_SIMILARITY = 0.3  # below this the seeds hardly resemble the article
WEAK = 0.8  # a concept this present or less was mentioned only in passing


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept group of a score: its terms found and how present it is."""

    name: str
    terms: tuple[str, ...]
    strength: float | None


def concepts(details: Mapping[str, object]) -> list[Concept]:
    """The concept groups of a stored score, found or not."""
    groups = details.get("groups")
    strengths = details.get("strengths")
    strengths = strengths if isinstance(strengths, Mapping) else {}
    out: list[Concept] = []
    if isinstance(groups, Mapping):
        for name, terms in groups.items():
            found = tuple(clean(str(t)) for t in terms) if isinstance(terms, list | tuple) else ()
            out.append(Concept(clean(str(name)), found, _num(strengths.get(name))))
    return out


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def terms(details: Mapping[str, object]) -> list[str]:
    """Every matched term of a score."""
    return [t for c in concepts(details) for t in c.terms]


def lacks(details: Mapping[str, object], groups: Sequence[ConceptGroup]) -> list[str]:
    """What kept an article below the threshold, weakest first, one short phrase each: a required
    concept with no term, a thin one (few mentions), a contrast group that outweighed one, low
    similarity to the seeds, an exclusion, a resemblance to an article labelled not relevant."""
    kind = {g.name: g for g in groups}
    weak: list[tuple[float, str]] = []
    for c in concepts(details):
        g = kind.get(c.name)
        if g is not None and g.contrast:
            if c.terms:
                weak.append((0.0, f"outweighed by “{c.name}” ({', '.join(c.terms)})"))
            continue
        if g is not None and not g.required:
            continue
        if not c.terms:
            weak.append((0.0, f"no term of the concept “{c.name}”"))
        elif c.strength is not None and c.strength < WEAK:
            weak.append((c.strength, f"thin “{c.name}” ({c.strength:.2f}: {', '.join(c.terms)})"))
    out = [text for _, text in sorted(weak, key=lambda w: w[0])]
    sim, weight = _num(details.get("similarity_score")), _num(details.get("similarity_weight"))
    if weight and sim is not None and sim < LOW_SIMILARITY:
        out.append(f"low similarity to the seeds ({sim:.2f})")
    excluded = details.get("excluded")
    if isinstance(excluded, list | tuple) and excluded:
        out.append("excluded by: " + ", ".join(clean(str(x)) for x in excluded))
    neg = _num(details.get("negative_similarity"))
    if details.get("nearest_negative") and neg is not None:
        out.append(f"resembles an article labelled not relevant ({neg:.2f})")
    return out or ["every concept present, none strongly enough"]


_WORD = re.compile(r"\w+", re.UNICODE)


def highlight(text: str, found: Iterable[str]) -> list[tuple[str, bool]]:
    """Split text into (piece, is_match) so a template can mark the matched terms.

    A term matches a word it starts (keyword stems: "migrant" marks "migrants"); a term of several
    words matches the phrase.  Case is ignored.
    """
    stems = {t.strip().rstrip("*").strip().casefold() for t in found}
    words = sorted((w for w in stems if w), key=len, reverse=True)
    if not words or not text:
        return [(text, False)]
    alternatives = "|".join(r"\s+".join(re.escape(w) for w in t.split()) for t in words)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})\w*", re.IGNORECASE)
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def local_path(value: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a path, never //host or a scheme."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(not c.isprintable() for c in value):
        return default
    return value


def parse_day(value: str | None, tz: str) -> date | None:
    """YYYY-MM-DD, or None (also for garbage: a filter that cannot be read is no filter)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def day_start(day: date, tz: str, days: int = 0) -> datetime:
    """Midnight of a local day (plus ``days``) as UTC."""
    local = datetime.combine(day + timedelta(days=days), time(0), ZoneInfo(tz))
    return local.astimezone(UTC)


def parse_float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
