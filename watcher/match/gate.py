"""A required concept told absent before an article's words are keyed (issue 12 point 7).

A topic is an AND of concepts, so most articles a feed brings score 0 whatever else they say: no
Afghan is named.  Whether a concept is named shows in the words as written, before any is keyed
(stemmed, lemmatised: the costly part of reading an article).  A word matches one of its terms
only if it is one of its exact words or starts like one of its prefix or stem terms (``Matcher``
holds a word to that: the term's word as written, its key or a listed dictionary form of it), or
holds one of its CJK terms, or, in languages whose stemmers strip prefixes, holds the key but its
first letter (Indonesian: the stemmer may change that letter) or, in Arabic and Persian, is a
listed dictionary form of it or a word whose skeleton (``text.arabic_skeleton``) holds the key's
but its last letter (with particles written onto it: all of a listed form but its first two
letters).  Pattern searches over the article's text (in C) pick out the few words that may; they
are looked up as ever (``Matcher.atoms_of``, cached), so the gate's answer is the matcher's: a
concept it finds absent has no term in the full analysis either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .terms import HEAD
from .text import TOKEN_LETTER, TOKEN_LETTERS, arabic_skeleton, script_letters, words_holding


@dataclass(frozen=True, slots=True)
class Gate:
    """What a word naming one concept (or a context group supporting it) can look like."""

    name: str  # the required concept
    atoms: frozenset[int]  # the first atoms of its terms and of its supporting groups' terms
    exact: frozenset[str]  # words that match as written
    heads: frozenset[str]  # first HEAD letters (or two: prefix terms of two letters) of words that may match
    inner: tuple[str, ...] = ()  # held by any word that may match a CJK term or an Indonesian stem
    scripts: frozenset[str] = frozenset()  # any word of these may match ("arabic")
    skeletal: tuple[str, ...] = ()  # held by an Arabic-script word's skeleton when it may match
    open: bool = False  # a prefix of one letter: any word may
    starts: re.Pattern[str] | None = field(default=None, compare=False)  # from a start to the word's end

    def __post_init__(self) -> None:
        firsts = self.heads | {w[:HEAD] for w in self.exact}
        alternatives = "|".join(map(re.escape, sorted(firsts, key=lambda h: (-len(h), h))))
        starts = re.compile(f"(?:{alternatives})[{TOKEN_LETTERS}]*") if alternatives else None
        object.__setattr__(self, "starts", starts)

    def named(self, text: str, atoms_of: Callable[[str], frozenset[int]]) -> bool:
        """Whether a word of ``text`` (a document's title and text, ``normalise``d) matches one
        of its terms: its words that may are picked out by pattern searches in C, and only they
        are looked up (``Matcher.atoms_of``: their keys, cached)."""
        if self.open:
            return True
        maybe = []
        if self.starts is not None:  # the words starting so (a match inside a word is none)
            for found in self.starts.finditer(text):
                at = found.start()
                if at == 0 or not TOKEN_LETTER.match(text, at - 1):
                    maybe.append(found.group())
        if self.scripts or self.skeletal:  # (a word with a letter of a script may be of it)
            if "arabic" in self.scripts and _letter("arabic").search(text):
                return True  # every such word may: the full analysis keys them all at once
            if self.skeletal and _letter("arabic").search(text):
                skeleton = arabic_skeleton(text)  # (letter for letter: the same words at the same places)
                for held in self.skeletal:
                    maybe += words_holding(text, held, skeleton)
        for inner in self.inner:
            maybe += words_holding(text, inner)
        atoms = self.atoms
        return any(not atoms.isdisjoint(atoms_of(w)) for w in set(maybe))


def _letter(script: str) -> re.Pattern[str]:
    pattern = script_letters(script)
    assert pattern is not None, script
    return pattern
