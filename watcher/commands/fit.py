"""``watcher topic fit`` and ``watcher eval --folds``: the combination learned from labels (issue 12)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import match, pipeline
from ..config import Config, TopicConfig
from ..errors import ConfigError
from ..match import crossval, learned
from ..match import evaluate as ev
from ..models import Document
from ..store import topics as store_topics
from . import common


def language_of(record: ev.Record, detected: str | None) -> str:
    """The record's own language code, else the detected one."""
    given = (record.document.language or "").lower().replace("_", "-").split("-")[0]
    return given or detected or "?"


def features(
    cfg: Config, topic: TopicConfig, docs: list[Document]
) -> tuple[tuple[str, ...], list[tuple[float, ...]], list[str]]:
    """Feature names, one row per document and the detected languages (seeds only, no labels)."""
    model = match.build_model(topic, fetch_seed=pipeline.seed_fetcher(cfg), fitted=False)
    rows, langs = [], []
    for doc in docs:
        score, row = model.analyse(doc)
        rows.append(row)
        langs.append(score.language or "")
    return model.feature_names(), rows, langs


def run_folds(args: argparse.Namespace, cfg: Config, topic: TopicConfig, records: list[ev.Record]) -> int:
    """``eval --folds K``: cross-validated metrics, per fold, per language, leave-one-language-out."""
    names, rows, detected = features(cfg, topic, [r.document for r in records])
    labels = [r.label for r in records]
    langs = [language_of(r, d) for r, d in zip(records, detected, strict=True)]
    try:
        out = crossval.cross_validate(
            rows, labels, [f"{y}:{lang}" for y, lang in zip(labels, langs, strict=True)], names, args.folds
        )
    except ValueError as e:
        raise ConfigError(str(e)) from e
    metrics = ev.evaluate(records, out.predicted)
    folds = []
    for f in range(args.folds):
        idx = [i for i, a in enumerate(out.fold) if a == f]
        m = ev.evaluate([records[i] for i in idx], [out.predicted[i] for i in idx])
        folds.append(
            {"fold": f + 1, "n": len(idx)} | {k: v for k, v in m.to_dict().items() if k != "misclassified"}
        )
    by_lang = ev.by_language(records, out.predicted, langs)
    lolo = crossval.leave_one_language_out(rows, labels, langs, names)
    if args.json:
        body = metrics.to_dict() | {
            "by_language": by_lang,
            "folds": folds,
            "leave_one_language_out": {
                k: {"recall": round(f / n, 4), "found": f, "n": n} for k, (f, n) in lolo.items()
            },
        }
        print(json.dumps(body))
        return 0
    relevant = sum(labels)
    print(
        f"topic {topic.name}: {len(records)} records, {relevant} relevant, {args.folds}-fold cross-validation"
        " (stratified by label and language; weights and threshold refitted on each training part)"
    )
    for fold in folds:
        print(
            f"  fold {fold['fold']}: n={fold['n']} precision={fold['precision']:.3f}"
            f" recall={fold['recall']:.3f} f1={fold['f1']:.3f}"
        )
    print_languages(by_lang)
    found = sum(f for f, _ in lolo.values())
    total = sum(n for _, n in lolo.values())
    print(
        f"leave-one-language-out recall: {found}/{total} "
        + " ".join(f"{k} {f}/{n}" for k, (f, n) in lolo.items())
    )
    print(f"misclassified ({len(metrics.misclassified)}): {' '.join(metrics.misclassified)}")
    print(metrics.line())
    return 0


def print_languages(by_lang: dict[str, dict[str, float | int]]) -> None:
    print("by language (precision / recall / n):")
    for lang, m in by_lang.items():
        print(f"  {lang}: {m['precision']:.3f} / {m['recall']:.3f} / {m['n']}")


def run_fit(args: argparse.Namespace) -> int:
    """Fit the topic's combination on labelled JSONL files and the stored labels; write its weights."""
    cfg = common.load_config(args)
    topic = cfg.topic(args.name)
    records: list[ev.Record] = []
    for path in args.files:
        records += read_records(path)
    docs = [r.document for r in records]
    labels = [r.label for r in records]
    if not args.no_feedback:
        relevant, irrelevant = store_topics.load_feedback(common.open_store(cfg), topic.name)
        docs += relevant + irrelevant
        labels += [1] * len(relevant) + [0] * len(irrelevant)
        print(f"stored labels: {len(relevant)} relevant, {len(irrelevant)} irrelevant")
    if not docs:
        raise ConfigError("nothing to fit on: no records and no stored labels")
    names, rows, _ = features(cfg, topic, docs)
    combo = learned.fit(rows, labels, names)
    target = args.output or topic.weights
    if target is None:
        raise ConfigError(f"topic {topic.name!r}: no weights path; pass --output FILE")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(combo.to_json(), encoding="utf-8")
        tmp.replace(target)
    except OSError as e:
        raise ConfigError(f"{target}: cannot write weights: {e.strerror or e}") from e
    fitted = ev.evaluate(
        [ev.Record(str(i), y, d) for i, (y, d) in enumerate(zip(labels, docs, strict=True))],
        [combo.score(r) >= combo.threshold for r in rows],
    )
    print(
        f"topic {topic.name}: fitted on {len(rows)} articles ({sum(labels)} relevant);"
        f" threshold {combo.threshold:.2f}"
    )
    for name, w in sorted(zip(names, combo.coef, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:24} {w:+.3f}")
    print(f"on the articles it was fitted on (optimistic; use eval --folds): {fitted.line()}")
    print(f"weights written to {target}")
    return 0


def read_records(path: Path) -> list[ev.Record]:
    """Labelled JSONL records from a file; a bad file is one readable error."""
    try:
        with path.open(encoding="utf-8") as f:
            records = ev.read_records(f, str(path))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from e
    except ValueError as e:
        raise ConfigError(str(e)) from e
    if not records:
        raise ConfigError(f"{path}: no records")
    return records
