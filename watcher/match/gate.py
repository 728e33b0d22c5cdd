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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

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
    held: re.Pattern[str] | None = field(default=None, compare=False)  # any of ``inner``
    held_latin1: re.Pattern[str] | None = field(default=None, compare=False)  # those in Latin-1 text

    def __post_init__(self) -> None:
        starts = _starting(self.heads | self.exact)
        latin1 = [p for p in self.inner if _latin1(p)]
        held = re.compile("|".join(map(re.escape, self.inner))) if self.inner else None
        held_latin1 = re.compile("|".join(map(re.escape, latin1))) if latin1 else None
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "held", held)
        object.__setattr__(self, "held_latin1", held_latin1)

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
        latin1 = _latin1(text)  # (then no Arabic letter, no CJK part: their searches are left out)
        if (self.scripts or self.skeletal) and not latin1 and _letter("arabic").search(text):
            if "arabic" in self.scripts:  # (a word with a letter of a script may be of it)
                return True  # every such word may: the full analysis keys them all at once
            skeleton = arabic_skeleton(text)  # (letter for letter: the same words at the same places)
            for held in self.skeletal:
                maybe += words_holding(text, held, skeleton)
        parts = self.held_latin1 if latin1 else self.held
        if parts is not None and parts.search(text):  # (one search: most texts hold none)
            for inner in self.inner:
                maybe += words_holding(text, inner)
        atoms = self.atoms
        return any(not atoms.isdisjoint(atoms_of(w)) for w in set(maybe))


def _starting(firsts: Collection[str]) -> re.Pattern[str] | None:
    """A pattern from where a word starts with one of ``firsts`` to the word's end (the starts in
    a tree: one branch a first letter)."""
    return re.compile(f"(?:{_tree(firsts)})[{TOKEN_LETTERS}]*") if firsts else None


def _tree(words: Collection[str]) -> str:
    """An alternation of ``words`` sharing their first letters ("ab", "ac" -> "a(?:b|c)"); a word
    that another starts with stands for both (a match is a start, then the word's letters)."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    out = []
    for first, rests in sorted(by_first.items()):
        if "" in rests:
            out.append(re.escape(first))
        elif len(rests) == 1:
            out.append(re.escape(first + rests[0]))
        else:
            out.append(f"{re.escape(first)}(?:{_tree(rests)})")
    return "|".join(out)


def _latin1(text: str) -> bool:
    """Whether every character of ``text`` is Latin-1 (a copy in C; stops at the first other)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _letter(script: str) -> re.Pattern[str]:
    pattern = script_letters(script)
    assert pattern is not None, script
    return pattern
