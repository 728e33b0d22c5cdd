"""Words whose key is too short to match by stem still match in their inflected forms (issue 12).

A lexicon word whose stem has fewer than ``keywords.MIN_STEM`` letters ("ρώσος" stems to "ρωσ",
Turkish "rus", Finnish "afgaani" to "afg") is matched as written, so that a short stem cannot
collide with words of thirty other languages.  Its inflections, as simplemma's dictionary of its
language lists them, are shipped (``lemmas/inflections.json``) and match too; nothing else does.
Greek heads also take the stress on any vowel, since it moves as a Greek word inflects.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from watcher.config import ConceptGroup
from watcher.match.keywords import Matcher, without_proclitics
from watcher.match.morph import Morphology
from watcher.match.text import tokenize

ROOT = Path(__file__).resolve().parents[1]


def _found(terms: tuple[str, ...], languages: tuple[str, ...], text: str) -> tuple[str, ...]:
    """The terms of one group found in a text (term texts, in order of first hit)."""
    morphology = Morphology()
    matcher = Matcher([ConceptGroup("g", terms)], (), morphology.key, languages, morphology.term_key)
    tokens = tokenize(text)
    hits, _ = matcher.find(tokens, 0)
    return tuple(dict.fromkeys(matcher.group_terms[0][h.term].text for h in hits[0]))


def test_greek_inflections_of_short_stems_match() -> None:
    """Genitive of "Russia", plural and genitive plural of "Russian": each its own sentence."""
    terms = ("el:ρωσία", "el:ρώσος")
    assert _found(terms, ("el",), "Οι κυρώσεις της Ρωσίας συνεχίζονται.") == ("el:ρωσία",)
    assert _found(terms, ("el",), "Δύο Ρώσοι δημοσιογράφοι έφτασαν.") == ("el:ρώσος",)
    assert _found(terms, ("el",), "Η γνώμη των Ρώσων άλλαξε.") == ("el:ρώσος",)


def test_greek_stress_that_moves_does_not_hide_a_word() -> None:
    """ "άσυλο" keys to "ασυλ"; its genitive "ασύλου" starts with a stressed letter the term lacks."""
    assert _found(("el:άσυλο",), ("el",), "Η αίτηση ασύλου απορρίφθηκε.") == ("el:άσυλο",)


def test_other_languages_short_words_in_their_inflections() -> None:
    assert _found(("tr:rus",), ("tr",), "Ruslar sınırı geçti.") == ("tr:rus",)
    assert _found(("fi:afgaani",), ("fi",), "Afgaanit saapuivat rajalle.") == ("fi:afgaani",)
    assert _found(("es:ruso",), ("es",), "Los soldados rusos y la prensa rusa.") == ("es:ruso",)


def test_a_short_word_does_not_become_a_stem_match() -> None:
    """French "visa" stems to "vis": "visé" (aimed at) and "vis" (I live) stem so too and must not
    match; the dictionary's "visas" does.  Nor does the word match inside a longer one."""
    assert _found(("fr:visa",), ("fr",), "Le ministre est visé par une enquête ; je vis ici.") == ()
    assert _found(("fr:visa",), ("fr",), "Les visas ont été refusés.") == ("fr:visa",)
    assert _found(("tr:rus",), ("tr",), "Rustik bir ev.") == ()


