"""Tokenise, normalise, stem and guess the language of text; everything cached per token."""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress, filterfalse
from operator import itemgetter
from typing import Any, TypeVar

from . import features as batch
from .frequency import wordfreq_frequencies as wordfreq_frequencies
from .frequency import wordfreq_frequency as wordfreq_frequency
from .stemming import STEMMERS as STEMMERS
from .stemming import make_stemmer as make_stemmer
from .stemming import make_stems as make_stems

_F = TypeVar("_F")  # what a per-thread factory makes

# \w plus the Indic blocks, whose vowel signs \w does not count as letters (issue 12: Hindi words)
TOKEN_LETTERS = r"\w\u0900-\u0dff"  # (inside a class)
_TOKEN = re.compile(f"[{TOKEN_LETTERS}]{{2,}}")  # faster than a letters-only class; numbers get no weight
_TOKEN_RUN = re.compile(f"[{TOKEN_LETTERS}]+")  # its letters, one run at a time
TOKEN_LETTER = re.compile(f"[{TOKEN_LETTERS}]")  # one of them
_NOT_TOKEN = re.compile(f"[^{TOKEN_LETTERS}]")  # a character no word has
_ASCII_TOKEN = re.compile("[0-9A-Z_a-z]{2,}")  # ``_TOKEN`` on ASCII text (\w there is these letters)
# ASCII text with every character ``_ASCII_TOKEN`` does not count made a space: its words are
# ``str.split``'s runs (those of two letters or more)
_ASCII_SPACES = str.maketrans(dict.fromkeys(re.sub("[0-9A-Za-z_]", "", "".join(map(chr, range(128)))), " "))
_PERSIAN = re.compile(r"[\u067e\u0686\u0698\u06af]")  # پ چ ژ گ: letters Arabic does not use
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_UKRAINIAN_TOKEN = re.compile(r"[іїєґ][^ ]*")  # from a token's first Ukrainian letter to its end
_ASCII = re.compile(r"[\x00-\x7f]+")
_HANGUL = re.compile("[\uac00-\ud7af]")
_KANA = re.compile("[\u3040-\u30ff]")
# ё -> е (Russian spelling varies); Arabic yeh/kaf -> Persian forms (Persian text mixes them).
_FOLD = str.maketrans(
    {"ё": "е", "\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc", "\u0307": None}
    | dict.fromkeys("\u0622\u0623\u0625", "\u0627")  # alef with hamza or madda -> bare alef
)

# A few very common words per Latin-script language: enough to tell the language of a paragraph.
_STOPWORDS = {
    "en": "the and of to in is that for was with on are has have by from this which",
    "fr": "le la les des et est une dans du pour que qui sur pas au avec sont",
    "de": "der die das und ist nicht mit den dem ein eine auf für von sich auch",
    "es": "el la los las del que en por con una para es se su al como",
    "nl": "de het een van en is dat op te zijn voor niet met die ook naar",
    "ro": "și în la cu pe care este din să un o pentru nu al ale mai",
    "it": "il di che la per non sono della una con del gli nel alla anche",
    "pt": "de que não da em um uma para com os do se as na dos",
    "id": "yang dan di ini itu dengan untuk dari tidak dalam akan pada juga",
    "tr": "ve bir bu da de için ile olarak çok daha gibi olan",
    "pl": "się nie na że jest do to od jak po przez dla oraz",
}  # fmt: skip
_FOLDED = {chr(k): v or "" for k, v in _FOLD.items()}  # letter -> letters; U+0307: "İ".lower()
_STOPSETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# common word -> the languages (in _STOPSETS' order) whose lists hold it
_STOP_LANGUAGES = {
    word: tuple(lang for lang, stops in _STOPSETS.items() if word in stops)
    for word in sorted(set().union(*_STOPSETS.values()))
}


def normalise(text: str) -> str:
    """Lower-case and fold spelling variants that carry no meaning."""
    return _replaced(text.lower(), _FOLDED)


