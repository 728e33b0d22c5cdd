"""Context terms and co-occurrence (issue 12): is the article ABOUT the story, or does it only touch it?

Two general signals on top of the concept groups' counts:

* **Context terms** (a group with ``supports``, e.g. study, workers, border, passport) are ambiguous
  alone: "Afghan nurses studied the methods of Russian doctors" moves nobody.  Next to an anchor
  concept (``anchors``, default every other required one: "Afghan students", "студенты из
  Афганистана") a context term counts like a term of the group it supports; elsewhere it adds
  only ``WEAK`` of a mention per distinct term, so several of them in one passage (students,
  university, quota) still add up.
* **Co-occurrence**: passages where every required concept is named within ``SPAN`` tokens (Afghans,
  migration and Russia in one or two sentences) — an article about Afghans moving to Russia has some;
  one that names Russia in one paragraph and Afghan refugees in another has none.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ..config import ConceptGroup
from .keywords import TITLE_WEIGHT, WINDOW, GroupResult, Hit, Matcher, group_results, passage, saturate

BEFORE = 1  # an anchor right before a context term modifies it: "Afghan workers", "Russian university"
AFTER = 2  # ... or up to two words after: "students from Afghanistan", "граждан Афганистана", "کارگران افغان"
WEAK = 0.35  # a context term away from the other concepts, as a share of one mention
SPAN = 30  # tokens: every required concept within this span makes a passage about the story


def results(matcher: Matcher, hits: list[list[Hit]], n_title: int, saturation: float) -> list[GroupResult]:
    """``keywords.group_results`` with each context group's hits folded into the group it supports."""
    out = group_results(matcher, hits, n_title, saturation)
    for si, ti, anchor_groups in matcher.supported:
        if not hits[si]:
            continue
        anchors = sorted(h.position for gi in anchor_groups for h in hits[gi])
        promoted = [h for h in hits[si] if _next_to(anchors, h.position)]
        weak = [h for h in hits[si] if not _next_to(anchors, h.position)]
        out[ti] = _merged(out[ti], matcher, ti, si, hits[ti], promoted, weak, n_title, saturation)
    return out


def _merged(
    base: GroupResult,
    matcher: Matcher,
    ti: int,
    si: int,
    own: Sequence[Hit],
    promoted: Sequence[Hit],
    weak: Sequence[Hit],
    n_title: int,
    saturation: float,
) -> GroupResult:
    """The supported group's result with promoted hits in full and weak hits at ``WEAK`` each."""
    full: dict[int, float] = {}
    for h in (*own, *promoted):
        key, weight = passage(h, n_title)
        full[key] = weight
    terms: dict[int, set[int]] = {}
    weights: dict[int, float] = {}
    for h in weak:
        key, weights[key] = passage(h, n_title)
        terms.setdefault(key, set()).add(h.term)
    evidence = sum(full.values()) + sum(
        min(weights[key], WEAK * weights[key] * len(seen)) for key, seen in terms.items() if key not in full
    )
    strength = saturate(evidence, saturation)
    shown = matcher.group_terms[si]
    added = [shown[h.term].text for h in sorted((*promoted, *weak), key=lambda h: h.position)]
    title = [shown[h.term].text for h in promoted if h.in_title]
    return GroupResult(  # (``dataclasses.replace`` of ``base`` costs ten times as much)
        base.name,
        tuple(dict.fromkeys((*base.terms, *added))),
        tuple(dict.fromkeys((*base.title_terms, *title))),
        evidence,
        strength,
        tuple(sorted((*base.positions, *(h.position for h in promoted)))),
        base.outweighed_by,
    )


def _next_to(anchors: Sequence[int], position: int) -> bool:
    """Whether an anchor is right before the context term or up to ``AFTER`` words after it.

    "Afghan nurses studied" is no study abroad: the anchor two words before modifies "nurses".
    """
    i = bisect_left(anchors, position - BEFORE)
    while i < len(anchors) and anchors[i] <= position + AFTER:
        if anchors[i] != position:  # a word that is both is no company
            return True
        i += 1
    return False


def _near(sorted_positions: Sequence[int], position: int, distance: int) -> bool:
    i = bisect_left(sorted_positions, position - distance)
    return i < len(sorted_positions) and sorted_positions[i] <= position + distance


def together(
    groups: Sequence[ConceptGroup], found: Sequence[GroupResult], n_title: int, saturation: float
) -> float:
    """How many passages name every required concept within ``SPAN`` tokens, saturating towards 1.

    The title counts as one passage when it names them all.
    """
    required = [sorted(r.positions) for g, r in zip(groups, found, strict=True) if g.required]
    if not required or any(not p for p in required):
        return 0.0
    rarest = min(required, key=len)
    others = [p for p in required if p is not rarest]
    passages: set[int] = set()
    for pos in rarest:
        if all(_near(p, pos, SPAN) for p in others):
            passages.add(-1 if pos < n_title else (pos - n_title) // WINDOW)
    n = len(passages) + (TITLE_WEIGHT - 1.0 if -1 in passages else 0.0)
    return saturate(n, saturation)
