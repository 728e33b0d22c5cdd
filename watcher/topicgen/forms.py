"""Lexicon terms and seed names -> the matcher's term syntax, with morphology for names.

A lexicon term is a dictionary form; it is written ``xx:term`` for a language the matcher
lemmatises or stems (both sides alike) and as it stands otherwise (its ``*`` marks a stem;
Chinese, Japanese and Korean terms are looked for inside longer runs of letters).  A
place or person name gets a prefix instead: names decline ("России", "Kazakhstan's",
"Қазақстанда") and make adjectives ("казахстанский"), which no stemmer of a foreign word knows.
"""

from __future__ import annotations

import re

from anyascii import anyascii

from ..match.morph import SUBSTRING_LANGUAGES, has_morphology
from ..match.text import strip_accents

# Han, kana and Hangul: scripts the matcher looks for inside longer runs, without stems or prefixes
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_VOWEL_END = re.compile(r"(?:ия|ія|ья|а|я|ы|и|і|е|о|ia|ie|a|e|o|y|i)$")
_STAN = re.compile(r"(?:istan|iston|stan|стан|istón|istão|ستان)$")
MIN_PREFIX = 4  # a shorter stem would match unrelated words
# Latin -> Cyrillic for names written in English spelling (Tokayev -> токаев).  Only a
# transliteration table for names: no library on the package registries goes this way for
# English-style romanisations (``transliterate`` expects its own Russian romanisation).
_LAT_CYR = [
    ("shch", "щ"), ("sch", "ш"), ("kh", "х"), ("zh", "ж"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
    ("yu", "ю"), ("ya", "я"), ("ye", "е"), ("yo", "ё"), ("iy", "ий"), ("j", "дж"), ("a", "а"),
    ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"),
    ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"), ("x", "кс"), ("y", "ы"), ("z", "з"),
]  # fmt: skip


def has_cjk(text: str) -> bool:
    """Whether a text holds Chinese, Japanese or Korean letters."""
    return _CJK.search(text) is not None


def lexicon_term(term: str, lang: str) -> str:
    """A subject term of the lexicon in the matcher's syntax."""
    if "*" in term or has_cjk(term) or lang in SUBSTRING_LANGUAGES or not has_morphology(lang):
        return term
    return f"{lang}:{term}"


# Arabic writes conjunctions, prepositions and the article onto the next word: "وكازاخستان",
# "بكازاخستان", "الكازاخستانية".
ARABIC_CLITICS = ("و", "ب", "ل", "ال", "وال", "بال", "لل", "ف")


def name_forms(name: str, lang: str = "") -> list[str]:
    """Matcher terms for a name: a prefix for each word form that declines, exact CJK phrases."""
    name = name.lower().strip()
    if lang == "ar" and " " not in name and not name.startswith("ال"):
        base = name_forms(name)
        return base + [c + f for c in ARABIC_CLITICS for f in base]
    if has_cjk(name):
        return [name]
    words = name.split()
    if not words:
        return []
    out = [" ".join([*words[:-1], _prefix(words[-1])])]
    stem = _STAN.sub("", words[-1])
    if stem != words[-1] and len(stem) >= MIN_PREFIX + 1 and len(words) == 1:
        out.append(stem + "*")  # Kazakhstan -> kazakh*: Kazakh, Kazakhs, казахи
    return list(dict.fromkeys(out))


def _prefix(word: str) -> str:
    if len(word) < MIN_PREFIX + 1 or not word.isalpha():
        return word
    stem = _VOWEL_END.sub("", word)
    return (stem if len(stem) >= MIN_PREFIX else word) + "*"


def to_cyrillic(name: str) -> str:
    """A Latin-script name in Russian spelling, by a small table (Balkhash -> балхаш)."""
    return transcribe(strip_accents(name.lower()), _LAT_CYR)


def transcribe(latin: str, table: list[tuple[str, str]], spaces: str = "") -> str:
    """Letter groups replaced by the first table entry that starts there, longest first as listed;
    a character the table lacks is kept, or written as a space when it is one of ``spaces``."""
    out, i = [], 0
    while i < len(latin):
        for lat, other in table:
            if latin.startswith(lat, i):
                out.append(other)
                i += len(lat)
                break
        else:
            out.append(" " if latin[i] in spaces else latin[i])
            i += 1
    return "".join(out)


def to_latin(name: str) -> str:
    """Any script to plain Latin letters (anyascii): Токаев -> tokaev."""
    return anyascii(name).lower()