def _replaced(text: str, letters: dict[str, str]) -> str:
    """``text`` with each of ``letters`` present replaced: ``str.replace`` per letter present, not
    translate() (slow on long strings).  No replacement is a letter another one replaces, so the
    order does not matter.  A substring search in C a letter finds them sooner than one pattern
    search (issue 12 point 7)."""
    for letter in [c for c in letters if c in text]:
        text = text.replace(letter, letters[letter])
    return text


# Arabic-script letters a stemmer may write otherwise, each as one plain letter (a letter for a
# letter, so a text keeps its length): hamza on a carrier, alef forms, teh marbuta, Arabic yeh and
# kaf, heh forms (``arabic_skeleton``).
_SKELETON = {
    "\u0624": "\u0648", "\u0626": "\u06cc", "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627",
    "\u0629": "\u0647", "\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc", "\u06c1": "\u0647",
    "\u06c0": "\u0647", "\u06be": "\u0647",
}  # fmt: skip


def arabic_skeleton(text: str) -> str:
    """Arabic-script text with the letters a stemmer may write otherwise made one plain letter each
    ("اللاجئين" -> "اللاجیین", "أفغان" -> "افغان"): the Arabic and Persian stemmers' keys, so written,
    are held by the words keyed to them (``keywords.Matcher``); the same length as ``text``."""
    return _replaced(text, _SKELETON)


def strip_accents(text: str) -> str:
    """The text without combining marks (accents, diaeresis): "ασύλου" -> "ασυλου", "é" -> "e"."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Words of two characters or more, normalised; punctuation dropped.

    The same words as ``_TOKEN.findall(normalise(text))``, found sooner (issue 12 point 7): sre tests
    ``\\w`` with up to four Unicode category look-ups per character, but a class listing its letters
    with one table look-up.  Such a class can list only letters up to U+FFFF (beyond, sre would
    try hundreds of ranges per character), so text with a character beyond (an emoji) keeps
    ``_TOKEN``; ``tests/test_match_tokens.py`` holds the classes equal, letter by letter.  ASCII
    text needs no pattern at all (``_ascii_words``).
    """
    if text.isascii():  # (a flag of the string: no pass over it) no letter to fold: only lower()
        return _ascii_words(text)
    text = normalise(text)
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):  # nothing beyond U+FFFF
        return bmp_token().findall(text)
    return _TOKEN.findall(text)


def document_words(title: str, text: str) -> tuple[list[str], list[str]]:
    """A document's headline words, and all its words: the headline's, then the text's without
    the lines that repeat the headline (``without_headline``: the title counts once)."""
    head = tokenize(title)
    return head, head + tokenize(without_headline(head, text))


def document_text(title: str, text: str) -> str:
    """A document's title and text in one, ``normalise``d: its words are ``document_words``' (and
    those of the headline repeated at the text's start, if it is)."""
    return normalise(f"{title}\n{text}")


def leading_words(title: str, text: str, n: int) -> list[str]:
    """``document_words(title, text)[1][:n]``, without tokenising the whole text: its start is cut
    after a character no word has (so no word is cut, and each is normalised as in the whole),
    further each time it holds too few words."""
    head = tokenize(title)
    rest = without_headline(head, text)
    size = 10 * n  # characters: ~8 a word in most languages
    while size < len(rest) and (cut := _NOT_TOKEN.search(rest, size)) is not None:
        words = head + tokenize(rest[: cut.start()])
        if len(words) >= n:
            return words[:n]
        size *= 2
    return (head + tokenize(rest))[:n]


def words_holding(text: str, part: str, hay: str | None = None) -> list[str]:
    """The words of ``text`` that hold ``part`` (each time it occurs), found in ``hay`` when given
    (``text`` written otherwise letter for letter, as ``arabic_skeleton`` writes it)."""
    hay = text if hay is None else hay
    out = []
    at = hay.find(part)
    while at >= 0:
        start = _word_start(hay, at)
        after = _NOT_TOKEN.search(hay, at + len(part))
        end = len(hay) if after is None else after.start()
        out.append(text[start:end])
        at = hay.find(part, end)
    return out


