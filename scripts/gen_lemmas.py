"""Write watcher/match/lemmas/<lang>.json: the simplemma dictionary forms that matter to the lexicon.

For each language the matcher lemmatises (``morph.lemma_language``), the keys of every lexicon term
and of the shipped config.toml's topics in it are the table's ``covers``; its ``forms`` are the
dictionary's forms (as tokens: lower-case, folded, NFC) whose key differs from their plain stem
while one of the two is covered.  With it, a matcher whose keys are covered keys words exactly as
the dictionary would, without loading it (seconds and hundreds of MB).

It also writes ``lemmas/inflections.json``: for a word whose key is too short to match by
(``keywords.MIN_STEM``, so matched as written: "ρώσος", Turkish "rus", Finnish "afgaani"), the
forms simplemma's dictionary of its language lists under it that start with the same letters
(accents aside): "ρώσοι", "ruslar", "afgaanit".

Run after changing the lexicon, config.toml or the simplemma version:
``.venv/bin/python scripts/gen_lemmas.py``; tests/test_match_lemmas.py fails while a table differs.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher import config, lexicon  # noqa: E402
from watcher.match.keywords import HEAD, MIN_STEM, Atom, Matcher, parse_term  # noqa: E402
from watcher.match.morph import (  # noqa: E402
    LEMMA_LANGUAGES,
    Morphology,
    lemma_language,
    stem_algorithm,
    stem_function,
)
from watcher.match.text import normalise, strip_accents, tokenize  # noqa: E402

OUT = ROOT / "watcher" / "match" / "lemmas"


def covered_keys(config_path: Path = ROOT / "config.toml") -> dict[str, set[str]]:
    """Per lemma language: the keys of the lexicon's terms and of the shipped topics' terms."""
    morphology = Morphology()
    atoms: dict[Atom, int] = {}
    words: list[tuple[str, str]] = []

    def term_key(word: str, lang: str) -> str:
        words.append((word, lang))
        return morphology.term_key(word, lang)

    for concept in lexicon.load().values():
        for term in lexicon.matcher_terms(concept):
            parse_term(term, term_key, atoms)
    keys: dict[str, set[str]] = {lang: set() for lang in LEMMA_LANGUAGES}
    for atom in atoms:
        if atom.kind == "stem" and atom.lang in keys:
            keys[atom.lang].add(atom.value)
    # a term word's own key in an article, where the dictionary lemmatises it to another word
    # (``Morphology.dictionary_key``): the matcher compares words with it too
    for word, lang in words:
        if lang in keys and len(own := morphology.key(word, lang)) >= MIN_STEM:
            keys[lang].add(own)
    for topic in config.load(config_path).topics:
        matcher = Matcher(topic.groups, topic.exclude, morphology.key, topic.languages, morphology.term_key)
        for lang, found in matcher.stem_keys().items():
            if lang in keys:
                keys[lang] |= found
    return keys


def shipped_terms(config_path: Path = ROOT / "config.toml") -> list[str]:
    """Every term of the lexicon's concepts and of the shipped topics (their groups and exclusions)."""
    terms = [t for concept in lexicon.load().values() for t in lexicon.matcher_terms(concept)]
    for topic in config.load(config_path).topics:
        terms += [*(t for g in topic.groups for t in g.terms), *topic.exclude]
    return terms


def short_words(config_path: Path = ROOT / "config.toml") -> dict[str, set[str]]:
    """Per language: the words of lexicon and shipped-topic terms matched as written (short keys)."""
    morphology = Morphology()
    atoms: dict[Atom, int] = {}
    for term in shipped_terms(config_path):
        parse_term(term, morphology.term_key, atoms)
    out: dict[str, set[str]] = {}
    for atom in atoms:
        if atom.kind == "exact" and atom.lang:
            out.setdefault(atom.lang, set()).add(atom.value)
    return out


