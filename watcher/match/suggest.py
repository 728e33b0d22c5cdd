"""Distinctive terms of the seeds against the background: raw material for keyword groups."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Document
from .keywords import Matcher
from .text import Analyzer, detect_language, tokenize


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A stem that the seeds use much more than news in general does."""

    stem: str
    forms: tuple[str, ...]  # surface forms, most frequent first
    count: int  # occurrences in all seeds
    seeds: int  # how many seeds use it
    weight: float  # background weight (high: rare in general text)
    score: float
    groups: tuple[str, ...]  # concept groups whose terms already match it


def suggest(
    seeds: Sequence[Document], analyzer: Analyzer, matcher: Matcher | None = None, top: int = 40
) -> list[Suggestion]:
    """The ``top`` stems by (1 + ln count) x background weight x share of seeds using it."""
    counts: Counter[str] = Counter()
    per_seed: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    weights: dict[str, float] = {}
    for doc in seeds:
        text = f"{doc.title}\n{doc.text}"
        lang = doc.language or detect_language(text)
        seen: set[str] = set()
        for token in tokenize(text):
            stem, weight = analyzer.feature(token, lang)
            if weight <= 0:
                continue
            counts[stem] += 1
            forms.setdefault(stem, Counter())[token] += 1
            weights[stem] = max(weights.get(stem, 0.0), weight)
            seen.add(stem)
        per_seed.update(seen)
    n = max(1, len(seeds))
    out = []
    for stem, count in counts.items():
        score = (1.0 + math.log(count)) * weights[stem] * per_seed[stem] / n
        groups: tuple[str, ...] = ()
        if matcher is not None:
            groups = _groups_matching(matcher, [w for w, _ in forms[stem].most_common()])
        out.append(
            Suggestion(
                stem,
                tuple(w for w, _ in forms[stem].most_common(4)),
                count,
                per_seed[stem],
                round(weights[stem], 3),
                round(score, 3),
                groups,
            )
        )
    out.sort(key=lambda s: (-s.score, s.stem))
    return out[:top]


def _groups_matching(matcher: Matcher, words: Sequence[str]) -> tuple[str, ...]:
    names: list[str] = []
    for word in words:
        hits, _ = matcher.find([word], 0)
        for group, group_hits in zip(matcher.groups, hits, strict=True):
            if group_hits and group.name not in names:
                names.append(group.name)
    return tuple(names)