def _word_start(text: str, at: int) -> int:
    """Where the word holding ``text[at]`` starts: back a few letters, read in reversed slices of
    64 (a hostile text may be one word of millions of letters)."""
    start = at
    while start:
        back = text[max(0, start - 64) : start][::-1]
        if (other := _NOT_TOKEN.search(back)) is not None:
            return start - other.start()
        start -= len(back)
    return 0


def without_headline(title: list[str], text: str) -> str:
    """The text without the lines that repeat its headline at its start: the title counts once.

    ``title`` is the headline's words (``tokenize``).  Whether an extracted text repeats the
    headline depends on the site's markup (an <h1> inside the article or above it) and the
    extractor, not on what the article says: counted twice, a name in the headline (a country
    elsewhere, say) weighed twice as much in one page as in another of the same words (issue 12).
    Only a whole line is a repeated headline: a first sentence that opens with the title's words
    goes on to say more, and stays.
    """
    pos = 0
    longest = 3 * sum(len(word) + 1 for word in title) + 20  # a line longer is no headline
    while title and pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        # a long line (a whole text on one line, say) is not tokenised twice to find that out
        if line.strip() and (end - pos > longest or tokenize(line) != title):
            break
        pos = end + 1  # a blank line, or the headline again
    return text[pos:] if pos else text


def _ascii_words(text: str) -> list[str]:
    """``_ASCII_TOKEN.findall(text.lower())`` of ASCII text, found sooner: every other character made
    a space in one ``translate`` pass (ASCII to ASCII), split in C, one-letter words left out."""
    return [w for w in text.lower().translate(_ASCII_SPACES).split() if len(w) > 1]


@functools.cache
def bmp_token() -> re.Pattern[str]:
    """``_TOKEN`` for text without characters beyond U+FFFF: its letters listed as ranges (a
    6 ms compilation, done once: ``build_model`` does it before the first article)."""
    letters = "".join("\\u%04x-\\u%04x" % (a, b - 1) for a, b in token_letter_runs())  # noqa: UP031
    return re.compile(f"[{letters}]{{2,}}")


def token_letter_runs() -> list[tuple[int, int]]:
    """The code points up to U+FFFF that ``_TOKEN`` counts as letters: [start, end) runs."""
    every = bytearray(0x20000)  # U+0000..U+FFFF in UTF-16-LE: low bytes, then high bytes
    every[0::2] = bytes(range(256)) * 256
    every[1::2] = b"".join(bytes([high]) * 256 for high in range(256))
    every[0x1B000:0x1C000] = b" \x00" * 0x800  # surrogates (no letters) as spaces
    return [m.span() for m in _TOKEN_RUN.finditer(every.decode("utf-16-le"))]


def script_of(token: str) -> str:
    """The script of a token: "cyrillic", "arabic", "latin" or "other"."""
    ch = token[0]
    if "\u0400" <= ch <= "\u04ff":
        return "cyrillic"
    if "\u0600" <= ch <= "\u06ff":
        return "arabic"
    if ch.isascii() or "\u00c0" <= ch <= "\u024f":
        return "latin"
    return _other_script(ch)


def _other_script(ch: str) -> str:
    """Scripts the concept lexicon also has terms in (issue 12); the rest are "other"."""
    if "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff":
        return "greek"
    if "\u0900" <= ch <= "\u097f":
        return "devanagari"
    if "\u0500" <= ch <= "\u052f":
        return "cyrillic"
    if "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff":
        return "arabic"
    if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff":
        return "cjk"
    return "other"


