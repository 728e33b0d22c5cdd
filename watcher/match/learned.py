"""The combination learned from labels (issue 12): features of a score -> a probability.

A topic's concept strengths, keyword score and seed similarity become a short feature vector; a
logistic regression fitted on labelled articles (``watcher topic fit``) weighs them.  The fitted
weights are a small JSON file: the topic's own (``weights/NAME.json`` beside the config, written
by ``topic fit``) or, for the shipped topic, the copy in this package (``match/fitted/``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

FORMAT = 1
Z_CLIP = 4.0
GATE = 0.4  # a concept strength below this (less than one plain mention) caps the score
MIN_SCALE = 0.05  # features are in [0, 1]: a spread below this is noise


@dataclass(frozen=True, slots=True)
class Combination:
    """Standardised logistic regression: p = sigmoid(b + sum w_i (x_i - mean_i) / scale_i)."""

    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    n: int = 0  # labelled articles it was fitted on
    source: str = ""  # where it was read from (not stored)

    def probability(self, x: Sequence[float]) -> float:
        """The fitted probability that an article with these features is relevant."""
        z = self.intercept + sum(  # a list in one comprehension: the same sum, in the same order
            [w * _z(v, m, s) for w, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)]
        )
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def score(self, x: Sequence[float]) -> float:
        """The probability, capped when a required concept is weak (the topic's AND of concepts).

        The labelled articles nearly all name Russia, so a fit alone learns little about articles
        that name it once in passing: a required concept with strength s < GATE (after contrast)
        caps the score at s / GATE.
        """
        if "weakest" not in self.features:
            return self.probability(x)
        weakest = x[self.features.index("weakest")]
        if weakest == 0.0:  # a required concept missing (most articles): p (in [0, 1]) times a zero
            return weakest / GATE  # (that zero, its sign too: the same float as the product)
        return self.probability(x) * min(1.0, weakest / GATE)

    def to_json(self) -> str:
        """The weights file's text."""
        body = {
            "format": FORMAT,
            "features": list(self.features),
            "coef": [round(c, 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
            "mean": [round(m, 6) for m in self.mean],
            "scale": [round(s, 6) for s in self.scale],
            "threshold": round(self.threshold, 4),
            "n": self.n,
        }
        return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


def parse(text: str, source: str) -> Combination:
    """A weights file; a malformed one raises ``ConfigError`` naming it."""
    try:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
        names = tuple(str(f) for f in raw["features"])
        vectors = [tuple(float(v) for v in raw[k]) for k in ("coef", "mean", "scale")]
        if any(len(v) != len(names) for v in vectors) or any(s <= 0 for s in vectors[2]):
            raise ValueError("coef, mean and scale must have one positive scale per feature")
        threshold = float(raw["threshold"])
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} outside [0, 1]")
        return Combination(
            names, vectors[0], float(raw["intercept"]), vectors[1], vectors[2], threshold,
            int(raw.get("n", 0)), source,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{source}: not a weights file: {e}") from e


def load(path: Path | None, topic: str) -> Combination | None:
    """The topic's fitted weights: its own file, else the shipped copy, else None."""
    if path is not None and path.is_file():
        try:
            return parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}") from e
    shipped = resources.files(__package__ or __name__).joinpath("fitted", f"{topic}.json")
    if shipped.is_file():
        return parse(shipped.read_text(encoding="utf-8"), f"watcher/match/fitted/{topic}.json")
    return None


def fit(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    features: Sequence[str],
    *,
    c: float = 0.5,
    folds: int = 5,
) -> Combination:
    """Fit the weights and the threshold on labelled feature rows.

    The threshold is the one with the best F1 over out-of-fold probabilities of the same rows
    (inner cross-validation), so it is not set on probabilities the model has already seen.
    """
    if len(set(labels)) < 2:
        raise ConfigError("fitting needs relevant and irrelevant examples (labels 1 and 0)")
    combo = _fit_lr(rows, labels, features, c, 0.5)
    inner: list[float] = [0.0] * len(rows)
    assignment = stratified_folds([str(y) for y in labels], min(folds, min(labels.count(0), labels.count(1))))
    k = max(assignment) + 1
    if k < 2:
        return combo
    for f in range(k):
        train = [i for i, a in enumerate(assignment) if a != f]
        if len({labels[i] for i in train}) < 2:
            return combo
        part = _fit_lr([rows[i] for i in train], [labels[i] for i in train], features, c, 0.5)
        for i, a in enumerate(assignment):
            if a == f:
                inner[i] = part.score(rows[i])
    threshold = best_threshold(inner, labels)
    return Combination(
        combo.features, combo.coef, combo.intercept, combo.mean, combo.scale, threshold, len(rows)
    )


def best_threshold(
    probabilities: Sequence[float], labels: Sequence[int], min_precision: float = 0.90
) -> float:
    """The threshold (0.30 ... 0.90) with the best F1 among those with precision >= min_precision.

    The issue's goal is F1 >= 0.90 *with* precision >= 0.90: an analyst reads every alert, so a
    threshold that buys recall with false alarms is only taken when none keeps precision.
    Ties go to the threshold nearest 0.5.
    """
    best = (False, -1.0, 0.0, 0.5)
    for step in range(30, 91, 2):
        t = step / 100
        tp = sum(1 for p, y in zip(probabilities, labels, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probabilities, labels, strict=True) if p >= t and not y)
        fn = sum(1 for p, y in zip(probabilities, labels, strict=True) if p < t and y)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        precise = tp > 0 and tp / (tp + fp) >= min_precision
        key = (precise, f1, -abs(t - 0.5), t)
        if key > best:
            best = key
    return best[3]


def stratified_folds(keys: Sequence[str], k: int, seed: int = 12) -> list[int]:
    """A fold number per item, each stratum (e.g. label + language) dealt evenly across k folds.

    Deterministic; a stratum smaller than k lands in as many folds as it has items, and the deal
    continues where the last stratum stopped, so small strata spread too.
    """
    import random

    rng = random.Random(seed)
    strata: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        strata.setdefault(key, []).append(i)
    out = [0] * len(keys)
    nxt = 0
    for key in sorted(strata):
        items = strata[key]
        rng.shuffle(items)
        for i in items:
            out[i] = nxt % max(1, k)
            nxt += 1
    return out


def _z(value: float, mean: float, scale: float) -> float:
    """A standardised value, clipped: a feature nearly constant in the training labels (seed
    similarity, when every training article is in a language the seeds are not) must not
    decide alone on articles where it varies (issue 12: leave-one-language-out)."""
    return max(-Z_CLIP, min(Z_CLIP, (value - mean) / scale))


def _fit_lr(
    rows: Sequence[Sequence[float]], labels: Sequence[int], features: Sequence[str], c: float, t: float
) -> Combination:
    from sklearn.linear_model import LogisticRegression  # local: only fitting needs scikit-learn

    n = len(rows)
    dims = len(features)
    mean = [sum(r[j] for r in rows) / n for j in range(dims)]
    scale = [max(MIN_SCALE, math.sqrt(sum((r[j] - mean[j]) ** 2 for r in rows) / n)) for j in range(dims)]
    x = [[_z(r[j], mean[j], scale[j]) for j in range(dims)] for r in rows]
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
    model.fit(x, list(labels))
    coef = tuple(float(v) for v in model.coef_[0])
    return Combination(tuple(features), coef, float(model.intercept_[0]), tuple(mean), tuple(scale), t, n)
