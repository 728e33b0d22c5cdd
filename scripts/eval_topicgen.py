"""Evaluate ``watcher topic new`` honestly: a topic generated from the seeds ONLY, scored untouched
on labelled articles (overall and per language), then with a handful of labels, cross-validated.

    .venv/bin/python scripts/eval_topicgen.py --seed A.txt --seed B.txt LABELLED.jsonl [...]
        [--labels 10] [--rounds 30]

Few labels: each round draws ``--labels`` labelled articles at random (what a user judges with
``watcher label``): the relevant ones join the seeds, the irrelevant ones become negatives (the
model's feedback path), and the threshold is the one that does best on those few.  The round is
scored on the OTHER articles only; the figures are means (and spread) over the rounds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from watcher import config as config_mod
from watcher import match
from watcher.match import evaluate as ev
from watcher.topicgen import topic_toml


def _metrics(labels: list[int], predicted: list[bool]) -> tuple[float, float, float]:
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path, help="labelled JSONL")
    ap.add_argument("--seed", action="append", required=True, help="a seed file (repeatable)")
    ap.add_argument("--labels", type=int, default=10, help="labels per few-label round (default 10)")
    ap.add_argument("--rounds", type=int, default=30, help="few-label rounds (default 30)")
    args = ap.parse_args(argv)
    records: list[ev.Record] = []
    for f in args.files:
        with f.open(encoding="utf-8") as fh:
            records += ev.read_records(fh, str(f))
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "config.toml"
        cfg_path.write_text(
            topic_toml("eval", args.seed, seed_paths=[str(Path(s).resolve()) for s in args.seed]),
            encoding="utf-8",
        )
        topic = config_mod.load(cfg_path).topic("eval")
    model = match.build_model(topic)
    scores = [model.score(r.document) for r in records]
    labels = [r.label for r in records]
    predicted = [s.score >= topic.threshold for s in scores]
    p, r, f = _metrics(labels, predicted)
    print(
        f"untouched: {len(records)} articles, threshold {topic.threshold}: "
        f"precision={p:.3f} recall={r:.3f} f1={f:.3f}"
    )
    by_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, relevant, tp, fp
    for rec, s, pred in zip(records, scores, predicted, strict=True):
        row = by_lang[rec.document.language or s.language or "?"]
        row[0] += 1
        row[1] += rec.label
        row[2] += int(bool(rec.label and pred))
        row[3] += int(bool(not rec.label and pred))
    print("per language (n, relevant, found, false alarms):")
    print(
        "  " + "  ".join(f"{lang} {n}/{rel}/{tp}/{fp}" for lang, (n, rel, tp, fp) in sorted(by_lang.items()))
    )
    rng = random.Random(18)
    rounds: list[tuple[float, float, float]] = []
    for _ in range(args.rounds):
        chosen = set(rng.sample(range(len(records)), args.labels))
        pos = [records[i].document for i in chosen if records[i].label]
        neg = [records[i].document for i in chosen if not records[i].label]
        fb = match.build_model(topic, extra_seeds=pos, negatives=neg)
        few = [(fb.score(records[i].document).score, records[i].label) for i in sorted(chosen)]
        best = max(
            (t / 100 for t in range(10, 81, 5)),
            key=lambda t: (
                _metrics([y for _, y in few], [s >= t for s, _ in few])[2],
                -abs(t - topic.threshold),
            ),
        )
        rest = [i for i in range(len(records)) if i not in chosen]
        rs = [fb.score(records[i].document).score for i in rest]
        rounds.append(_metrics([labels[i] for i in rest], [s >= best for s in rs]))
    for name, k in (("precision", 0), ("recall", 1), ("f1", 2)) if rounds else ():
        vals = [x[k] for x in rounds]
        print(
            f"with {args.labels} labels ({args.rounds} rounds, scored on the rest): {name}="
            f"{statistics.mean(vals):.3f} (sd {statistics.pstdev(vals):.3f}, min {min(vals):.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