# ``script_of``'s ranges, one class per script (the rest is "other")
_SCRIPT_CLASSES = tuple(
    (script, re.compile(f"[{ranges}]"))
    for script, ranges in (
        ("latin", "\x00-\x7f\u00c0-\u024f"),
        ("cyrillic", "\u0400-\u052f"),
        ("arabic", "\u0600-\u06ff\u0750-\u077f\ufb50-\ufeff"),
        ("greek", "\u0370-\u03ff\u1f00-\u1fff"),
        ("devanagari", "\u0900-\u097f"),
        ("cjk", "\u3040-\u9fff\uac00-\ud7af\uf900-\ufaff"),
    )
)


def script_letters(script: str) -> re.Pattern[str] | None:
    """A pattern matching one letter that ``script_of`` counts in ``script`` (None: "other")."""
    return dict(_SCRIPT_CLASSES).get(script)


def scripts_of(letters: set[str]) -> dict[str, set[str]]:
    """``script_of`` of many single letters at once: script -> its letters (a pattern search a
    script over them all instead of a call per letter; ``tests/test_match_text.py`` holds the two
    equal for every code point)."""
    joined = "".join(letters)
    out = {script: set(found) for script, pattern in _SCRIPT_CLASSES if (found := pattern.findall(joined))}
    if other := letters.difference(*out.values()):
        out["other"] = other
    return out


def default_language(script: str) -> str:
    """The stemming language assumed for a word of a script when none is named."""
    return {"cyrillic": "ru", "arabic": "fa", "latin": "en"}.get(script, "")


def language_script(lang: str) -> str:
    """The script a language is written in (as ``script_of`` names it)."""
    if lang in ("ru", "uk", "bg", "sr", "be", "kk", "mk", "ky", "tg", "mn"):
        return "cyrillic"
    if lang in ("fa", "ar", "ur", "ps"):
        return "arabic"
    return _OTHER_SCRIPTS.get(lang, "other" if lang in ("ta", "he") else "latin")


_OTHER_SCRIPTS = {"el": "greek", "hi": "devanagari", "mr": "devanagari", "ne": "devanagari"} | dict.fromkeys(
    ("zh", "ja", "ko"), "cjk"
)


def detect_language(text: str) -> str:
    """Guess an ISO 639-1 code cheaply: script counts, then common words for Latin script."""
    return detect_language_tokens(tokenize(text[:3000]))


LANGUAGE_SAMPLE = 120  # the first words of a text tell its language


def detect_language_tokens(tokens: Sequence[str]) -> str:
    """Guess the language of tokens (the first ``LANGUAGE_SAMPLE`` are enough): script, then
    common words."""
    sample = tokens[:LANGUAGE_SAMPLE]
    firsts = "".join(map(itemgetter(0), sample))
    if firsts.isascii():  # the usual case: Latin script, no other script to count (one pass in C)
        return _vote(sample) if sample else "en"
    cyrillic = len(_CYRILLIC.findall(firsts))
    arabic = len(_ARABIC.findall(firsts))
    scripts = {"latin": len(sample) - cyrillic - arabic, "cyrillic": cyrillic, "arabic": arabic}
    script = max(scripts, key=lambda k: scripts[k])
    if scripts[script] == 0:
        return "en"
    if script == "latin" and (other := _other_language(sample, firsts)):
        return other
    if script == "cyrillic":  # tokens with a Ukrainian letter: one match each (tokens have no space)
        ukrainian = len(_UKRAINIAN_TOKEN.findall(" ".join(sample)))
        return "uk" if ukrainian > cyrillic / 20 else "ru"
    if script == "arabic":
        return "fa" if _PERSIAN.search("".join(sample)) else "ar"
    return _vote(sample)


def _vote(sample: Sequence[str]) -> str:
    """The Latin-script language whose common words the sample uses most (English on a tie with it).

    Only the sample's common words are counted (picked out in C), each for the languages it is
    common in: the same votes as counting every language's list in the sample.
    """
    votes = dict.fromkeys(_STOPSETS, 0)
    for word in compress(sample, map(_STOP_LANGUAGES.__contains__, sample)):
        for lang in _STOP_LANGUAGES[word]:
            votes[lang] += 1
    best = max(votes, key=votes.__getitem__)  # the first of equals, in _STOPSETS' order
    return best if votes[best] > votes["en"] else "en"


