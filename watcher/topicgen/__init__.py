"""``watcher topic new``: a multilingual topic proposed from two sample articles (issue 18).

``topic_toml(name, seeds)`` reads the seeds, finds the lexicon concepts (places, subjects) and the
names they share, and returns the commented ``[[topics]]`` block of a topic that needs no hand
work: every concept brings its terms in every language of the lexicon.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from .. import lexicon
from ..errors import ConfigError
from ..match.text import Analyzer, detect_language, tokenize, wordfreq_frequency
from .detect import Seed, find_concepts, find_names
from .forms import name_forms
from .propose import Proposal, propose
from .render import WORDFREQ_LANGS, render

__all__ = ["Seed", "propose_topic", "read_seeds", "topic_toml"]

_URL = re.compile(r"^https?://", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def read_seeds(seeds: Sequence[Path | str], fetch: Callable[[str], str] | None = None) -> list[Seed]:
    """Each seed file (first line the title) or URL (through ``fetch``: title line, then text)."""
    out = []
    for seed in seeds:
        source = str(seed)
        if _URL.match(source):
            if fetch is None:
                raise ConfigError(f"seed {source}: a URL seed needs a fetcher")
            raw = fetch(source)
        else:
            try:
                raw = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"seed {source}: cannot read: {e}") from e
        title, _, text = raw.strip().partition("\n")
        if not (title.strip() or text.strip()):
            raise ConfigError(f"seed {source}: no text")
        out.append(Seed(source, title.strip(), text.strip()))
    if not out:
        raise ConfigError("topic new: give at least one --seed")
    return out


def continents() -> dict[str, str]:
    """The continent of each gazetteer place (generated beside the gazetteer)."""
    text = resources.files(__name__).joinpath("continents.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)["continents"]
    return {str(k): str(v) for k, v in data.items()}


def _related() -> dict[str, object]:
    text = resources.files(__name__).joinpath("related.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def families() -> list[list[str]]:
    """Families of closely related subject concepts (topicgen/related.toml)."""
    fams = _related()["families"]
    return [[str(c) for c in fam] for fam in fams] if isinstance(fams, list) else []


def angles() -> dict[str, lexicon.Concept]:
    """Subject concept -> the lexicon's wider concept gathering its angles (topicgen/related.toml)."""
    table = _related().get("angles", {})
    concepts = lexicon.load()
    if not isinstance(table, dict):
        return {}
    out: dict[str, lexicon.Concept] = {}
    for key, value in sorted(table.items()):
        names = [str(n) for n in value] if isinstance(value, list) else [str(value)]
        parts = [concepts[n] for n in names if n in concepts]
        if parts:
            out[str(key)] = _specific(_union(parts))
    return out


def _union(parts: list[lexicon.Concept]) -> lexicon.Concept:
    """One concept with the terms of all ``parts`` (the first names it): migration's strong terms
    and its context terms (study, workers, border) are one angle of the story for a generated topic."""
    terms: dict[str, dict[str, None]] = {}
    for part in parts:
        for lang, words in part.terms.items():
            terms.setdefault(lang, {}).update(dict.fromkeys(words))
    return replace(parts[0], terms=MappingProxyType({k: tuple(v) for k, v in terms.items()}))


ANGLE_COMMON = 3e-5  # an angle word more frequent than this in its language is too general


def _specific(concept: lexicon.Concept) -> lexicon.Concept:
    """The concept without its most common single words ("community", "work", "citizen")."""
    terms = {
        lang: tuple(
            t
            for t in words
            if " " in t
            or lang not in WORDFREQ_LANGS
            or wordfreq_frequency(t.rstrip("*"), lang) <= ANGLE_COMMON
        )
        for lang, words in concept.terms.items()
    }
    return replace(concept, terms=MappingProxyType({k: v for k, v in terms.items() if v}))


def general_concepts() -> dict[str, lexicon.Concept]:
    """The lexicon's concepts a topic may be made of: places of the gazetteer's map of continents
    (not groupings such as "other destinations") and subjects other than story-specific bundles."""
    skip = _related().get("skip", [])
    where = continents()
    extra = _place_extra()
    return {
        k: _with_extra(c, extra.get(k, {}))
        for k, c in lexicon.load().items()
        if isinstance(skip, list) and k not in skip and (c.kind != "place" or k in where)
    }


def _place_extra() -> dict[str, dict[str, list[str]]]:
    """The gazetteer's names (main cities ...) of the places the hand-written lexicon defines."""
    text = resources.files(__name__).joinpath("place_extra.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text).get("extra", {})
    return {str(k): {str(lang): [str(t) for t in ts] for lang, ts in v.items()} for k, v in data.items()}


def _with_extra(concept: lexicon.Concept, extra: dict[str, list[str]]) -> lexicon.Concept:
    """A hand-written place with the gazetteer's names added after its own (Volgograd to Russia)."""
    if not extra:
        return concept
    langs = sorted(set(concept.terms) | set(extra))
    terms = {
        lang: tuple(dict.fromkeys([*concept.terms.get(lang, ()), *extra.get(lang, [])])) for lang in langs
    }
    return replace(concept, terms=MappingProxyType(terms))


def propose_topic(seeds: Sequence[Seed], analyzer: Analyzer | None = None) -> Proposal:
    """What the seeds are about, as concept groups (see ``propose``)."""
    analyzer = analyzer or Analyzer(wordfreq_frequency)
    concepts = general_concepts()
    found = find_concepts(seeds, concepts, analyzer.stem_in, wordfreq_frequency)
    known = _known_words(concepts)
    names = find_names(
        seeds, wordfreq_frequency, lambda w: w in known or any(w.startswith(p) for p in _prefixes(found))
    )
    places = {k: c for k, c in concepts.items() if c.kind != "subject"}
    sentences = [s for seed in seeds for s in _SENTENCE.split(f"{seed.title}\n{seed.text}")]

    def cooccur(name: str, concept: lexicon.Concept) -> int:
        forms = [f.rstrip("*") for t in concept.terms.get("en", ()) for f in name_forms(t)]
        return sum(
            1 for s in sentences if name in s and any(tok.startswith(tuple(forms)) for tok in tokenize(s))
        )

    try:
        return propose(seeds, found, names, places, continents(), cooccur, families(), angles())
    except ValueError as e:
        raise ConfigError(f"topic new: {e}") from e


def _known_words(concepts: dict[str, lexicon.Concept]) -> set[str]:
    return {w for c in concepts.values() for t in c.terms.get("en", ()) for w in t.lower().split()}


def _prefixes(found: Sequence[object]) -> tuple[str, ...]:
    out: list[str] = []
    for f in found:
        terms = getattr(f, "terms", ())
        out += [t.rstrip("*") for t in terms if t.endswith("*")]
    return tuple(out)


def topic_toml(
    name: str,
    seeds: Sequence[Path | str],
    *,
    seed_paths: Sequence[str] | None = None,
    fetch: Callable[[str], str] | None = None,
) -> str:
    """The commented TOML block of a new topic proposed from its seeds.

    ``seed_paths`` are the seeds as the config will name them (default: as given).
    """
    if not re.fullmatch(r"[\w][\w.-]*", name):
        raise ConfigError(f"topic new: {name!r} is no topic name (letters, digits, - _ .)")
    docs = read_seeds(seeds, fetch)
    proposal = propose_topic(docs)
    langs = sorted({detect_language(f"{d.title}\n{d.text}") for d in docs})
    paths = list(seed_paths) if seed_paths is not None else [str(s) for s in seeds]
    return render(name, proposal, paths, [d.title for d in docs], langs)