def inflections(lang: str, words: set[str]) -> dict[str, list[str]]:
    """The dictionary's other forms of each word, starting as the word does (none: no dictionary)."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    try:
        dictionary = DefaultDictionaryFactory(cache_max_size=1).get_dictionary(lang)
    except ValueError:  # a language simplemma has no dictionary for
        return {}
    out: dict[str, set[str]] = {}
    for form, lemma in dictionary.items():
        word, token = normalise(str(lemma)), normalise(str(form))
        if word not in words or token == word:
            continue
        if strip_accents(token[:HEAD]) == strip_accents(word[:HEAD]) and tokenize(token) == [token]:
            out.setdefault(word, set()).add(Morphology.nfc(token))
    return {word: sorted(forms) for word, forms in sorted(out.items())}


def stem_words(config_path: Path = ROOT / "config.toml") -> dict[str, set[str]]:
    """Per stemmed-only language (Snowball, no lemma table): the words of lexicon and shipped-topic
    terms matched by their stem."""
    morphology = Morphology()
    words: dict[str, set[str]] = {}

    def term_key(word: str, lang: str) -> str:
        key = morphology.term_key(word, lang)
        if stem_algorithm(lang) and not lemma_language(lang) and len(key) >= MIN_STEM:
            words.setdefault(lang, set()).add(word)
        return key

    atoms: dict[Atom, int] = {}
    for term in shipped_terms(config_path):
        parse_term(term, term_key, atoms)
    return words


def stem_forms(lang: str, words: set[str]) -> dict[str, list[str]]:
    """The stems of the dictionary's forms of each word that stem otherwise than the word itself
    (Russian "беженцы" stems to "беженц", "беженец" to itself; Polish "Rosjanie", "Rosjanin")."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    try:
        dictionary = DefaultDictionaryFactory(cache_max_size=1).get_dictionary(lang)
    except ValueError:  # a language simplemma has no dictionary for
        return {}
    stem = stem_function(lang)
    out: dict[str, set[str]] = {}
    for form, lemma in dictionary.items():
        word, token = Morphology.nfc(normalise(str(lemma))), Morphology.nfc(normalise(str(form)))
        if word not in words or tokenize(token) != [token]:
            continue
        key = stem(token)
        if len(key) >= MIN_STEM and key != stem(word):
            out.setdefault(word, set()).add(key)
    return {word: sorted(keys) for word, keys in sorted(out.items())}


def stem_form_table() -> dict[str, object]:
    """``lemmas/stem_forms.json``: language -> word -> the other stems of its forms."""
    forms = {
        lang: found for lang, words in sorted(stem_words().items()) if (found := stem_forms(lang, words))
    }
    return {"simplemma": version("simplemma"), "forms": forms}


def inflection_table() -> dict[str, object]:
    """``lemmas/inflections.json``: language -> word -> forms."""
    forms = {
        lang: found for lang, words in sorted(short_words().items()) if (found := inflections(lang, words))
    }
    return {"simplemma": version("simplemma"), "forms": forms}


def dictionary_forms(lang: str) -> list[str]:
    """Every form of simplemma's dictionary of a language, as a token would spell it."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    forms = set()
    for form in DefaultDictionaryFactory(cache_max_size=1).get_dictionary(lang):
        token = normalise(form)
        if tokenize(token) == [token]:
            forms.add(Morphology.nfc(token))
    return sorted(forms)


def table(lang: str, covers: set[str]) -> dict[str, object]:
    """The shipped table of one language."""
    forms = dictionary_forms(lang)
    keys = Morphology().keys(forms, lang)  # nothing expected: the dictionary's answers
    stem = stem_function(lang)
    entries = {
        form: key
        for form, key in zip(forms, keys, strict=True)
        if key != (plain := stem(form)) and (key in covers or plain in covers)
    }
    return {"simplemma": version("simplemma"), "lang": lang, "covers": sorted(covers), "forms": entries}


def render(data: dict[str, object]) -> str:
    """One table as written to disk (stable: sorted, one entry a line)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for lang, covers in sorted(covered_keys().items()):
        data = table(lang, covers)
        (OUT / f"{lang}.json").write_text(render(data), encoding="utf-8")
        print(f"{lang}: {len(covers)} keys covered, {len(data['forms'])} forms")  # type: ignore[arg-type]
    data = inflection_table()
    (OUT / "inflections.json").write_text(render(data), encoding="utf-8")
    print(f"inflections: {sum(len(f) for f in data['forms'].values())} words")  # type: ignore[attr-defined]
    data = stem_form_table()
    (OUT / "stem_forms.json").write_text(render(data), encoding="utf-8")
    print(f"stem forms: {sum(len(f) for f in data['forms'].values())} words")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
