"""The shipped lemma tables (issues 12 and 16): the dictionary's answers without loading it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from watcher.config import ConceptGroup
from watcher.match import morph
from watcher.match.keywords import Matcher
from watcher.match.morph import LEMMA_LANGUAGES, Morphology, lemma_table, stem_function

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_lemmas", ROOT / "scripts" / "gen_lemmas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _generator()


def test_shipped_tables_are_what_the_generator_writes(gen: ModuleType) -> None:
    """Fails when the lexicon, config.toml or simplemma changed without rerunning the script."""
    covered = gen.covered_keys()
    assert set(covered) == set(LEMMA_LANGUAGES)
    for lang, covers in sorted(covered.items()):
        shipped = (ROOT / "watcher" / "match" / "lemmas" / f"{lang}.json").read_text(encoding="utf-8")
        assert shipped == gen.render(gen.table(lang, covers)), (
            f"watcher/match/lemmas/{lang}.json is stale: run scripts/gen_lemmas.py"
        )


@pytest.mark.parametrize("lang", sorted(LEMMA_LANGUAGES))
def test_table_keys_as_the_dictionary_does_for_every_covered_key(gen: ModuleType, lang: str) -> None:
    """Every form of the dictionary, and words it lacks: covered or not as the dictionary says."""
    table = lemma_table(lang)
    assert table is not None
    sample = gen.dictionary_forms(lang)
    # words no dictionary has, and words not in NFC (as a page may spell them)
    sample += ["zzqx" + w for w in sample[::500]] + [unicodedata.normalize("NFD", w) for w in sample[::500]]
    dictionary = Morphology().keys(sample, lang)
    fast = Morphology()
    fast.expect(lang, table.covers)
    assert fast.tabled(lang) is table
    wrong = [
        (word, want, got)
        for word, want, got in zip(sample, dictionary, fast.keys(sample, lang), strict=True)
        if (want in table.covers or got in table.covers) and want != got
    ]
    assert not wrong, f"{len(wrong)} forms keyed otherwise than by the dictionary, e.g. {wrong[:3]}"
    assert [fast.key(w, lang) for w in sample[::97]] == fast.keys(sample[::97], lang)


def _uk_matcher(morphology: Morphology, *terms: str) -> Matcher:
    group = ConceptGroup("migration", tuple(terms))
    return Matcher([group], (), morphology.key, ("uk",), morphology.term_key)


def test_a_covered_topic_never_loads_a_dictionary() -> None:
    """The shipped topic, scored on Ukrainian, Turkish, Persian and Greek words: simplemma stays out."""
    code = """
import sys
from pathlib import Path
from watcher import config, match
from watcher.models import Document
model = match.build_model(config.load(Path(sys.argv[1])).topics[0])
doc = Document("Афганські мігранти в Росії", "Мігрантів з Афганістану депортували з Росії. "
    "Rusya'daki Afgan göçmenler. مهاجران افغان در روسیه. Αφγανοί μετανάστες στη Ρωσία.", language="uk")
score = model.score(doc)
print(score.groups["migration"], "simplemma" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "config.toml")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[-1] == "False"  # simplemma was never imported
    assert "мігрантів" in " ".join(out) or "мігрант" in " ".join(out)


def test_an_uncovered_term_falls_back_to_the_dictionary() -> None:
    """A term the tables were not made for: its language is keyed by the dictionary, as before."""
    table = lemma_table("uk")
    assert table is not None
    morphology = Morphology()
    # "друг" (friend): its plural "друзі" has another stem; only the dictionary knows they are one
    matcher = _uk_matcher(morphology, "uk:друг")
    assert not matcher.stem_keys()["uk"] <= table.covers
    assert morphology.tabled("uk") is None
    hits, _ = matcher.find(["друзі"], 0)
    assert hits[0], "the dictionary's lemma of друзі is друг"
    covered = Morphology()
    _uk_matcher(covered, "uk:мігрант")
    assert covered.tabled("uk") is table


def test_a_table_written_by_another_simplemma_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    lemma_table.cache_clear()
    monkeypatch.setattr(morph, "_simplemma_version", lambda: "0.0.1")
    try:
        assert lemma_table("uk") is None
        morphology = Morphology()
        _uk_matcher(morphology, "uk:мігрант")
        assert morphology.tabled("uk") is None
        assert morphology.key("мігрантів", "uk") == morphology.key("мігрант", "uk")
    finally:
        lemma_table.cache_clear()


def test_tables_are_small_and_well_formed() -> None:
    for lang in sorted(LEMMA_LANGUAGES):
        path = ROOT / "watcher" / "match" / "lemmas" / f"{lang}.json"
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert raw["lang"] == lang
        covers, stem = set(raw["covers"]), stem_function(lang)
        for form, key in raw["forms"].items():  # only forms that matter to a covered key
            assert key != stem(form) and (key in covers or stem(form) in covers), (lang, form)
        assert path.stat().st_size < 2_000_000, f"{path.name} grew past 2 MB"


def test_a_dictionary_spelling_that_starts_otherwise_is_still_found() -> None:
    """"афґаністан" (an older Ukrainian spelling) keys to "афганістан": its first letters count too."""
    table = lemma_table("uk")
    assert table is not None
    morphology = Morphology()
    matcher = _uk_matcher(morphology, "uk:афганістан")
    assert morphology.tabled("uk") is table
    assert table.forms.get("афґаністан") == morphology.term_key("афганістан", "uk")
    hits, _ = matcher.find(["біженці", "в", "афґаністан"], 0)
    assert [h.position for h in hits[0]] == [2]
