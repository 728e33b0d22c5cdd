"""Issue 18, the proposal's general rules: a story between two places requires both; each place
competes only with the other countries of its own continent (a Finnish border article about
Afghans coming from Russia is no "Afghanistan elsewhere"); the subject brings the lexicon's wider
concept with every angle of it; hand-written places get the gazetteer's cities too."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import MappingProxyType

from watcher import config as config_mod
from watcher import match
from watcher.lexicon import Concept
from watcher.models import Document
from watcher.topicgen import general_concepts
from watcher.topicgen.detect import Found, Seed
from watcher.topicgen.propose import Proposal, propose
from watcher.topicgen.render import render


def _concept(name: str, kind: str, **terms: list[str]) -> Concept:
    return Concept(name, name.title(), kind, MappingProxyType({k: tuple(v) for k, v in terms.items()}))


RUSSIA = _concept("russia", "place", en=["Russia"], ru=["Россия"])
AFGHANISTAN = _concept("afghanistan", "place", en=["Afghanistan", "Afghan"])
FINLAND = _concept("finland", "place", en=["Finland"])
PAKISTAN = _concept("pakistan", "place", en=["Pakistan"])
MIGRANTS = _concept("migrants", "subject", en=["migrant"])
MIGRATION = _concept("migration", "subject", en=["migrant", "student", "visa", "deportation"])
PLACES = {c.name: c for c in (RUSSIA, AFGHANISTAN, FINLAND, PAKISTAN)}
CONTINENTS = {"russia": "europe", "finland": "europe", "afghanistan": "asia", "pakistan": "asia"}
SEEDS = [Seed("a", "t", "x"), Seed("b", "t", "x")]
FOUND = [
    Found(RUSSIA, 40.0, 2, ("russia",)),
    Found(AFGHANISTAN, 35.0, 2, ("afghan",)),
    Found(MIGRANTS, 20.0, 2, ("migrant",)),
]


def _proposal(angles: dict[str, Concept] | None = None) -> Proposal:
    return propose(SEEDS, FOUND, [], PLACES, CONTINENTS, lambda _n, _c: 0, (), angles)


def test_two_places_named_alike_are_both_required_each_with_its_own_continent_as_contrast() -> None:
    p = _proposal()
    assert [g.name for g in p.places] == ["russia", "afghanistan"]
    contrasts = {g.contrast: {c.name for c in g.concepts} for g in p.contrasts}
    assert contrasts == {"russia": {"finland"}, "afghanistan": {"pakistan"}}


def test_the_subject_takes_the_wider_concept_with_every_angle_and_needs_more_evidence() -> None:
    plain = _proposal()
    assert [c.name for c in plain.subject.concepts] == ["migrants"] and plain.subject.weight == 1.0
    wide = _proposal({"migrants": MIGRATION})
    assert [c.name for c in wide.subject.concepts] == ["migrants", "migration"]
    assert wide.subject.weight > 1.0
    block = render("ra", wide, ["a", "b"], ["t", "t"], ["en"])
    groups = {g["name"]: g for g in tomllib.loads(block)["topics"][0]["groups"]}
    assert {"en:student", "en:visa"} <= set(groups["migrants"]["terms"])
    assert groups["migrants"]["weight"] == wide.subject.weight


def test_an_article_with_both_places_strong_is_not_pushed_out_by_a_third_country(tmp_path: Path) -> None:
    seeds = []
    for i, text in enumerate(["Russia to take 1,000 Afghan migrants", "Afghan migrants in Russia"]):
        seeds.append(tmp_path / f"seed_{i}.txt")
        seeds[-1].write_text(f"{text}\n\n{text}.", encoding="utf-8")
    block = render("ra", _proposal(), [str(s) for s in seeds], ["t", "t"], ["en"])
    cfg = tmp_path / "config.toml"
    cfg.write_text(block, encoding="utf-8")
    model = match.build_model(config_mod.load(cfg).topic("ra"))
    crossing = Document(
        title="Afghan migrants cross from Russia into Finland",
        text="Finland closed a crossing after 40 Afghan migrants came from Russia. Finland says Russia "
        "lets migrants reach the border; Finland will keep the crossing closed. The Afghan migrants "
        "had lived in Russia for years.",
    )
    score = model.score(crossing)
    assert score.score >= model.topic.threshold, score
    assert score.strengths["afghanistan"] > 0.9, score.strengths  # Finland is no alternative to it


def test_hand_written_places_get_the_gazetteer_cities() -> None:
    russia = general_concepts()["russia"]
    assert "volgograd" in russia.terms["en"] and "волгоград" in russia.terms["ru"]
    assert "Putin" in russia.terms["en"]  # the hand-written terms stay, first
