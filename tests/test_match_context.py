"""Context terms and co-occurrence (issue 12): ambiguous words count as people moving only in company.

Every sentence here is written for these tests.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from watcher import config, match
from watcher.config import ConceptGroup
from watcher.errors import ConfigError
from watcher.match import context, keywords
from watcher.models import Document

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> match.TopicModel:
    """The shipped topic with its shipped fitted weights."""
    model = match.build_model(config.load(ROOT / "config.toml").topics[0])
    assert model.combination is not None  # the weights fit the features (else this tests nothing)
    return model


def _score(model: match.TopicModel, text: str, lang: str) -> float:
    return model.score(Document(title="", text=text, url="t", id="t", language=lang)).score


# Afghans and Russia named, an ambiguous word (study, workers, university) but nobody moving.
OFF_TOPIC = [
    ("en", "Afghan nurses studied the methods of Russian doctors."),
    ("en", "Russian and Afghan officials said workers would build a rail line across the region."),
    ("en", "Russia's university rankings rose this year, while Afghanistan's football team won."),
    ("ru", "Российские и афганские чиновники заявили, что рабочие построят железную дорогу."),
    ("de", "Russische und afghanische Beamte sagten, Arbeiter würden eine Bahnlinie bauen."),
    ("fa", "مقامات روسیه و افغانستان گفتند کارگران یک خط آهن خواهند ساخت."),
]
# The same words about Afghans who study or work in Russia.
ON_TOPIC = [
    ("en", "Students from Afghanistan enrolled at a Russian university under a government quota."),
    ("en", "Afghan workers were sent to Russia under a labour agreement between Moscow and Kabul."),
    ("ru", "Студенты из Афганистана поступили в российский университет по квоте правительства."),
    ("ru", "Афганских рабочих направят в Россию по соглашению между Москвой и Кабулом."),
    ("de", "Studenten aus Afghanistan schrieben sich über eine Quote an einer russischen Universität ein."),
    ("fa", "دانشجویان افغان در دانشگاه های روسیه بر اساس سهمیه دولتی ثبت نام کردند."),
    ("fa", "محصلین افغان در پوهنتون های روسیه ثبت نام کردند."),  # the same in Dari's words
]


@pytest.mark.parametrize(("lang", "text"), OFF_TOPIC)
def test_an_ambiguous_word_alone_stays_below_the_threshold(
    shipped: match.TopicModel, lang: str, text: str
) -> None:
    assert _score(shipped, text, lang) < shipped.threshold


@pytest.mark.parametrize(("lang", "text"), ON_TOPIC)
def test_afghans_studying_or_working_in_russia_stay_above_the_threshold(
    shipped: match.TopicModel, lang: str, text: str
) -> None:
    assert _score(shipped, text, lang) >= shipped.threshold


def test_the_explanation_names_the_context_terms_under_migration(shipped: match.TopicModel) -> None:
    text = "Students from Afghanistan enrolled at a Russian university under a government quota."
    got = shipped.score(Document(title="", text=text, url="t", id="t", language="en"))
    assert {"student", "university", "quota"} <= set(got.groups["migration"])


# The Belarus route (transit towards Poland and the EU): Afghans crossing from Belarus, Russia unnamed.
BELARUS_ROUTE = [
    (
        "en",
        "Afghan migrants crossed from Belarus into Poland overnight. Border guards said the group of "
        "Afghans had flown to Minsk last month and walked through the forest towards the border. "
        "Several of the Afghan asylum seekers asked for protection at a Polish border post.",
    ),
    (
        "pl",
        "Grupa migrantów z Afganistanu przekroczyła w nocy granicę z Białorusią. Straż Graniczna "
        "podała, że Afgańczycy przylecieli do Mińska miesiąc temu. Kilku z nich złożyło wniosek o "
        "ochronę międzynarodową na polskiej placówce.",
    ),
]
# Belarus with Afghanistan but nobody moving (talks and trade), and Afghans moving with no route.
BELARUS_OFF_ROUTE = [
    (
        "en",
        "Belarus and Afghanistan discussed trade in fertiliser and tractors at talks in Minsk. "
        "The Afghan delegation met Belarusian ministers to sign a memorandum on farm machinery.",
    ),
    (
        "en",
        "Afghan refugees in Germany waited months for asylum decisions, and several Afghan families "
        "were moved to new shelters in Bavaria this week.",
    ),
]


@pytest.mark.parametrize(("lang", "text"), BELARUS_ROUTE)
def test_afghans_crossing_from_belarus_count_as_the_russia_side_of_the_route(
    shipped: match.TopicModel, lang: str, text: str
) -> None:
    got = shipped.score(Document(title="", text=text, url="t", id="t", language=lang))
    assert got.matched, got
    assert got.strengths["russia"] > 0  # only the Belarus terms can give it: Russia is not named
    assert any(t in got.groups["russia"] for t in ("belarus", "minsk", "białoruś", "mińsk")), got.groups


@pytest.mark.parametrize(("lang", "text"), BELARUS_OFF_ROUTE)
def test_belarus_without_people_moving_or_afghans_elsewhere_stay_out(
    shipped: match.TopicModel, lang: str, text: str
) -> None:
    assert _score(shipped, text, lang) < shipped.threshold


def _matcher(groups: list[ConceptGroup]) -> keywords.Matcher:
    return keywords.Matcher(groups, (), lambda word, lang: word)


GROUPS = [
    ConceptGroup("place", ("moscow",)),
    ConceptGroup("people", ("afghan",)),
    ConceptGroup("moving", ("migrant",)),
    ConceptGroup(
        "moving_context", ("students", "quota"), required=False, supports="moving", anchors=("people",)
    ),
]


def _results(text: str, groups: list[ConceptGroup] = GROUPS) -> dict[str, keywords.GroupResult]:
    m = _matcher(groups)
    tokens = text.split()
    hits, _ = m.find(tokens, 0)
    return {r.name: r for r in context.results(m, hits, 0, 1.5)}


def test_a_context_term_next_to_an_anchor_counts_in_full() -> None:
    near = _results("afghan students came to moscow")["moving"]
    alone = _results("students of old afghan history met in moscow")["moving"]
    assert near.terms == ("students",)
    assert near.evidence == pytest.approx(keywords.LEAD_WEIGHT)
    assert alone.evidence == pytest.approx(context.WEAK * keywords.LEAD_WEIGHT)
    assert 0 < alone.strength < near.strength


def test_the_anchor_may_follow_the_context_term_by_two_words() -> None:
    assert _results("students from afghan towns")["moving"].evidence == pytest.approx(keywords.LEAD_WEIGHT)
    far = _results("students came from afghan towns")["moving"]
    assert far.evidence == pytest.approx(context.WEAK * keywords.LEAD_WEIGHT)


def test_several_context_terms_in_one_passage_add_up_to_one_mention_at_most() -> None:
    two = _results("the students got a quota from the afghan officials")["moving"]
    assert two.evidence == pytest.approx(2 * context.WEAK * keywords.LEAD_WEIGHT)
    strong = _results("the migrant students got a quota")["moving"]
    assert strong.evidence == pytest.approx(keywords.LEAD_WEIGHT)  # a strong term's passage: no extra


def test_without_anchors_every_other_required_group_anchors() -> None:
    groups = [*GROUPS[:3], ConceptGroup("moving_context", ("students",), required=False, supports="moving")]
    assert _results("moscow students", groups)["moving"].evidence == pytest.approx(keywords.LEAD_WEIGHT)
    assert _results("moscow students", GROUPS)["moving"].evidence < keywords.LEAD_WEIGHT


def test_together_counts_passages_naming_every_required_concept() -> None:
    filler = " ".join(["word"] * 80)
    m = _matcher(GROUPS)
    for text, expected in [
        ("afghan migrant arrived in moscow", 1),
        (f"afghan migrant arrived {filler} in moscow", 0),
        (f"afghan migrant in moscow {filler} another afghan migrant in moscow", 2),
    ]:
        tokens = text.split()
        hits, _ = m.find(tokens, 0)
        found = context.results(m, hits, 0, 1.5)
        got = context.together(m.groups, found, 0, 1.5)
        assert got == pytest.approx(1 - math.exp(-expected / 1.5), rel=1e-6)


def _topic_config(tmp_path: Path, context_line: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[[topics]]\nname = "t"\nconcepts = ["russia", "afghanistan", "migration"]\n{context_line}\n',
        encoding="utf-8",
    )
    return path


def test_context_config_builds_a_supporting_group(tmp_path: Path) -> None:
    line = 'context = { migration_context = ["migration", "afghanistan"] }'
    cfg = config.load(_topic_config(tmp_path, line))
    group = {g.name: g for g in cfg.topics[0].groups}["migration_context"]
    assert (group.required, group.supports, group.anchors) == (False, "migration", ("afghanistan",))
    assert "en:student" in group.terms


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('context = { migration_context = "visas" }', r"topics\[0\]\.context\.migration_context: must name"),
        ('context = { nope = "migration" }', r"context\.nope: unknown concept"),
        ("context = { migration_context = [] }", r"context\.migration_context: must name"),
    ],
)
def test_a_bad_context_entry_is_one_clear_error(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(_topic_config(tmp_path, line))
