"""The multilingual concept lexicon (issue 12): data, morphology, and articles written for these tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher import config, lexicon, match
from watcher.cli import main
from watcher.errors import ConfigError
from watcher.match import learned
from watcher.match.morph import Morphology, has_morphology
from watcher.models import Document

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = [
    "en",
    "ru",
    "uk",
    "fa",
    "ps",
    "ar",
    "tr",
    "uz",
    "tg",
    "kk",
    "ky",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "pl",
    "nl",
    "el",
    "fi",
    "no",
    "sv",
    "zh",
    "ur",
    "hi",
]


@pytest.fixture(scope="module")
def model() -> match.TopicModel:
    return match.build_model(config.load(ROOT / "config.toml").topics[0])


def test_every_required_language_has_terms_in_each_core_concept() -> None:
    concepts = lexicon.load(["russia", "afghanistan", "migration", "migration_context", "belarus_route"])
    for name, concept in concepts.items():
        missing = [lang for lang in REQUIRED if not concept.terms.get(lang)]
        assert not missing, f"{name}: no terms in {missing}"
    # every angle, not a token list: the strong terms and the context terms (study, labour ...)
    angles = concepts["migration"].terms["fa"] + concepts["migration_context"].terms["fa"]
    assert len(set(angles)) >= 30


def test_prefixes_only_where_no_lemmatiser_or_stemmer() -> None:
    for concept in lexicon.load().values():
        for lang, terms in concept.terms.items():
            starred = [t for t in terms if t.endswith("*")]
            assert not starred or not has_morphology(lang), f"{concept.name}.{lang}: {starred}"


def test_malformed_lexicon_data_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"\[x\]\.kind"):
        lexicon.parse({"x": {"kind": "planet", "terms": {"en": ["a"]}}}, "test.toml")
    with pytest.raises(ConfigError, match="unknown concept 'nope'"):
        lexicon.load(["nope"])


def test_named_concepts_read_from_their_own_files_are_the_full_parse() -> None:
    """load(names) parses only the files whose [id] headers define them: the same concepts."""
    everything = lexicon.load()
    assert lexicon.names() == sorted(everything)
    assert lexicon.load(list(everything)) == everything
    shipped = [
        "russia", "afghanistan", "migration", "migration_context", "belarus_route", "elsewhere", "diplomacy"
    ]
    assert lexicon.load(shipped) == {n: everything[n] for n in shipped}


@pytest.mark.parametrize(
    ("lang", "inflected", "dictionary_form"),
    [
        ("ru", "студентов", "студент"),
        ("pl", "rosji", "rosja"),
        ("pl", "uchodźców", "uchodźca"),
        ("de", "flüchtlingen", "flüchtling"),
        ("fa", "مهاجران", "مهاجر"),
        ("el", "ρωσίας", "ρωσία"),
        ("uk", "мігрантів", "мігрант"),
        ("tr", "göçmenler", "göçmen"),
    ],
)
def test_inflected_forms_share_the_key_of_the_dictionary_form(
    lang: str, inflected: str, dictionary_form: str
) -> None:
    morph = Morphology()
    assert morph.key(inflected, lang) == morph.key(dictionary_form, lang)


GREEK = Document(
    "Αφγανοί φοιτητές και εργάτες στη Ρωσία",
    "Όλο και περισσότεροι Αφγανοί μετανάστες φτάνουν στη Ρωσία. Οι αφγανοί φοιτητές παίρνουν υποτροφίες "
    "σε ρωσικά πανεπιστήμια, ενώ εργάτες από το Αφγανιστάν ζητούν άδεια εργασίας και βίζα στο προξενείο "
    "της Μόσχας. Οι ρωσικές αρχές εξετάζουν ποσόστωση για τους εργαζόμενους από το Αφγανιστάν.",
    language="el",
)
PERSIAN = Document(
    "مهاجران افغان در روسیه",
    "شمار مهاجران افغان در روسیه افزایش یافته است. کارگران افغان برای مجوز کار و ویزا به سفارت روسیه "
    "در کابل مراجعه می‌کنند و دانشجویان افغان با بورسیه در دانشگاه‌های مسکو تحصیل می‌کنند. "
    "مقام‌های روسیه از سهمیه تازه برای کارگران افغانستان خبر دادند.",
    language="fa",
)
TURKISH = Document(
    "Rusya'daki Afgan göçmenler",
    "Rusya'ya gelen Afgan göçmenlerin sayısı artıyor. Afganistan'dan gelen işçiler Moskova'da çalışma "
    "izni ve vize için konsolosluğa başvuruyor; Afgan öğrenciler Rus üniversitelerinde burs alıyor. "
    "Rusya, Afganistan vatandaşları için yeni bir işçi kotası hazırlıyor.",
    language="tr",
)
NEAR_PAKISTAN = Document(
    "Afghan refugees in Pakistan face deportation",
    "Pakistan has ordered Afghan refugees without documents to leave. Thousands of Afghans crossed the "
    "border back into Afghanistan from Pakistan this week, and Pakistani police detained more Afghans in "
    "Islamabad and Karachi. Iran is also sending Afghans back; aid groups in Pakistan ask for time.",
    language="en",
)
NEAR_TRADE = Document(
    "Russia and the Taliban sign trade deal",
    "Russia and the Taliban government signed an agreement on trade in oil, gas and wheat. The Russian "
    "delegation in Kabul discussed investment, a railway through Central Asia and security cooperation. "
    "The foreign minister said talks on recognition of the Taliban would continue in Moscow.",
    language="en",
)


@pytest.mark.parametrize("doc", [GREEK, PERSIAN, TURKISH], ids=["el", "fa", "tr"])
def test_articles_about_afghan_migrants_in_russia_match(model: match.TopicModel, doc: Document) -> None:
    score = model.score(doc)
    assert score.matched, score.reasons()
    assert score.groups["migration"] and score.groups["afghanistan"] and score.groups["russia"]


@pytest.mark.parametrize("doc", [NEAR_PAKISTAN, NEAR_TRADE], ids=["pakistan", "trade"])
def test_near_misses_stay_out(model: match.TopicModel, doc: Document) -> None:
    score = model.score(doc)
    assert not score.matched, score.reasons()


def test_explanation_names_terms_as_found_in_the_article_language(model: match.TopicModel) -> None:
    score = model.score(PERSIAN)
    assert any(t in score.groups["migration"] for t in ("مهاجر", "کارگر", "ویزا"))
    assert not any(":" in t for terms in score.groups.values() for t in terms)


def _jsonl(path: Path, docs: list[tuple[Document, int]]) -> Path:
    lines = [
        json.dumps({"id": f"t{i}", "title": d.title, "text": d.text, "lang": d.language, "label": y})
        for i, (d, y) in enumerate(docs)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


LABELLED = [(GREEK, 1), (PERSIAN, 1), (TURKISH, 1), (NEAR_PAKISTAN, 0), (NEAR_TRADE, 0)] * 2


def test_topic_fit_changes_the_weights_and_they_round_trip(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "l.jsonl", LABELLED)
    out = tmp_path / "w.json"
    args = ["--config", str(ROOT / "config.toml"), "--db", str(tmp_path / "w.db")]
    assert main(["topic", "fit", "russia-afghan-migration", str(data), "--output", str(out), *args]) == 0
    fitted = learned.parse(out.read_text(encoding="utf-8"), str(out))
    shipped = learned.load(None, "russia-afghan-migration")
    assert shipped is not None and fitted.coef != shipped.coef and fitted.n == len(LABELLED)
    assert learned.parse(fitted.to_json(), "again") == learned.parse(out.read_text(encoding="utf-8"), "again")
    # The fitted weights separate what they were fitted on.
    topic = config.load(ROOT / "config.toml").topics[0]
    model = match.build_model(topic, fitted=False)
    for doc, label in LABELLED[:5]:
        assert (fitted.score(model.features(doc)) >= fitted.threshold) == bool(label)


def test_eval_folds_and_by_language_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _jsonl(tmp_path / "l.jsonl", LABELLED)
    args = ["--config", str(ROOT / "config.toml"), "--db", str(tmp_path / "w.db")]
    assert main(["eval", str(data), "--json", "--by-language", *args]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn", "misclassified"} <= plain.keys()
    assert set(plain["by_language"]) == {"el", "fa", "tr", "en"}
    assert plain["by_language"]["el"] == {"precision": 1.0, "recall": 1.0, "n": 2}
    assert main(["eval", str(data), "--folds", "2", "--json", *args]) == 0
    cv = json.loads(capsys.readouterr().out)
    assert [f["fold"] for f in cv["folds"]] == [1, 2]
    assert sum(f["n"] for f in cv["folds"]) == len(LABELLED)
    assert cv["tp"] + cv["fp"] + cv["fn"] + cv["tn"] == len(LABELLED)
    assert set(cv["by_language"]) == {"el", "fa", "tr", "en"}


def test_stratified_folds_spread_each_label_and_language() -> None:
    keys = ["1:en"] * 10 + ["0:en"] * 10 + ["1:fa"] * 5
    folds = learned.stratified_folds(keys, 5)
    for k in range(5):
        assert [key for key, f in zip(keys, folds, strict=True) if f == k].count("1:fa") == 1
        assert [key for key, f in zip(keys, folds, strict=True) if f == k].count("1:en") == 2


def test_no_foreign_term_is_a_common_english_word_of_another_meaning() -> None:
    """A Norwegian "pass" (passport) would match every English "pass": terms in one script are
    matched in every article of that script, so such words stay out of the lexicon."""
    import wordfreq

    same_meaning = {"europa", "eu", "usa", "petrol", "commerce", "migrants", "students"}
    for concept in lexicon.load().values():
        english = {w.lower() for t in concept.terms.get("en", ()) for w in t.split()}
        for lang, terms in concept.terms.items():
            for term in terms if lang != "en" else ():
                word = term.rstrip("*").lower()
                if " " in word or not word.isascii() or word in english or word in same_meaning:
                    continue
                assert wordfreq.zipf_frequency(word, "en") < 3.5, f"{concept.name}.{lang}: {term}"


def test_language_of_greek_and_cjk_articles_is_detected(model: match.TopicModel) -> None:
    unlabelled = Document(GREEK.title, GREEK.text)
    assert model.score(unlabelled).language == "el"
    assert model.score(GREEK).language == "el"  # the given code is kept: same script
    chinese = Document("俄罗斯的阿富汗留学生", "俄罗斯大学的阿富汗留学生担心签证问题。")
    assert model.score(chinese).language == "zh"


def test_topic_config_names_concepts_adds_and_drops_terms(tmp_path: Path) -> None:
    raw = {
        "storage": {"db": str(tmp_path / "w.db")},
        "topics": [
            {
                "name": "t",
                "concepts": ["russia", "afghanistan", "migration"],
                "contrast": {"elsewhere": "russia"},
                "groups": [{"name": "migration", "terms": ["gastarbeiter"], "drop": ["community"]}],
            }
        ],
    }
    topic = config.parse(raw, tmp_path).topics[0]
    groups = {g.name: g for g in topic.groups}
    assert [g.required for g in topic.groups] == [True, True, True, False]
    assert groups["elsewhere"].contrast == "russia"
    assert "gastarbeiter" in groups["migration"].terms and "ru:мигрант" in groups["migration"].terms
    assert "en:community" not in groups["migration"].terms
    raw["topics"][0]["concepts"] = ["rusia"]
    unknown = r"topics\[0\]\.concepts: unknown concept 'rusia' \(did you mean 'russia'\?\)"
    with pytest.raises(ConfigError, match=unknown):
        config.parse(raw, tmp_path)
