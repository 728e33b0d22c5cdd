"""Morphology for concept terms: one comparable key per word and language (issue 12).

A word's key in a language is its simplemma dictionary lemma (where simplemma has the language),
then its Snowball stem (where Snowball has it): "Rosji" and "Rosja" both key to "rosj" in Polish,
"мігрантів" to "мігрант" in Ukrainian, "مهاجران" to "مهاجر" in Persian.  A language with neither
keeps the word as it is (its terms use a trailing ``*`` instead), and Chinese, Japanese and Korean,
written without spaces between words, are matched as substrings of a token.

simplemma's dictionaries take seconds and hundreds of MB to load (Turkish alone 1.7 s), yet the
matcher only asks whether a word's key is one of its terms' keys.  So the package ships, per lemma
language, the few dictionary forms that matter to the lexicon's keys (``lemmas/<lang>.json``,
written by ``scripts/gen_lemmas.py``): every form whose key differs from its plain stem while one
of the two is a lexicon key.  For a matcher whose keys are all covered (``expect``), a word's key
is its form's entry, else its stem: the same answer as the dictionary's for every key it asks about.
A topic with other words in such a language loads the dictionary as before.
"""

from __future__ import annotations

import functools
import json
import threading
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .stemming import STEMMERS, stemmer_of, stems_of
from .text import CACHE_SIZE

SUBSTRING_LANGUAGES = frozenset({"zh", "ja", "ko"})
# Languages lemmatised with simplemma's dictionaries before stemming: those Snowball lacks
# (Ukrainian, Bulgarian, Macedonian, Latvian) or stems poorly on its own (Greek accents, Persian
# and Arabic plurals, Hindi).
# simplemma has ~50 more, but its dictionaries for de, pl, fi, et, ru ...
# take seconds each to load, and the Snowball stem alone serves those languages well.
LEMMA_LANGUAGES = frozenset(["uk", "bg", "mk", "lv", "el", "fa", "ar", "hi", "tr"])
# Stemmed twice: Snowball's Turkish stem of "göçmenler" is "göçmen", of "göçmen" "göçme".
_TWICE = frozenset({"tr"})
_EXTRA_STEMMERS = {"hi": "hindi", "et": "estonian", "hr": "serbian", "sr": "serbian"}


# Snowball's Indonesian stemmer changes a word only by removing a particle (-kah, -lah, -pun), a
# possessive (-nya, -ku, -mu), a suffix (-i, -an, -kan), a first-order prefix (di-, ke-, me-, mem-,
# men-, meng-, meny-, pem-, pen-, peng-, peny-, ter-) or a second-order one (be-, ber-, bel-, pe-,
# per-, pel-): a word that neither starts nor ends so is its own key (``tests/test_match_learn.py``).
_AFFIXES = {
    "indonesian": (
        ("di", "ke", "me", "pe", "ter", "be"),
        ("kah", "lah", "pun", "nya", "ku", "mu", "i", "an"),
    ),
}


def lemma_language(lang: str) -> str:
    """The simplemma code for a language, or "" when simplemma has none."""
    return lang if lang in LEMMA_LANGUAGES else ""


def stem_algorithm(lang: str) -> str:
    """The Snowball algorithm for a language, or "" when Snowball has none."""
    return STEMMERS.get(lang) or _EXTRA_STEMMERS.get(lang, "")


