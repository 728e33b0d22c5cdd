"""How strongly each concept group is present: hits weighed by where they stand, and the keyword score.

Split from ``keywords`` (issue 12 point 7 made the matcher longer); ``keywords`` re-exports these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..config import ConceptGroup

if TYPE_CHECKING:
    from .keywords import Matcher

TITLE_WEIGHT = 3.0  # a term in the title says more about the subject than one in the body
LEAD_WEIGHT = 1.5  # ... and one in the opening lines more than one further down
LEAD_TOKENS = 60
WINDOW = 25  # tokens: roughly a sentence


class Hit(NamedTuple):
    """One occurrence of a term: which term, at which token, whether in the title."""

    term: int
    position: int
    in_title: bool


class GroupResult(NamedTuple):
    """How strongly a concept group is present in a document (immutable; a named tuple, built
    three times as fast as a frozen dataclass: six or seven a document, issue 12 point 7)."""

    name: str
    terms: tuple[str, ...]  # distinct terms found, in order of first appearance
    title_terms: tuple[str, ...]
    evidence: float
    strength: float  # in [0, 1]
    positions: tuple[int, ...]
    outweighed_by: str = ""  # a contrast group that weakened this one


def supported(groups: Sequence[ConceptGroup]) -> tuple[tuple[int, int, tuple[int, ...]], ...]:
    """(context group, the group it supports, its anchor groups) for each context group whose
    supported group exists: anchors are the groups it names, default every other required one."""
    index = {g.name: i for i, g in enumerate(groups)}
    out = []
    for si, group in enumerate(groups):
        ti = index.get(group.supports, -1) if group.supports else -1
        if ti < 0:
            continue
        anchors = tuple(
            gi
            for gi, g in enumerate(groups)
            if (g.name in group.anchors if group.anchors else g.required and gi != ti)
        )
        out.append((si, ti, anchors))
    return tuple(out)


def passage(h: Hit, n_title: int) -> tuple[int, float]:
    """The passage a hit is in (-1: the title) and the weight of a mention there."""
    if h.in_title:
        return -1, TITLE_WEIGHT
    key = (h.position - n_title) // WINDOW
    return key, LEAD_WEIGHT if key * WINDOW < LEAD_TOKENS else 1.0


def saturate(evidence: float, saturation: float) -> float:
    """Strength in [0, 1) of weighted evidence: 1 - exp(-evidence / saturation)."""
    return 1.0 - math.exp(-evidence / saturation) if evidence else 0.0


def group_results(
    matcher: Matcher, hits: list[list[Hit]], n_title: int, saturation: float
) -> list[GroupResult]:
    """Evidence and strength of each group: weighted hit counts, saturating towards 1."""
    out = []
    for group, terms, group_hits in zip(matcher.groups, matcher.group_terms, hits, strict=True):
        if not group_hits:  # most groups of most articles: nothing found
            out.append(GroupResult(group.name, (), (), 0, 0.0, ()))
            continue
        windows: dict[int, float] = {}  # several terms in one passage count once: spread matters
        found: dict[str, None] = {}
        title: dict[str, None] = {}
        for term, position, in_title in group_hits:  # ``passage`` of each hit, inlined
            text = terms[term].text
            if in_title:
                title[text] = None
                windows[-1] = TITLE_WEIGHT
            else:
                key = (position - n_title) // WINDOW
                windows[key] = LEAD_WEIGHT if key * WINDOW < LEAD_TOKENS else 1.0
            found[text] = None
        evidence = sum(windows.values())
        strength = saturate(evidence, saturation)
        positions = tuple([h.position for h in group_hits])
        out.append(GroupResult(group.name, tuple(found), tuple(title), evidence, strength, positions))
    return out


def apply_contrast(groups: Sequence[ConceptGroup], results: Sequence[GroupResult]) -> list[GroupResult]:
    """Weaken each group that a contrast group outweighs (evidence x the contrast's weight).

    E.g. an article that names Pakistan, Iran and Europe far more often than Russia is about
    Afghans elsewhere, with Russia in passing.
    """
    out = list(results)
    index = {g.name: i for i, g in enumerate(groups)}
    for g, r in zip(groups, results, strict=True):
        if not g.contrast or r.evidence <= 0:
            continue
        i = index[g.contrast]
        target = out[i]
        factor = min(1.0, target.evidence / (g.weight * r.evidence)) if g.weight > 0 else 1.0
        if factor < 1.0:  # (the constructor: ``dataclasses.replace`` costs ten times as much)
            out[i] = GroupResult(
                target.name, target.terms, target.title_terms, target.evidence,
                target.strength * factor, target.positions, g.name,
            )  # fmt: skip
    return out


def outweighing(groups: Sequence[ConceptGroup], results: Sequence[GroupResult]) -> list[float]:
    """Per contrast group: how far it outweighs the group it competes with (0: not at all, 1: alone).

    E.g. Pakistan, Iran and Europe named far more often than Russia: Afghans elsewhere.
    """
    index = {g.name: i for i, g in enumerate(groups)}
    out = []
    for g, r in zip(groups, results, strict=True):
        if not g.contrast:
            continue
        target = results[index[g.contrast]].evidence
        mine = g.weight * r.evidence
        out.append(mine / (mine + target) if mine > 0 else 0.0)
    return out


def keyword_score(
    groups: Sequence[ConceptGroup], results: Sequence[GroupResult], min_groups: int | None
) -> float:
    """Product of the required groups' strengths (each to the power of its weight).

    Optional groups add a bonus.

    When fewer than ``min_groups`` required groups (default: all) are present, the score is 0.
    """
    required = [(g, r) for g, r in zip(groups, results, strict=True) if g.required]
    optional = [
        (g, r) for g, r in zip(groups, results, strict=True) if not (g.required or g.contrast or g.supports)
    ]  # fmt: skip
    need = len(required) if min_groups is None else min(min_groups, len(required))
    present = [(g, r) for g, r in required if r.strength > 0]
    if len(present) < need or not present:
        return 0.0
    # AND of ORs: the product, so one weak group (Russia named in passing) weakens the whole.
    score = math.exp(sum(g.weight * math.log(r.strength) for g, r in present))
    if len(present) < len(required):  # a missing group (allowed by min_groups) still costs
        score *= len(present) / len(required)
    for g, r in optional:
        score += (1.0 - score) * min(1.0, g.weight) * 0.25 * r.strength
    return score
