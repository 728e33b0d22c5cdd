"""A required concept told absent before an article's words are keyed (issue 12 point 7).

A topic is an AND of concepts, so most articles a feed brings score 0 whatever else they say: no
Afghan is named.  Whether a concept is named shows in the words as written, before any is keyed
(stemmed, lemmatised: the costly part of reading an article): a word matches one of its terms only
if it is one of the concept's exact words, starts like one of its prefixes, or starts like one of
its stem terms (``Matcher`` holds a word to that: the term's word as written, its key or a listed
dictionary form of it); or, where the words' first letters say little, it is a CJK word (substring
terms), a word of a script whose stemmers strip prefixes (Arabic: any such word) or, in Indonesian
(whose stemmer may also change the first letter left), a word holding the key but its first letter.
The few words that pass are looked up as ever (``Matcher.atoms_of``, cached), so the gate's answer
is the matcher's: a concept it finds absent has no term in the full analysis either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from .text import arabic_skeleton, script_letters


@dataclass(frozen=True, slots=True)
class Gate:
    """What a word naming one concept (or a context group supporting it) can look like."""

    name: str  # the required concept
    atoms: frozenset[int]  # the first atoms of its terms and of its supporting groups' terms
    exact: frozenset[str]  # words that match as written
    heads: frozenset[str]  # first HEAD letters (or two: prefix terms of two letters) of words that may match
    inner: tuple[str, ...] = ()  # held by any word keyed to one of its Indonesian stems
    scripts: frozenset[str] = frozenset()  # any word of these may match ("cjk", "arabic")
    skeletal: tuple[str, ...] = ()  # held by an Arabic-script word's skeleton when it may match
    open: bool = False  # a prefix of one letter: any word may
    starts: re.Pattern[str] | None = field(default=None, compare=False)  # a line starting so: a word

    def __post_init__(self) -> None:
        heads = "|".join(map(re.escape, sorted(self.heads, key=lambda h: (-len(h), h))))
        object.__setattr__(self, "starts", re.compile(f"\n((?:{heads})[^\n]*)") if heads else None)

    def named(self, words: Collection[str], atoms_of: Callable[[str], frozenset[int]]) -> bool:
        """Whether any of ``words`` (an article's distinct words) matches one of its terms."""
        if self.open or not self.exact.isdisjoint(words):
            return True
        joined = "\n" + "\n".join(words)  # one word a line: searched in C, not word by word
        maybe = self.starts.findall(joined) if self.starts is not None else []
        if self.scripts:  # (a word with a letter of a script may be of it: never fewer)
            if "arabic" in self.scripts and _letter("arabic").search(joined):
                return True  # every such word may: the full analysis keys them all at once
            if "cjk" in self.scripts and (cjk := _letter("cjk")).search(joined):
                maybe += [w for w in words if cjk.search(w)]
        for inner in self.inner:
            if inner in joined:
                maybe += [w for w in words if inner in w]
        if self.skeletal and _letter("arabic").search(joined):
            skeleton = arabic_skeleton(joined)  # (letter for letter: its lines are the words')
            lines: list[str] = []
            for held in self.skeletal:
                if held in skeleton:
                    lines = lines or skeleton.split("\n")[1:]
                    maybe += [w for w, line in zip(words, lines, strict=True) if held in line]
        atoms = self.atoms
        return any(not atoms.isdisjoint(atoms_of(w)) for w in maybe)


def _letter(script: str) -> re.Pattern[str]:
    pattern = script_letters(script)
    assert pattern is not None, script
    return pattern
