"""Honest measurement of a fitted combination (issue 12): k-fold and leave-one-language-out.

Everything learned from labels (the logistic weights and the threshold) is refitted on the training
part and judged on the held-out part; the lexicon and the seeds are fixed, so the features of each
article are computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import learned


@dataclass(frozen=True, slots=True)
class Outcome:
    """Held-out predictions: one probability and verdict per article, and the fold it was in."""

    probabilities: tuple[float, ...]
    predicted: tuple[bool, ...]
    fold: tuple[int, ...]


def cross_validate(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    strata: Sequence[str],
    features: Sequence[str],
    k: int,
) -> Outcome:
    """k-fold cross-validation stratified by ``strata`` (e.g. label and language together)."""
    if k < 2:
        raise ValueError("--folds must be at least 2")
    assignment = learned.stratified_folds(strata, k)
    probs = [0.0] * len(rows)
    pred = [False] * len(rows)
    for f in range(k):
        train = [i for i, a in enumerate(assignment) if a != f]
        test = [i for i, a in enumerate(assignment) if a == f]
        if not test:
            continue
        combo = learned.fit([rows[i] for i in train], [labels[i] for i in train], features)
        for i in test:
            probs[i] = combo.score(rows[i])
            pred[i] = probs[i] >= combo.threshold
    return Outcome(tuple(probs), tuple(pred), tuple(assignment))


def leave_one_language_out(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    languages: Sequence[str],
    features: Sequence[str],
) -> dict[str, tuple[int, int]]:
    """Per language with relevant articles: (found, relevant) when fitted on all other languages."""
    out: dict[str, tuple[int, int]] = {}
    for lang in sorted({lang for lang, y in zip(languages, labels, strict=True) if y}):
        train = [i for i, other in enumerate(languages) if other != lang]
        if len({labels[i] for i in train}) < 2:
            continue
        combo = learned.fit([rows[i] for i in train], [labels[i] for i in train], features)
        held = [i for i, other in enumerate(languages) if other == lang and labels[i]]
        found = sum(combo.score(rows[i]) >= combo.threshold for i in held)
        out[lang] = (found, len(held))
    return out