def _other_language(sample: Sequence[str], firsts: str) -> str:
    """Greek, Hindi, Chinese, Japanese or Korean when most of the sample is in that script
    (``firsts``: the first letters of its tokens)."""
    rest = _ASCII.sub("", firsts)
    if len(rest) * 2 < len(sample):  # too few letters of other scripts to be most of the sample
        return ""
    counts: Counter[str] = Counter()  # scripts of the first letters, in order of first appearance
    for first, n in Counter(rest).items():
        counts[_other_script(first)] += n
    script, n = counts.most_common(1)[0] if counts else ("other", 0)
    if n * 2 < len(sample) or script == "other":
        return ""
    if script == "cjk":
        text = "".join(sample)
        if _HANGUL.search(text):
            return "ko"
        return "ja" if _KANA.search(text) else "zh"
    return {"greek": "el", "devanagari": "hi"}.get(script, "")


# Per-token caches hold at most this many words each (per language where they are per language): a
# daemon reads new words for ever.  A full cache starts afresh (swapped for an empty one, so a
# thread still holding the old one finishes its article with it); the words an article needs come
# back within that article.
CACHE_SIZE = 200_000


@dataclass(frozen=True, slots=True)
class Weights:
    """How much a word says, from background word frequencies: -ln(freq), floored and capped."""

    common: float = 1e-3  # words at least this frequent weigh nothing
    rare: float = 1e-7  # unknown words weigh as much as words this rare

    def idf(self, freq: float) -> float:
        """Weight of a word of this frequency."""
        return max(0.0, math.log(self.common / max(freq, self.rare)))


