"""Stem features and weights of many new tokens at once (issue 12 point 7: scoring with cold caches).

A document brings a few hundred words the analyser has not met.  Worked out one by one, each costs
a script test, a stemmer call, a frequency look-up and a logarithm in Python.  Here the new words
of a document are grouped by the language whose stemmer and frequencies apply to them; each group
is stemmed in one call into Snowball's C code, its frequencies are looked up together
(``frequency.frequencies``) and each distinct frequency is weighed once.  The answers are the ones
``Analyzer.feature`` gives word by word (``tests/test_match_features.py`` holds the two together).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

_FIRST = itemgetter(0)
Feature = tuple[str, float]  # (stem, weight)
Stems = Callable[[list[str]], list[str]]
Frequencies = Callable[[Sequence[str], str], list[float]]


def by_language(words: Sequence[str], language_of: Callable[[str], str]) -> dict[str, list[str]]:
    """Words grouped by ``language_of`` their first letter (all the script test looks at).

    ``language_of`` is the same for every ASCII letter (one script: Latin), so it is asked once for
    them all, and once for each other first letter (the usual document's words start with a few
    dozen letters, most of them ASCII: one call, not forty).
    """
    firsts = set(map(_FIRST, words))
    ascii_firsts = list(filter(str.isascii, firsts))
    langs = dict.fromkeys(ascii_firsts, language_of(ascii_firsts[0])) if ascii_firsts else {}
    langs.update({first: language_of(first) for first in firsts.difference(ascii_firsts)})
    present = set(langs.values())
    if len(present) == 1:  # the usual case: one script
        return {present.pop(): list(words)}
    return {lang: [w for w in words if langs[w[0]] == lang] for lang in present}


def learn(
    words: list[str],
    lang: str,
    stems: Stems,
    frequencies: Frequencies,
    idf: Callable[[float], float],
    weighed: dict[float, float],
    background: Mapping[str, float],
    background_weight: float,
) -> list[Feature]:
    """(stem, weight) of distinct words of one language, as ``Analyzer.feature`` gives them.

    ``weighed`` keeps ``idf`` of each frequency met (a few hundred distinct rounded values).
    """
    keys = stems(words)
    alpha = list(filter(str.isalpha, words))  # numbers, dates, "covid19" weigh nothing
    freqs = frequencies(alpha, lang)
    for freq in set(freqs).difference(weighed):
        weighed[freq] = idf(freq)
    if len(alpha) == len(words):  # the usual case: words only
        weights = list(map(weighed.__getitem__, freqs))
    else:
        known = dict(zip(alpha, map(weighed.__getitem__, freqs), strict=True))
        weights = [known.get(w, 0.0) for w in words]
    if background_weight:
        b = background_weight
        weights = [
            (1 - b) * w + b * background[s] if s in background else w
            for w, s in zip(weights, keys, strict=True)
        ]
    return list(zip(keys, weights, strict=True))


def one_by_one(frequency: Callable[[str, str], float]) -> Frequencies:
    """A batch of frequencies asked word by word (for a frequency function without a batch form)."""

    def frequencies(words: Sequence[str], lang: str) -> list[float]:
        return [frequency(w, lang) for w in words]

    return frequencies
