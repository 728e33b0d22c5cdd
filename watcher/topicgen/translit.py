"""A seed name in Latin letters -> its spellings in the other scripts of the news (issue 18).

A name that the samples write only in Latin letters ("Tokayev", "Balkhash") is written
"Токаев", "توكاييف", "토카예프", "トカエフ" by the articles of other languages.  Korean and
Japanese forms come from ICU's transforms (PyICU, the optional ``translit`` extra) after the
English-style spelling is respelled the way those languages hear it (a final "v" is "f", "kh"
is "h"); Cyrillic from ICU's BGN transform, else a small table; Arabic and Persian from a small
table, since ICU's Latin-Arabic writes no long vowels ("Putin" -> "پتن").  Without PyICU the
Korean and Japanese forms are left out and nothing else changes.  Nothing is fetched.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable

from ..match.text import strip_accents
from .forms import to_cyrillic, transcribe

MIN_LETTERS = 5  # a shorter name spelt in Hangul or kana is found inside too many other words
# English spelling -> Arabic letters (consonants, and vowels as the long vowels names are given)
_LAT_AR = [
    ("shch", "شتش"), ("kh", "خ"), ("sh", "ش"), ("ch", "تش"), ("zh", "ج"), ("gh", "غ"), ("ts", "تس"),
    ("th", "ث"), ("ph", "ف"), ("ou", "و"), ("oo", "و"), ("ee", "ي"), ("ya", "يا"), ("yo", "يو"),
    ("yu", "يو"), ("ye", "ي"), ("a", "ا"), ("b", "ب"), ("c", "ك"), ("d", "د"), ("e", "ي"), ("f", "ف"),
    ("g", "غ"), ("h", "ه"), ("i", "ي"), ("j", "ج"), ("k", "ك"), ("l", "ل"), ("m", "م"), ("n", "ن"),
    ("o", "و"), ("p", "ب"), ("q", "ق"), ("r", "ر"), ("s", "س"), ("t", "ت"), ("u", "و"), ("v", "ف"),
    ("w", "و"), ("x", "كس"), ("y", "ي"), ("z", "ز"),
]  # fmt: skip
# Persian writes p, ch, zh, g with its own letters, and its own yeh and kaf
_AR_FA = {"ي": "ی", "ك": "ک"}
_LAT_FA = [("ch", "چ"), ("zh", "ژ"), ("p", "پ"), ("g", "گ")] + [
    (lat, "".join(_AR_FA.get(c, c) for c in ar)) for lat, ar in _LAT_AR
]
_VOWELS = "aeiouy"


def _icu() -> Callable[[str, str], str] | None:
    """ICU's transform by id, or None when PyICU is not installed."""
    try:
        icu = importlib.import_module("icu")
    except ImportError:
        return None

    def transform(tid: str, text: str) -> str:
        return str(icu.Transliterator.createInstance(tid).transliterate(text))

    return transform


def other_scripts(name: str, *, use_icu: bool = True) -> dict[str, str]:
    """A Latin-script name in Cyrillic, Arabic, Persian and (with ICU) Korean and Japanese letters.

    ``use_icu``: use PyICU when it is installed (False: as if it were not).
    """
    latin = strip_accents(name.strip().lower())
    if not latin or not re.fullmatch(r"[a-z]+(?:[ '-][a-z]+)*", latin):
        return {}
    icu = _icu() if use_icu else None
    single = re.sub(r"([a-z])\1", r"\1", latin)  # Arabic script writes no doubled letter
    single = re.sub(r"(?<=[aeiou])y(?=e)", "yy", single)  # "Tokayev" -> "توكاييف"
    out = {"ru": _cyrillic(latin, icu), "ar": _table(single, _LAT_AR), "fa": _persian(single)}
    if icu is not None and len(latin.replace(" ", "")) >= MIN_LETTERS:
        out["ko"] = _nfc(icu("Latin-Hangul", _korean_spelling(latin)))
        out["ja"] = _nfc(icu("Latin-Katakana", _japanese_spelling(latin)))
    return {k: v for k, v in out.items() if v and not re.search("[a-z]", v)}


def _cyrillic(latin: str, icu: Callable[[str, str], str] | None) -> str:
    latin = re.sub(r"(?<=[^aeiou])y\b", "iy", latin)  # Zelensky -> зеленский
    if icu is not None:
        cyr = icu("Latin-Russian/BGN", latin).lower()
        if not re.search("[a-z]", cyr):  # a letter BGN does not map ("j"): the table
            return cyr
    return to_cyrillic(latin)


def _table(latin: str, table: list[tuple[str, str]]) -> str:
    # foreign names are mostly spelt with their vowels as long ones ("Tokayev" -> "توكايف"), so
    # every vowel is written (the tables); apostrophes and hyphens part words
    return transcribe(latin, table, spaces=" '-")


def _persian(latin: str) -> str:
    return re.sub("یی", "ی", _table(latin, _LAT_FA))  # Tokayev -> توکایف


def _korean_spelling(latin: str) -> str:
    """English-style romanisation -> how Korean writes the sounds (Tokayev -> tokayepeu)."""
    s = latin.replace("kh", "h").replace("zh", "j").replace("z", "j").replace("ph", "p").replace("f", "p")
    s = re.sub(r"v\b", "peu", s)
    s = re.sub(r"ey\b", "ei", s)  # Semey -> 세메이
    s = re.sub(r"(?<=[^aeiou])y\b", "i", s).replace("v", "b")
    s = re.sub(r"r(?=[^aeiouy])", "reu", s)
    s = re.sub(r"(?<=[aeiou])l(?=[aeiou])", "ll", s)
    s = re.sub(r"sh\b", "si", s)
    s = s.replace("sh", "sy")
    # a consonant before another consonant or at the end of a word takes the vowel "eu"
    return re.sub(rf"([bcdgkpst])(?=[^{_VOWELS}lmnrh]|\b)", r"\1eu", s)


def _japanese_spelling(latin: str) -> str:
    """English-style romanisation -> how Japanese writes the sounds (Tokayev -> tokaefu)."""
    s = latin.replace("kh", "h").replace("l", "r")
    s = re.sub(r"(?<=[aeiou])y(?=[aeiou])", "", s)
    s = re.sub(r"v\b", "fu", s)
    s = re.sub(r"(?<=[^aeiou])y\b", "ii", s)
    s = re.sub(r"sh\b", "shu", s)
    s = re.sub(r"ch\b", "chi", s)
    s = re.sub(rf"([td])(?=[^{_VOWELS}hsy]|\b)", r"\1o", s)
    return re.sub(rf"([bcdfgkmprstvz])(?=[^{_VOWELS}hy]|\b)", r"\1u", s)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
