"""What two sample articles are about: lexicon concepts found in them and their own names.

Pure: seed texts in, ranked findings out.  A concept's weight in the seeds is the keyword evidence
the matcher itself would count (title 3, opening 1.5, elsewhere 1 per passage), so the proposal
ranks concepts the way the finished topic will see them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..config import ConceptGroup
from ..lexicon import Concept
from ..match import keywords
from ..match.text import document_words
from .forms import lexicon_term, name_forms

# A capitalised word or a run of them ("Kassym-Jomart Tokayev", "Lake Balkhash"), in Latin or
# Cyrillic script, not at the start of a sentence (there capitals say nothing).
_NAME = re.compile(r"(?<![.!?\n\"“«]\s)(?<!^)\b([A-ZА-ЯЁ][\w’'-]*(?:\s+[A-ZА-ЯЁ][\w’'-]*)*)", re.M)
COMMON = 2e-5  # a word more frequent than this (wordfreq, English) is no name of this story


@dataclass(frozen=True, slots=True)
class Seed:
    """A sample article: where it came from, its title and text."""

    source: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Found:
    """A lexicon concept in the seeds: its evidence, in how many seeds, and the words that hit."""

    concept: Concept
    evidence: float
    seeds: int
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Name:
    """A proper name of the seeds that no lexicon concept knows (a person, a village, a firm)."""

    text: str
    count: int
    seeds: int


def find_concepts(
    seeds: Sequence[Seed],
    concepts: Mapping[str, Concept],
    stem: Callable[[str, str], str],
    frequency: Callable[[str, str], float],
    *,
    lang: str = "en",
) -> list[Found]:
    """Every concept with English (``lang``) terms found in the seeds, strongest first."""
    chosen = [c for c in concepts.values() if c.terms.get(lang)]
    groups = [ConceptGroup(c.name, tuple(_seed_terms(c, lang))) for c in chosen]
    matcher = keywords.Matcher(groups, (), stem, (lang,))
    evidence: dict[str, float] = dict.fromkeys((c.name for c in chosen), 0.0)
    present: Counter[str] = Counter()
    spec = [[specificity(t.text, frequency) for t in terms] for terms in matcher.group_terms]
    terms: dict[str, dict[str, None]] = {c.name: {} for c in chosen}
    for seed in seeds:
        title, tokens = document_words(seed.title, seed.text)
        hits, _ = matcher.find(tokens, len(title))
        kept = _shadow(matcher, hits)
        for g, r in enumerate(keywords.group_results(matcher, kept, len(title), 1.0)):
            if r.evidence:
                # each hit weighs as much as its term is rare: "nuclear power plant" says more
                # about a story than "build"
                evidence[r.name] += sum((3.0 if h.in_title else 1.0) * spec[g][h.term] for h in kept[g])
                present[r.name] += 1
                terms[r.name].update(dict.fromkeys(r.terms))
    found = [
        Found(c, evidence[c.name], present[c.name], tuple(terms[c.name])) for c in chosen if evidence[c.name]
    ]
    return sorted(found, key=lambda f: (-f.seeds, -f.evidence, f.concept.name))


def _shadow(matcher: keywords.Matcher, hits: list[list[keywords.Hit]]) -> list[list[keywords.Hit]]:
    """Drop each hit inside a longer hit of another concept ("power plant" in "nuclear power plant")."""
    spans = [
        (h.position, h.position + len(matcher.group_terms[g][h.term].atoms), g)
        for g, group in enumerate(hits)
        for h in group
    ]
    out: list[list[keywords.Hit]] = []
    for g, group in enumerate(hits):
        kept = []
        for h in group:
            start, end = h.position, h.position + len(matcher.group_terms[g][h.term].atoms)
            if not any(
                og != g and os <= start and oe >= end and oe - os > end - start for os, oe, og in spans
            ):
                kept.append(h)
        out.append(kept)
    return out


def _seed_terms(c: Concept, lang: str) -> list[str]:
    if c.kind == "subject":
        return [lexicon_term(t, lang) for t in c.terms[lang]]
    return [form for t in c.terms[lang] for form in name_forms(t)]


def find_names(
    seeds: Sequence[Seed], frequency: Callable[[str, str], float], known: Callable[[str], bool]
) -> list[Name]:
    """Rare capitalised words of the seeds that ``known`` (the lexicon) does not cover."""
    count: Counter[str] = Counter()
    where: dict[str, set[int]] = {}
    for i, seed in enumerate(seeds):
        for text in (seed.title, seed.text):
            for m in _NAME.finditer(text):
                for word in re.split(r"[\s’'-]+", m.group(1)):
                    w = word.strip()
                    if len(w) < 3 or not w.isalpha() or known(w.lower()):
                        continue
                    if frequency(w.lower(), "en") > COMMON:
                        continue
                    count[w] += 1
                    where.setdefault(w, set()).add(i)
    names = [Name(w, n, len(where[w])) for w, n in count.items()]
    return sorted(names, key=lambda n: (-n.seeds, -n.count, n.text))


def specificity(term: str, frequency: Callable[[str, str], float]) -> float:
    """How much a term says: the rarity of its words in general English (sum of -log10 frequency,
    less the rarity of a common word, so "build" says little and a three-word phrase a lot)."""
    total = 0.0
    for word in re.findall(r"[^\W\d_]+", term.split(":", 1)[-1]):
        f = frequency(word.lower(), "en")
        total += max(0.0, (8.0 if f <= 0 else -math.log10(f)) - 3.0)
    return total