class Analyzer:
    """Maps tokens to (stem feature, weight) per language; caches every answer."""

    def __init__(
        self,
        frequency: Callable[[str, str], float],
        *,
        weights: Weights = Weights(),
        background: dict[str, float] | None = None,
        background_weight: float = 0.0,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._frequency = frequency
        # the same frequencies for many words at once (a document's new words)
        self._frequencies = (
            wordfreq_frequencies if frequency is wordfreq_frequency else batch.one_by_one(frequency)
        )
        self._cache_size = cache_size
        self._weights = weights
        self._background = background or {}
        self._bg_weight = background_weight
        self._local = threading.local()
        self._cache: dict[str, dict[str, tuple[str, float]]] = {}
        self._weighed: dict[float, float] = {}  # frequency -> weight, for ``features``

    def stemmer(self, lang: str) -> Callable[[str], str]:
        """This thread's stemmer of a language (Snowball stemmers keep state while they work)."""
        return self._per_thread("stemmers", make_stemmer, lang)

    def stems(self, lang: str) -> Callable[[list[str]], list[str]]:
        """This thread's batch stemmer of a language (``stemmer`` for many words in one call)."""
        return self._per_thread("stems", make_stems, lang)

    def _per_thread(self, kind: str, make: Callable[[str], _F], lang: str) -> _F:
        """This thread's ``make(lang)``, made once per thread and language."""
        made: dict[str, _F] | None = getattr(self._local, kind, None)
        if made is None:
            made = {}
            setattr(self._local, kind, made)
        fn = made.get(lang)
        if fn is None:
            fn = made[lang] = make(lang)
        return fn

    def token_language(self, token: str, doc_lang: str) -> str:
        """Which language's stemmer and frequencies apply to a token of a document."""
        script = script_of(token)
        if script == "latin":
            return doc_lang if doc_lang in _STOPSETS or doc_lang == "en" else "en"
        if script == "cyrillic":
            return doc_lang if doc_lang in ("ru", "uk", "bg") else "ru"
        if script == "arabic":
            return doc_lang if doc_lang in ("fa", "ar", "ur") else "fa"
        return doc_lang

    @property
    def cache_size(self) -> int:
        """How many tokens each per-language cache holds at most."""
        return self._cache_size

    def clear_cache(self) -> None:
        """Forget every token's feature (stemmers and their tables stay loaded)."""
        self._cache.clear()

    def stem_in(self, word: str, lang: str) -> str:
        """The stem of a word by one language's stemmer."""
        return self.stemmer(lang)(word)

    def stem(self, token: str, doc_lang: str) -> str:
        """The stem of a token as it appears in a document of a language."""
        return self.stemmer(self.token_language(token, doc_lang))(token)

    def cache_for(self, doc_lang: str) -> dict[str, tuple[str, float]]:
        """The token -> (stem, weight) cache of a document language (for tight loops)."""
        cache = self._cache.get(doc_lang)
        if cache is None:
            cache = self._cache.setdefault(doc_lang, {})  # atomic: threads share one dict
        elif len(cache) >= self._cache_size:  # full: start afresh (readers fall back to feature())
            cache = self._cache[doc_lang] = {}
        return cache

    def feature(self, token: str, doc_lang: str) -> tuple[str, float]:
        """The stem feature of a token and its background weight."""
        cache = self._cache.get(doc_lang)
        if cache is None or len(cache) >= self._cache_size:
            cache = self.cache_for(doc_lang)
        hit = cache.get(token)
        if hit is not None:
            return hit
        lang = self.token_language(token, doc_lang)
        stem = self.stemmer(lang)(token)
        # numbers, dates, "covid19": they say little about the subject
        weight = self._weights.idf(self._frequency(token, lang)) if token.isalpha() else 0.0
        if self._bg_weight and stem in self._background:
            weight = (1 - self._bg_weight) * weight + self._bg_weight * self._background[stem]
        hit = cache[token] = (stem, weight)
        return hit

    def features(self, tokens: Sequence[str], doc_lang: str) -> list[tuple[str, float]]:
        """``feature`` of each token; the new ones are worked out together, per language."""
        cache = self.cache_for(doc_lang)
        new = list(filterfalse(cache.__contains__, dict.fromkeys(tokens)))  # (picked out in C)
        if not new:
            return [cache.get(t) or self.feature(t, doc_lang) for t in tokens]
        found: dict[str, tuple[str, float]] = {}
        for lang, words in batch.by_language(new, lambda c: self.token_language(c, doc_lang)).items():
            learnt = batch.learn(
                words,
                lang,
                self.stems(lang),
                self._frequencies,
                self._weights.idf,
                self._weighed,
                self._background,
                self._bg_weight,
            )
            found.update(zip(words, learnt, strict=True))
        known = cache
        if len(cache) + len(found) > self._cache_size:  # full: start afresh, as ``feature`` does
            cache = self._cache[doc_lang] = {}
        if len(found) <= self._cache_size:
            cache.update(found)  # whole entries: other threads read an answer or none
        out = list(map(found.get, tokens))
        if None in out:  # known before, or (a renewed cache) ask again
            return [f or known.get(t) or self.feature(t, doc_lang) for t, f in zip(tokens, out, strict=True)]
        return out  # type: ignore[return-value]  # (no None in it)

    def fit_background(self, texts: Sequence[str], pseudo_count: float = 500.0) -> None:
        """Blend in document frequencies of stored articles; they count more the more there are."""
        df: Counter[str] = Counter()
        for text in texts:
            lang = detect_language(text)
            df.update({self.stem(tok, lang) for tok in set(tokenize(text))})
        n = len(texts)
        self._background = {s: math.log((n + 1) / (c + 0.5)) for s, c in df.items()}
        self._bg_weight = n / (n + pseudo_count) if n else 0.0
        self._cache.clear()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without stemmer objects (rebuilt lazily in the other process)."""
        return {
            "frequency": self._frequency,
            "weights": self._weights,
            "background": self._background,
            "bg_weight": self._bg_weight,
            "cache_size": self._cache_size,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["frequency"],
            weights=state["weights"],
            background=state["background"],
            background_weight=state["bg_weight"],
            cache_size=state.get("cache_size", CACHE_SIZE),
        )
