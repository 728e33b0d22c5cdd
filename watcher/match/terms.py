"""Term syntax: a concept group's term strings parsed into atoms (one word pattern each).

Split from ``keywords`` (issue 12 point 7 made the matcher longer); ``keywords`` re-exports these.
One string per term, case-insensitive:

* ``migrant`` — a word, matched by its stem (Snowball, in the first of the topic's ``languages``
  written in its script; else English for Latin script, Russian for
  Cyrillic, Persian for Arabic script), so ``migrants`` and ``migrant's`` match too;
* ``fr:réfugié`` — the same, stemmed with another language's Snowball stemmer;
* ``afghan*`` — every word that starts with ``afghan`` (a hand-written stem);
* ``=рф`` — exactly this word, no stemming;
* ``labour migrant`` or ``"labour migrant"`` — a phrase: consecutive words, each matched as above.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import ConceptGroup
from .morph import SUBSTRING_LANGUAGES
from .text import default_language, language_script, normalise, script_of, strip_accents, tokenize

_LANG_PREFIX = re.compile(r"^([a-z]{2}):(?=\S)")
MIN_STEM = 4
# A word is keyed in a language only when its first three letters start a term of it (as written or
# keyed); keys have MIN_STEM letters or more, and suffix-stripping leaves the start as it was.
HEAD = 3


@dataclass(frozen=True, slots=True)
class Atom:
    """One word pattern: exact word, stem in a language, or prefix."""

    kind: str  # "exact", "stem", "prefix" or "substring" (zh, ja, ko: words are not spaced)
    value: str
    lang: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    """A parsed term: its text as written and the atoms (one per word) it needs in sequence."""

    text: str
    atoms: tuple[int, ...]


def parse_term(
    raw: str,
    stem: Callable[[str, str], str],
    atoms: dict[Atom, int],
    languages: Sequence[str] = (),
    heads: dict[int, set[str]] | None = None,
) -> Term:
    """Parse one term string, registering its atoms (ids into ``atoms``).

    A plain word is stemmed in the first of ``languages`` written in its script (else English for
    Latin script, Russian for Cyrillic, Persian for Arabic script).  ``heads`` collects, per stem
    atom, the first ``HEAD`` letters of its words as written.
    """
    text = raw.strip().strip('"').strip()
    lang = ""
    if m := _LANG_PREFIX.match(text):
        lang, text = m.group(1), text[m.end() :]
    ids = []
    for word in text.split():
        atom = _atom(normalise(word), lang, stem, languages)
        i = atoms.setdefault(atom, len(atoms))
        if heads is not None and atom.kind == "stem":  # the word as written starts so, too
            heads.setdefault(i, set()).add(normalise(word)[:HEAD])
        ids.append(i)
    if not ids:
        raise ValueError(f"empty term {raw!r}")
    return Term(raw.strip(), tuple(ids))


def _atom(word: str, lang: str, stem: Callable[[str, str], str], languages: Sequence[str]) -> Atom:
    if word.startswith("="):
        return Atom("exact", word[1:])
    if word.endswith("*"):
        return Atom("prefix", word[:-1])
    words = tokenize(word)
    if len(words) != 1:
        return Atom("exact", word)
    script = script_of(words[0])
    if lang in SUBSTRING_LANGUAGES or (not lang and script == "cjk"):
        return Atom("substring", words[0], lang)
    lang = lang or next(
        (code for code in languages if language_script(code) == script), default_language(script)
    )
    if not lang:
        return Atom("exact", words[0])
    key = stem(words[0], lang)
    # A stem shorter than four letters is matched as the word itself: with thirty languages in one
    # script, short stems collide ("putin" stems to "put" in Turkish, and English has "put").
    # (its language kept: the shipped dictionary inflections of the word match too, ``Matcher``)
    return Atom("stem", key, lang) if len(key) >= MIN_STEM else Atom("exact", words[0], lang)


def stressed(heads: set[str], lang: str) -> set[str]:
    """Greek heads also with the stress on each of their vowels: the accent moves as a Greek word
    inflects ("άσυλο", "ασύλου"), and the stemmer, which drops it, only sees words a head lets in."""
    if language_script(lang) != "greek":
        return heads
    out = set(heads)
    for head in heads:
        bare = strip_accents(head)
        out.add(bare)
        for i, c in enumerate(bare):
            stressed = unicodedata.normalize("NFC", c + "\u0301")
            if len(stressed) == 1:  # a vowel that takes the accent
                out.add(bare[:i] + stressed + bare[i + 1 :])
    return out


def shown(term: Term, group: ConceptGroup) -> Term:
    """A lexicon concept's term is shown as written in its language ("студент", not "ru:студент")."""
    if group.lexicon and (m := _LANG_PREFIX.match(term.text)):
        return Term(term.text[m.end() :], term.atoms)
    return term
