"""Evaluation on labelled articles: JSONL records, confusion counts, metrics, threshold sweep."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..models import Document


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled article: ``{"id", "url", "title", "text", "label"}`` (``lang`` optional)."""

    id: str
    label: int
    document: Document


@dataclass(frozen=True, slots=True)
class Metrics:
    """Confusion counts and what follows from them."""

    tp: int
    fp: int
    fn: int
    tn: int
    misclassified: tuple[str, ...] = ()

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` shape."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "misclassified": list(self.misclassified),
        }

    def line(self) -> str:
        """The closing line of ``watcher eval``."""
        return f"precision={self.precision:.3f} recall={self.recall:.3f} f1={self.f1:.3f}"


def read_records(lines: Iterable[str], source: str = "records") -> list[Record]:
    """Parse JSONL records; a bad line raises ValueError naming its number."""
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            label = int(raw["label"])
            if label not in (0, 1):
                raise ValueError(f"label must be 0 or 1, got {label}")
            rid = str(raw.get("id") or raw.get("url") or n)
            doc = Document(
                title=str(raw.get("title") or ""),
                text=str(raw.get("text") or ""),
                language=raw.get("lang") or raw.get("language") or None,
                url=str(raw.get("url") or ""),
                id=rid,
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{source}:{n}: not a labelled record: {e}") from e
        out.append(Record(rid, label, doc))
    return out


def evaluate(records: Sequence[Record], predicted: Sequence[bool]) -> Metrics:
    """Confusion counts of predictions against labels; misclassified ids in input order."""
    tp = fp = fn = tn = 0
    wrong = []
    for rec, pred in zip(records, predicted, strict=True):
        if pred and rec.label:
            tp += 1
        elif pred:
            fp += 1
        elif rec.label:
            fn += 1
        else:
            tn += 1
        if pred != bool(rec.label):
            wrong.append(rec.id)
    return Metrics(tp, fp, fn, tn, tuple(wrong))


def sweep(
    records: Sequence[Record], scores: Sequence[float], thresholds: Sequence[float] | None = None
) -> list[tuple[float, Metrics]]:
    """Metrics at each threshold (default 0.30, 0.35, ... 0.80)."""
    steps = thresholds if thresholds is not None else [round(0.3 + 0.05 * i, 2) for i in range(11)]
    return [(t, evaluate(records, [s >= t for s in scores])) for t in steps]


def recall_by_language(
    records: Sequence[Record], predicted: Sequence[bool], languages: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Per language: (relevant found, relevant in all)."""
    out: dict[str, tuple[int, int]] = {}
    for rec, pred, lang in zip(records, predicted, languages, strict=True):
        if rec.label:
            found, total = out.get(lang, (0, 0))
            out[lang] = (found + int(pred), total + 1)
    return dict(sorted(out.items()))


def by_language(
    records: Sequence[Record], predicted: Sequence[bool], languages: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """Per language: precision, recall and the number of articles (the ``--json`` shape)."""
    groups: dict[str, tuple[list[Record], list[bool]]] = {}
    for rec, pred, lang in zip(records, predicted, languages, strict=True):
        recs, preds = groups.setdefault(lang, ([], []))
        recs.append(rec)
        preds.append(pred)
    out: dict[str, dict[str, float | int]] = {}
    for lang in sorted(groups):
        m = evaluate(*groups[lang])
        out[lang] = {
            "precision": round(m.precision, 4),
            "recall": round(m.recall, 4),
            "n": len(groups[lang][0]),
        }
    return out
