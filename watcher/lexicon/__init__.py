"""The multilingual concept lexicon: concepts (Russia, Afghans, migration ...) with terms per language.

Package data: every ``watcher/lexicon/*.toml`` file holds concepts, one table each::

    [migration]                     # concept id (lowercase, [a-z0-9_-])
    label = "migration"             # English name shown in explanations
    kind = "subject"                # subject | place | people | org
    [migration.terms]               # ISO 639-1 code -> terms (a word or a phrase)
    en = ["migrant", "refugee", "work permit"]
    ru = ["мигрант", "беженец", "разрешение на работу"]

Terms are dictionary forms: the matcher brings the morphology (simplemma lemmas, Snowball stems).
Only a language with neither may end a term with ``*`` (any word starting so).  A concept id
defined twice, in one file or two, is an error.

Usage::

    concepts = lexicon.load(["russia", "migration"])
    concepts["migration"].terms["ru"]   # ("мигрант", "беженец", ...)
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from ..errors import ConfigError

KINDS = ("subject", "place", "people", "org")
_ID = re.compile(r"^[a-z0-9_-]+$")
_LANG = re.compile(r"^[a-z]{2,3}$")
_HEADER = re.compile(r"^\[([a-z0-9_-]+)\][ \t]*(?:#.*)?$", re.MULTILINE)  # a concept's own table


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept: its id, English label, kind and terms per language."""

    name: str
    label: str
    kind: str
    terms: Mapping[str, tuple[str, ...]]

    def languages(self) -> tuple[str, ...]:
        """The languages that have at least one term, sorted."""
        return tuple(sorted(lang for lang, terms in self.terms.items() if terms))


def parse(raw: Mapping[str, object], source: str) -> dict[str, Concept]:
    """Concepts from one parsed TOML document; ``source`` names it in errors."""
    out: dict[str, Concept] = {}
    for name, table in raw.items():
        where = f"{source}: [{name}]"
        if not _ID.match(name):
            raise ConfigError(f"{where}: a concept id is lowercase letters, digits, '_' or '-'")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(table) - {"label", "kind", "terms"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (label, kind, terms)")
        label = table.get("label", name)
        kind = table.get("kind", "subject")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{where}.label: expected a non-empty string")
        if kind not in KINDS:
            raise ConfigError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        terms = table.get("terms", {})
        if not isinstance(terms, dict) or not terms:
            raise ConfigError(f"{where}.terms: expected a table of language = [terms]")
        by_lang: dict[str, tuple[str, ...]] = {}
        for lang, words in terms.items():
            if not _LANG.match(lang):
                raise ConfigError(f"{where}.terms.{lang}: expected an ISO 639 language code")
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(f"{where}.terms.{lang}: expected a list of non-empty strings")
            by_lang[lang] = tuple(dict.fromkeys(w.strip() for w in words))
        out[name] = Concept(name, label.strip(), kind, MappingProxyType(by_lang))
    return out


def load(names: Iterable[str] | None = None) -> dict[str, Concept]:
    """The concepts of every ``*.toml`` in this package (all of them, or those named).

    Named concepts are read from the files that define them only: parsing the whole lexicon (the
    gazetteer alone is 450 KB of TOML) took ~0.3 s of every ``watcher fetch`` (issue 16).
    Raises ``ConfigError`` for a malformed file, a concept defined twice or an unknown name.
    """
    files = _files()
    if names is None:
        return _parse_files(files)
    index = _index(files)
    wanted = list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in index]
    if missing:
        raise ConfigError(f"unknown concept {missing[0]!r}; the lexicon has: {', '.join(sorted(index))}")
    needed = {index[n] for n in wanted}
    found = _parse_files([(name, text) for name, text in files if name in needed])
    return {n: found[n] for n in wanted}


def names() -> list[str]:
    """Every concept id of the lexicon, sorted (read from the files' table headers, not parsed)."""
    return sorted(_index(_files()))


@functools.cache  # package data: read once a process (config.load asks for names, then concepts)
def _files() -> tuple[tuple[str, str], ...]:
    """(file name, text) of every lexicon file, sorted by name."""
    out = []
    for file in resources.files(__package__ or __name__).iterdir():
        if file.name.endswith(".toml"):
            try:
                out.append((file.name, file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"lexicon {file.name}: {e}") from e
    return tuple(sorted(out))


def _index(files: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Concept id -> the file that defines it, from each file's ``[id]`` table headers.

    Every lexicon file defines its concepts as ``[id]`` tables (tests/test_lexicon.py checks the
    index against a full parse); an id defined twice, in one file or two, is an error.
    """
    where: dict[str, str] = {}
    for name, text in files:
        for concept in _HEADER.findall(text):
            _claim(where, concept, name)
    return where


def _claim(where: dict[str, str], concept: str, file: str) -> None:
    """Note that ``file`` defines ``concept``: a concept defined in two files is an error."""
    if concept in where:
        raise ConfigError(f"lexicon {file}: concept {concept!r} is already defined in {where[concept]}")
    where[concept] = file


def _parse_files(files: Sequence[tuple[str, str]]) -> dict[str, Concept]:
    found: dict[str, Concept] = {}
    where: dict[str, str] = {}
    for name, text in files:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"lexicon {name}: {e}") from e
        for concept_name, concept in parse(raw, f"lexicon {name}").items():
            _claim(where, concept_name, name)
            found[concept_name] = concept
    return found


def matcher_terms(concept: Concept) -> tuple[str, ...]:
    """A concept's terms in the matcher's syntax: ``lang:word word`` (punctuation as the tokens have it).

    "main-d'œuvre" becomes ``fr:main œuvre``; a trailing ``*`` stays a prefix.
    """
    out: dict[str, None] = {}
    for lang, terms in concept.terms.items():
        for term in terms:
            star = term.endswith("*")
            # "İ".lower() is "i" + a combining dot that would split "İran" into "ran"
            words = _WORD.findall(term.rstrip("*").lower().replace("\u0307", ""))
            if words:
                out[f"{lang}:{' '.join(words)}{'*' if star else ''}"] = None
    return tuple(out)


_WORD = re.compile(r"[\w\u0900-\u0dff]{2,}")  # as match.text tokenises