def test_shipped_inflections_are_what_the_generator_writes() -> None:
    """Fails when the lexicon, config.toml or simplemma changed without rerunning the script (it
    loads simplemma's dictionaries of some twenty languages: a few minutes)."""
    spec = importlib.util.spec_from_file_location("gen_lemmas", ROOT / "scripts" / "gen_lemmas.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    shipped = (ROOT / "watcher" / "match" / "lemmas" / "inflections.json").read_text(encoding="utf-8")
    assert shipped == gen.render(gen.inflection_table()), (
        "inflections.json is stale: run scripts/gen_lemmas.py"
    )
    forms = json.loads(shipped)["forms"]
    assert "ρώσοι" in forms["el"]["ρώσος"] and "ruslar" in forms["tr"]["rus"]


def test_every_term_word_of_the_shipped_topic_matches_itself_in_an_article() -> None:
    """A term word whose dictionary lemma is another word ("μετανάστης" -> "μετανάστρια", Arabic
    "لجوء", Turkish "sığınma") keys otherwise in an article than as a term: both keys match it."""
    from watcher import config, match

    model = match.build_model(config.load(ROOT / "config.toml").topics[0])
    missing = []
    for group in model.matcher.groups:
        for term in group.terms:
            lang, _, word = term.partition(":")
            tokens = tokenize(word)
            single = len(lang) <= 3 and len(tokens) == 1 and " " not in word and not word.endswith("*")
            if single and not model.matcher.atoms_of(tokens[0]):
                missing.append(term)
    assert not missing


def test_a_lexicon_word_whose_lemma_is_another_word_matches_in_its_forms() -> None:
    assert _found(("el:μετανάστης",), ("el",), "Ο μετανάστης έφτασε στο λιμάνι.") == ("el:μετανάστης",)
    assert _found(("el:φοιτητής",), ("el",), "Ένας φοιτητής από το Αφγανιστάν.") == ("el:φοιτητής",)
    assert _found(("ar:لجوء",), ("ar",), "قدم طلب لجوء في المطار.") == ("ar:لجوء",)
    assert _found(("tr:sığınma",), ("tr",), "Sığınma başvurusu reddedildi.") == ("tr:sığınma",)


def test_arabic_words_with_attached_particles_match() -> None:
    """"و" and, "ف" so, "ب" with, "ل" for, "ك" like, written onto the word (and "لل" for "ل" + "ال")."""
    terms = ("ar:أفغانستان", "ar:روسيا", "ar:مهاجر", "ar:اللاجئين", "ar:الأفغان")
    found = _found(terms, ("ar",), "وصل مهاجرون من سوريا وأفغانستان.")
    assert set(found) == {"ar:أفغانستان", "ar:مهاجر"}
    assert _found(terms, ("ar",), "سافروا لروسيا بتأشيرة.") == ("ar:روسيا",)
    found = _found(terms, ("ar",), "قدمت المساعدة للاجئين والمهاجرين وللأفغان.")
    assert set(found) == {"ar:اللاجئين", "ar:مهاجر", "ar:الأفغان"}


def test_the_particles_cut_leave_a_word_of_three_letters_or_more() -> None:
    assert without_proclitics("وروسیا") == ["روسیا"]
    assert without_proclitics("وبروسیا") == ["روسیا", "بروسیا"]
    assert without_proclitics("للاجئین") == ["الاجئین", "اللاجئین", "لاجئین"]
    assert without_proclitics("للافغان")[0] == "الافغان"
    assert without_proclitics("ولد") == []  # "ول" + one letter: too short to be a word
    assert without_proclitics("روسیا") == []


def test_arabic_suffixes_are_stemmed_as_arabic_spells_them() -> None:
    """The tokeniser writes yeh and kaf in their Persian forms; the Arabic dictionary and stemmer get
    them back in Arabic, or "المهاجرين" (the migrants) keys to "مهاجری" and misses "مهاجر"."""
    terms = ("ar:مهاجر", "ar:تأشيرة", "ar:لاجئ")
    assert _found(terms, ("ar",), "وصل المهاجرين إلى الحدود.") == ("ar:مهاجر",)
    assert _found(terms, ("ar",), "رفضت السلطات التأشيرات.") == ("ar:تأشيرة",)
    assert _found(terms, ("ar",), "عاد اللاجئين إلى بلادهم.") == ("ar:لاجئ",)


def test_inflected_forms_that_stem_otherwise_match_in_stemmed_languages() -> None:
    """Russian, Polish, Finnish and German are keyed by their Snowball stem alone, and a word's forms
    do not always share it: "беженец" stems to itself, "беженцы" to "беженц"; "Дагестан" to
    "дагеста", "в Дагестане" to "дагестан".  The stems of the dictionary's forms match too."""
    assert _found(("ru:беженец",), ("ru",), "Беженцы из Афганистана прибыли утром.") == ("ru:беженец",)
    assert _found(("ru:беженец",), ("ru",), "Число беженцев выросло.") == ("ru:беженец",)
    assert _found(("ru:Дагестан",), ("ru",), "Они работают в Дагестане.") == ("ru:Дагестан",)
    assert _found(("pl:Rosjanin",), ("pl",), "Rosjanie zamknęli granicę.") == ("pl:Rosjanin",)
    assert _found(("pl:student",), ("pl",), "Studenci z Afganistanu przyjechali.") == ("pl:student",)
    assert _found(("fi:Afganistan",), ("fi",), "He palasivat Afganistaniin.") == ("fi:Afganistan",)
    assert _found(("de:abschieben",), ("de",), "Sie wurden abgeschoben.") == ("de:abschieben",)


def test_shipped_stem_forms_are_what_the_generator_writes_for_russian_and_polish() -> None:
    """Fails when the lexicon, config.toml or simplemma changed without rerunning the script (the
    whole table loads some twenty dictionaries; two of them are checked here)."""
    spec = importlib.util.spec_from_file_location("gen_lemmas", ROOT / "scripts" / "gen_lemmas.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    shipped = json.loads((ROOT / "watcher" / "match" / "lemmas" / "stem_forms.json").read_text("utf-8"))
    words = gen.stem_words()
    assert set(shipped["forms"]) <= set(words), "stem_forms.json is stale: run scripts/gen_lemmas.py"
    for lang in ("ru", "pl"):
        assert shipped["forms"][lang] == gen.stem_forms(lang, words[lang]), (
            "stem_forms.json is stale: run scripts/gen_lemmas.py"
        )
