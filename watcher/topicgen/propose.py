"""From what the seeds are about to a topic: required concept groups, names, a contrast group.

Pure.  The rules (issue 18), each general, none tuned to one story:

* where: the place named most in the seeds is required; another place named at least
  ``PLACE_SHARE`` as often, in every seed, is required too (a story between two countries);
* what: the subject concept with the most evidence in every seed is required (phrases shadow
  the shorter terms inside them, so "nuclear power plant" is not also "power plant"); subjects
  nearly as strong (``SUBJECT_SHARE``) and its close kin (``families``) that the seeds use join it
  as alternatives, and so does the lexicon's wider concept of the subject with all its angles
  (``angles``: migrants -> migration's study, labour, documents ...); the other subjects are
  only named in a comment (an optional group's bonus lifted near misses over the threshold);
* who: rare capitalised names found in every seed that the lexicon does not know (a president,
  a village, a lake) join the place group they share sentences with;
* near misses: the same subject elsewhere - every other country of each required place's own
  continent that the seeds do not name - competes with that place (a contrast group each), and
  weakens it only as far as it is named more often than the place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..lexicon import Concept
from .detect import Found, Name, Seed

PLACE_SHARE = 0.6
# A contrast place weakens the story's place as far as it outweighs it (1.0: named as often);
# 0.5 (outweigh twice over) let a Kazakh flood that names Kyrgyzstan once pass for a Kyrgyz one.
CONTRAST_WEIGHT = 1.0
SUBJECT_SHARE = 0.75
MAX_NAMES = 8
ANGLES_WEIGHT = 1.5  # a subject group widened by every angle needs more evidence (x^1.5)
# Bylines and wire services name no subject of a story.
AGENCIES = frozenset(
    [
        "afp",
        "ap",
        "reuters",
        "tass",
        "ria",
        "novosti",
        "interfax",
        "xinhua",
        "anadolu",
        "bbc",
        "cnn",
        "getty",
        "dpa",
        "efe",
        "ansa",
        "kyodo",
        "yonhap",
        "sputnik",
        "bloomberg",
        "associated",
        "press",
        "agence",
        "images",
        "photo",
    ]
)


@dataclass(frozen=True, slots=True)
class Group:
    """One concept group of the proposal and where its parts came from."""

    name: str
    concepts: tuple[Concept, ...]  # lexicon concepts whose terms it takes, in every language
    names: tuple[str, ...] = ()  # seed names (with their forms in other scripts)
    required: bool = True
    contrast: str = ""
    why: str = ""
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Proposal:
    """A topic proposed from seeds: its groups in order, and what was seen in the seeds."""

    places: tuple[Group, ...]
    subject: Group
    subject_others: tuple[Found, ...]
    contrasts: tuple[Group, ...]
    found: tuple[Found, ...] = field(default=())
    names: tuple[Name, ...] = field(default=())

    @property
    def groups(self) -> tuple[Group, ...]:
        """Every group, required first."""
        subject = (self.subject,) if self.subject.concepts else ()
        return (*self.places, *subject, *self.contrasts)


def propose(
    seeds: Sequence[Seed],
    found: Sequence[Found],
    names: Sequence[Name],
    places: Mapping[str, Concept],
    continents: Mapping[str, str],
    cooccur: Callable[[str, Concept], int],
    families: Sequence[Sequence[str]] = (),
    angles: Mapping[str, Concept] | None = None,
) -> Proposal:
    """The topic for seeds, given the concepts and names found in them (see the module rules)."""
    n = len(seeds)
    in_all = [f for f in found if f.seeds == n] or list(found)
    place_found = sorted((f for f in in_all if f.concept.kind != "subject"), key=lambda f: -f.evidence)
    subj_found = sorted((f for f in in_all if f.concept.kind == "subject"), key=lambda f: -f.evidence)
    if not place_found and not subj_found:
        raise ValueError("the seeds name no place and no subject the lexicon knows")
    anchors = [f for f in place_found if f.evidence >= PLACE_SHARE * place_found[0].evidence]
    subjects = [f for f in subj_found if f.evidence >= SUBJECT_SHARE * subj_found[0].evidence]
    if subjects:
        kin = {c for fam in families if subjects[0].concept.name in fam for c in fam}
        subjects += [
            f for f in found if f.concept.name in kin and f.concept.kind == "subject" and f not in subjects
        ]
    wide = _angles(subjects, angles or {})
    kept = [nm for nm in names if nm.seeds == n and nm.text.lower() not in AGENCIES and _is_name(nm.text)][
        :MAX_NAMES
    ]
    by_place: dict[str, list[str]] = {f.concept.name: [] for f in anchors}
    for nm in kept:
        if anchors:
            best = max(anchors, key=lambda f: (cooccur(nm.text, f.concept), f.evidence))
            by_place[best.concept.name].append(nm.text)
    place_groups = tuple(
        Group(
            f.concept.name,
            (f.concept,),
            tuple(by_place[f.concept.name]),
            why=f"place named in the seeds (evidence {f.evidence:.0f}: {', '.join(f.terms)})",
        )
        for f in anchors
    )
    subject = (
        Group(
            " or ".join(f.concept.name for f in subjects),
            (*(f.concept for f in subjects), *wide),
            weight=ANGLES_WEIGHT if wide else 1.0,
            why="; ".join(
                [f"{f.concept.name} (evidence {f.evidence:.0f}: {', '.join(f.terms)})" for f in subjects]
                + [f"and every angle of {c.label} the lexicon gathers ({c.name})" for c in wide]
            ),
        )
        if subjects
        else Group("subject", (), why="no subject concept found")
    )
    rest = tuple(f for f in subj_found if f not in subjects)
    contrasts = _contrasts(anchors, found, places, continents)
    return Proposal(place_groups, subject, rest, contrasts, tuple(found), tuple(kept))


def _angles(subjects: Sequence[Found], angles: Mapping[str, Concept]) -> tuple[Concept, ...]:
    """The lexicon's wider concept of the main subject, with every angle of it (migrants ->
    migration: study, labour, documents, protection, removal, movement), if it has one."""
    if not subjects or subjects[0].concept.name not in angles:
        return ()
    wide = angles[subjects[0].concept.name]
    return () if any(f.concept.name == wide.name for f in subjects) else (wide,)


def _contrasts(
    anchors: Sequence[Found],
    found: Sequence[Found],
    places: Mapping[str, Concept],
    continents: Mapping[str, str],
) -> tuple[Group, ...]:
    """Per required place, the other countries of its continent the seeds do not name."""
    named = {f.concept.name for f in found if f.concept.kind != "subject"}
    out: list[Group] = []
    for f in anchors:
        # each place's own continent: Finland, named beside Russia, is no alternative to
        # Afghanistan (Russia-Afghan dev set: F1 0.736 with both continents for both, 0.778)
        region = continents.get(f.concept.name, "")
        others = tuple(
            places[p]
            for p, cont in sorted(continents.items())
            if region and cont == region and p not in named and p in places
        )
        if not others:
            continue
        where = region.title()
        out.append(
            Group(
                "elsewhere" if not out else f"elsewhere-{len(out) + 1}",
                others,
                required=False,
                contrast=f.concept.name,
                weight=CONTRAST_WEIGHT,
                why=f"the same subject elsewhere: the other countries of {where} that the seeds do not"
                f" name; an article naming them {_often(CONTRAST_WEIGHT)} {f.concept.label} is about them",
            )
        )
    return tuple(out)


def _often(weight: float) -> str:
    return "more often than" if weight == 1.0 else f"{1 / weight:g} times as often as"


def _is_name(word: str) -> bool:
    return bool(re.fullmatch(r"[A-ZА-ЯЁ][a-zа-яё]+|[A-Z]{3,5}", word))