def changing_affixes(lang: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(prefixes, suffixes) such that a word of ``lang`` starting with none of the prefixes and
    ending with none of the suffixes keys to itself; None where no such list is known."""
    if lemma_language(lang):  # a dictionary lemma may differ from the word whatever its affixes
        return None
    return _AFFIXES.get(stem_algorithm(lang))


def has_morphology(lang: str) -> bool:
    """Whether words of this language are lemmatised or stemmed (else ``*`` prefixes are needed)."""
    return bool(lemma_language(lang) or stem_algorithm(lang)) or lang in SUBSTRING_LANGUAGES


@dataclass(frozen=True, slots=True)
class LemmaTable:
    """The dictionary forms that matter to some keys: ``forms`` form -> key, complete for ``covers``."""

    covers: frozenset[str]
    forms: Mapping[str, str]


@functools.cache
def lemma_table(lang: str) -> LemmaTable | None:
    """The shipped table of a lemma language (None: not shipped, or another simplemma wrote it)."""
    try:
        raw = json.loads(resources.files(__package__).joinpath(f"lemmas/{lang}.json").read_bytes())
    except FileNotFoundError:
        return None
    if raw.get("simplemma") != _simplemma_version():
        return None  # another simplemma's dictionaries: they may lemmatise differently
    return LemmaTable(frozenset(raw["covers"]), raw["forms"])


@functools.cache
def _shipped_forms(name: str) -> Mapping[str, Mapping[str, list[str]]]:
    """language -> word -> its forms or keys, from a shipped ``lemmas/NAME.json``: "inflections"
    (short words' forms) or "stem_forms" (the stems of a word's forms); empty for another simplemma."""
    try:
        raw = json.loads(resources.files(__package__).joinpath(f"lemmas/{name}.json").read_bytes())
    except FileNotFoundError:
        return {}
    return raw["forms"] if raw.get("simplemma") == _simplemma_version() else {}


def _simplemma_version() -> str:
    from importlib.metadata import version

    return version("simplemma")


class Morphology:
    """``key(word, lang)``: lemma then stem, cached per language; safe to share between threads."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache_size = cache_size  # keys kept per language at most (then it starts afresh)
        self._lock = threading.Lock()
        self._keyers: dict[str, Callable[[str], str]] = {}
        self._batchers: dict[str, Callable[[Sequence[str]], list[str]]] = {}
        self._caches: dict[str, dict[str, str]] = {}
        self._lemmatizer: Any = None
        self._expected: dict[str, set[str]] = {}  # lemma language -> every key a matcher compares with

    @staticmethod
    def nfc(word: str) -> str:
        """The word in NFC, as simplemma looks it up (the same string when it already is)."""
        return word if word.isascii() else unicodedata.normalize("NFC", word)

    def expect(self, lang: str, keys: Collection[str]) -> None:
        """Note the keys a matcher compares words of ``lang`` with (before its first word).

        Where the shipped table covers them all, words are keyed by the table and their stem; the
        dictionary is never loaded.  Only keys in ``expect``'s sets are then exact: another key may
        differ from the dictionary's (it is never one of the expected keys).
        """
        if not lemma_language(lang):
            return
        with self._lock:
            self._expected.setdefault(lang, set()).update(keys)
            self._keyers.pop(lang, None)  # rebuilt on first use, with or without the table
            self._batchers.pop(lang, None)
            self._caches.pop(lang, None)

    def dictionary_key(self, lang: str, word: str) -> str | None:
        """The key an article's ``word`` gets when simplemma's dictionary lemmatises it to another
        word than itself ("μετανάστης" -> "μετανάστρια", Arabic "لجوء" -> "لجأ"), read from the
        shipped table (None: the same as its stem, or no table; the dictionary is never loaded)."""
        if not lemma_language(lang):
            return None
        table = lemma_table(lang)
        return None if table is None else table.forms.get(Morphology.nfc(word))

    def stem_forms(self, lang: str, word: str) -> tuple[str, ...]:
        """The stems of a lexicon word's inflected forms where they differ from the word's own, in a
        language keyed by its stem alone: Russian "беженец" stems to itself, "беженцы" and
        "беженцев" to "беженц" (shipped: ``lemmas/stem_forms.json``, from simplemma's dictionary
        by ``scripts/gen_lemmas.py``; the dictionary is never loaded)."""
        return tuple(_shipped_forms("stem_forms").get(lang, {}).get(word, ()))

    def forms_keyed_to(self, lang: str, keys: Collection[str]) -> list[tuple[str, str]]:
        """(form, key): the shipped table's forms of ``lang`` whose key is one of ``keys`` (none
        without a table)."""
        table = self.tabled(lang)
        if table is None:
            return []
        wanted = set(keys)
        return [(form, key) for form, key in table.forms.items() if key in wanted]

    def inflections(self, lang: str, word: str) -> tuple[str, ...]:
        """The inflected forms of a lexicon word whose key is too short to match by (``keywords.
        MIN_STEM``: "ρώσοι", "ρώσων" of "ρώσος"; "ruslar" of Turkish "rus"), as simplemma's
        dictionary lists them (shipped: ``lemmas/inflections.json``, by ``scripts/gen_lemmas.py``)."""
        return tuple(_shipped_forms("inflections").get(lang, {}).get(word, ()))

    def tabled(self, lang: str) -> LemmaTable | None:
        """The shipped table that keys words of ``lang``, when it covers every expected key."""
        expected = self._expected.get(lang)
        if expected is None:
            return None
        table = lemma_table(lang)
        return table if table is not None and expected <= table.covers else None

    def key(self, word: str, lang: str) -> str:
        """The key of a (normalised) word in a language."""
        cache = self._caches.get(lang)
        if cache is None:
            cache = self._caches.setdefault(lang, {})
        elif len(cache) >= self._cache_size:
            cache = self._caches[lang] = {}
        hit = cache.get(word)
        if hit is None:
            hit = cache[word] = self._keyer(lang)(word)
        return hit

    def keys(self, words: Sequence[str], lang: str) -> list[str]:
        """The keys of many (normalised) words in a language, as ``key`` gives them one by one.

        One call into the C stemmer for them all (issue 12: a cold cache stems every new word in
        each candidate language); not cached here, since the matcher caches its answer per token.
        """
        batch = self._batchers.get(lang)
        if batch is None:
            self._keyer(lang)  # builds both under the lock
            batch = self._batchers[lang]
        return batch(words)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its lock and loaded libraries (rebuilt on first use)."""
        return {"caches": self._caches, "cache_size": self._cache_size, "expected": self._expected}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state.get("cache_size", CACHE_SIZE))  # type: ignore[misc]
        self._caches = state["caches"]
        self._expected = state.get("expected", {})

    def term_key(self, word: str, lang: str) -> str:
        """The key of a lexicon term's word: already a dictionary form, so only stemmed.

        This keeps simplemma's dictionaries (seconds to load) out of building a model: they are
        loaded when the first article word of their language needs a lemma.
        """
        return stem_function(lang)(word) if lemma_language(lang) else self.key(word, lang)

    def clear_cache(self) -> None:
        """Forget every key computed (benchmarks measure the uncached cost)."""
        for cache in self._caches.values():
            cache.clear()

    def _keyer(self, lang: str) -> Callable[[str], str]:
        keyer = self._keyers.get(lang)
        if keyer is None:
            with self._lock:
                if lang not in self._keyers:
                    self._batchers[lang] = self._build_batch(lang)
                keyer = self._keyers.get(lang) or self._build(lang)
                self._keyers[lang] = keyer
        return keyer

    def _build_batch(self, lang: str) -> Callable[[Sequence[str]], list[str]]:
        """``keys`` for one language: lemmas word by word where needed, then one batch of stems."""
        stems = stems_function(lang)
        if not lemma_language(lang):
            return stems
        table = self.tabled(lang)
        if table is not None:
            forms = table.forms

            def tabled(words: Sequence[str]) -> list[str]:
                # NFC already (the usual case) when their join is: a line break composes with nothing
                normal = unicodedata.is_normalized("NFC", "\n".join(words))
                nfc = words if normal else list(map(Morphology.nfc, words))
                return [forms.get(w, s) for w, s in zip(nfc, stems(nfc), strict=True)]

            return tabled
        lemma = self._lemma_function(lang)

        def keys(words: Sequence[str]) -> list[str]:
            return stems([lemma(w) for w in words])

        return keys

    def _build(self, lang: str) -> Callable[[str], str]:
        stem = stem_function(lang)

        if not lemma_language(lang):
            return stem
        table = self.tabled(lang)
        if table is not None:
            forms = table.forms

            def tabled(word: str) -> str:
                word = Morphology.nfc(word)
                return forms.get(word) or stem(word)

            return tabled
        lemma = self._lemma_function(lang)

        def key(word: str) -> str:
            return stem(lemma(word))

        return key

    def _lemma_function(self, lang: str) -> Callable[[str], str]:
        code = lemma_language(lang)
        if self._lemmatizer is None:
            from simplemma import Lemmatizer  # local: loaded once a concept topic is built
            from simplemma.strategies import DictionaryLookupStrategy
            from simplemma.strategies.dictionaries import DefaultDictionaryFactory

            # Dictionary look-up only: simplemma's affix guessing costs ~0.5 ms a word; and a cache
            # for every language (its default keeps 8 and would reload the others over and over).
            factory = DefaultDictionaryFactory(cache_max_size=len(LEMMA_LANGUAGES))
            self._lemmatizer = Lemmatizer(lemmatization_strategy=DictionaryLookupStrategy(factory))
        lemmatize = self._lemmatizer.lemmatize

        def lemma(word: str) -> str:
            try:
                return str(lemmatize(word, lang=code)).lower()
            except ValueError:  # simplemma refuses some inputs (e.g. overlong words)
                return word

        return _unfolding(lemma) if lang in UNFOLDED else lemma


# Arabic as its dictionary and stemmer spell it: ``text.normalise`` writes yeh and kaf in their
# Persian forms (Persian text mixes them), and the Arabic stemmer then misses its suffixes ("ين",
# "ية": "المهاجرين" stemmed to "مهاجری", not "مهاجر").
UNFOLDED = frozenset({"ar"})
_ARABIC_LETTERS = str.maketrans({"\u06cc": "\u064a", "\u06a9": "\u0643"})  # ی -> ي, ک -> ك


def stem_function(lang: str) -> Callable[[str], str]:
    """A language's key without a lemma: its Snowball stem (twice in Turkish), or the word itself."""
    stem = stemmer_of(stem_algorithm(lang))
    stem = _twice(stem) if lang in _TWICE else stem
    return _unfolding(stem) if lang in UNFOLDED else stem


def _unfolding(key: Callable[[str], str]) -> Callable[[str], str]:
    def unfolded(word: str) -> str:
        return key(word.translate(_ARABIC_LETTERS))

    return unfolded


def stems_function(lang: str) -> Callable[[Sequence[str]], list[str]]:
    """``stem_function`` for many words at once (one call into PyStemmer's C code, twice in Turkish)."""
    stems = stems_of(stem_algorithm(lang))
    if lang in UNFOLDED:
        plain = stems

        def stems(words: Sequence[str]) -> list[str]:
            return plain([w.translate(_ARABIC_LETTERS) for w in words])

    if lang not in _TWICE:
        return stems

    def twice(words: Sequence[str]) -> list[str]:
        return stems(stems(words))

    return twice


def _twice(stem: Callable[[str], str]) -> Callable[[str], str]:
    def twice(word: str) -> str:
        return stem(stem(word))

    return twice
