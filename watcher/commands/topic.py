"""Topic commands: ``eval``, ``check``, ``topic suggest``, ``rescore`` and ``label``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..textsafe import terminal_safe
from . import common, fit, topicnew
from .digest import parse_since

if TYPE_CHECKING:  # the commands import the matcher when they run: --help stays light (issue 16)
    from .. import match
    from ..config import Config, TopicConfig
    from ..match import evaluate as ev
    from ..models import Document, Score


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="measure a topic on labelled JSONL records")
    common.add_common(p)
    p.add_argument(
        "file", type=Path, nargs="+", help='JSONL: {"id", "url", "title", "text", "label"} a line'
    )
    p.add_argument("--topic", help="topic name (default: the first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--threshold", type=float, help="override the topic's threshold")
    p.add_argument("--feedback", action="store_true", help="also show the effect of the stored labels")
    p.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="K-fold cross-validation stratified by label and language: the learned weights and "
        "threshold are refitted on K-1 folds and judged on the held-out one",
    )
    p.add_argument("--by-language", action="store_true", help="precision and recall per language")
    p.set_defaults(func=run_eval)

    c = sub.add_parser("check", help="score one article and explain why")
    common.add_common(c)
    c.add_argument("source", help="an http(s) URL, a file (.html or text: first line is the title) or -")
    c.add_argument("--topic", help="only this topic (default: all)")
    c.add_argument("--json", action="store_true", help="print the scores as JSON")
    c.set_defaults(func=run_check)

    t = sub.add_parser("topic", help="work on a topic's definition")
    tsub = t.add_subparsers(dest="topic_command", metavar="SUBCOMMAND", required=True)
    s = tsub.add_parser("suggest", help="distinctive terms of the seeds, to write keyword groups from")
    common.add_common(s)
    s.add_argument("name", help="topic name")
    s.add_argument("--top", type=int, default=40, help="how many terms (default 40)")
    s.add_argument(
        "--stored",
        type=int,
        default=0,
        metavar="N",
        help="also weigh words against N stored articles",
    )
    s.set_defaults(func=run_suggest)
    topicnew.register(tsub)  # issue 18: watcher topic new NAME --seed …

    ft = tsub.add_parser("fit", help="learn how concepts and similarity combine, from labelled articles")
    common.add_common(ft)
    ft.add_argument("name", help="topic name")
    ft.add_argument("files", type=Path, nargs="*", help="labelled JSONL files (as for eval)")
    ft.add_argument("--output", type=Path, help="weights file (default: the topic's `weights`)")
    ft.add_argument("--no-feedback", action="store_true", help="leave out the stored `watcher label`s")
    ft.set_defaults(func=fit.run_fit)

    r = sub.add_parser("rescore", help="re-score stored articles after a topic changed")
    common.add_common(r)
    r.add_argument("--topic", help="only this topic (default: all)")
    r.add_argument("--since", help="only entries first seen on or after this date (YYYY-MM-DD)")
    r.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
    r.set_defaults(func=run_rescore)

    lb = sub.add_parser("label", help="judge a stored article: relevant ones become seeds")
    common.add_common(lb)
    lb.add_argument("entry_id", type=int, help="the entry id (as listed by digests and rescore)")
    lb.add_argument("verdict", choices=("relevant", "irrelevant"))
    lb.add_argument("--topic", help="topic name (default: the first)")
    lb.set_defaults(func=run_label)


def _read_records(paths: list[Path]) -> list[ev.Record]:
    return [r for path in paths for r in fit.read_records(path)]


def run_eval(args: argparse.Namespace) -> int:
    """Score every record; print metrics, misclassified ids and a threshold sweep."""
    from .. import match, pipeline
    from ..match import evaluate as ev

    cfg = common.load_config(args)
    topic = cfg.topic(args.topic)
    records = _read_records(args.file)
    if args.folds is not None:
        return fit.run_folds(args, cfg, topic, records)
    base = match.build_model(topic, fetch_seed=pipeline.seed_fetcher(cfg))
    threshold = base.threshold if args.threshold is None else args.threshold
    scores = _score_all(base, records)
    metrics = ev.evaluate(records, [s.score >= threshold for s in scores])
    lines: list[str] = []
    if args.feedback:
        from ..store import topics as store_topics

        relevant, irrelevant = store_topics.load_feedback(common.open_store(cfg), topic.name)
        model = match.build_model(
            topic, extra_seeds=relevant, negatives=irrelevant, fetch_seed=pipeline.seed_fetcher(cfg)
        )
        with_fb = _score_all(model, records)
        before = metrics
        metrics = ev.evaluate(records, [s.score >= threshold for s in with_fb])
        lines += [
            f"without feedback: {before.line()}",
            f"with feedback ({len(relevant)} relevant, {len(irrelevant)} irrelevant): " + metrics.line(),
        ]
        scores = with_fb
    langs = [fit.language_of(r, s.language) for r, s in zip(records, scores, strict=True)]
    by_lang = ev.by_language(records, [s.score >= threshold for s in scores], langs)
    if args.json:
        print(json.dumps(metrics.to_dict() | {"by_language": by_lang}))
        return 0
    _print_eval(topic, threshold, records, scores, metrics)
    if args.by_language:
        fit.print_languages(by_lang)
    for line in lines:
        print(line)
    print(metrics.line())
    return 0


def _score_all(model: match.TopicModel, records: list[ev.Record]) -> list[Score]:
    return [model.score(r.document, full=True) for r in records]


def _print_eval(
    topic: TopicConfig,
    threshold: float,
    records: list[ev.Record],
    scores: list[Score],
    m: ev.Metrics,
) -> None:
    from ..match import evaluate as ev

    relevant = sum(r.label for r in records)
    print(f"topic {topic.name}: {len(records)} records, {relevant} relevant, threshold {threshold:.2f}")
    print(f"confusion: tp={m.tp} fp={m.fp} fn={m.fn} tn={m.tn}")
    langs = [s.language or "?" for s in scores]
    by_lang = ev.recall_by_language(records, [s.score >= threshold for s in scores], langs)
    print("recall by language: " + " ".join(f"{k} {f}/{n}" for k, (f, n) in by_lang.items()))
    print(f"misclassified ({len(m.misclassified)}):")
    by_id = {r.id: (r, s) for r, s in zip(records, scores, strict=True)}
    for rid in m.misclassified:
        rec, score = by_id[rid]
        kind = "missed" if rec.label else "false alarm"
        title = terminal_safe(rec.document.title[:70])
        print(f"  {rid} {kind} score={score.score:.3f} {title!r}: {terminal_safe(score.reasons())[:160]}")
    print("threshold sweep:")
    for t, sm in ev.sweep(records, [s.score for s in scores]):
        mark = " <" if abs(t - threshold) < 1e-9 else ""
        print(f"  {t:.2f} {sm.line()} tp={sm.tp} fp={sm.fp} fn={sm.fn}{mark}")


def _document(source: str, cfg: Config) -> Document:
    """The article to check: fetched and extracted, read from a file, or read from stdin."""
    from ..models import Document

    if source.startswith(("http://", "https://")):
        from .. import pipeline

        return pipeline.fetch_document(source, cfg)
    if source == "-":
        raw = sys.stdin.read()
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from e
        if path.suffix.lower() in (".html", ".htm"):
            from ..extract import extract_article

            article = extract_article(data, path.resolve().as_uri(), cfg=cfg.extract)
            return Document(article.title, article.text, article.language, url=str(path))
        raw = data.decode("utf-8", errors="replace")
    title, _, text = raw.strip().partition("\n")
    return Document(title.strip(), text.strip(), url=source)


def run_check(args: argparse.Namespace) -> int:
    """Score one article against each topic and print every reason."""
    from .. import match, pipeline
    from ..match.explain import explain

    cfg = common.load_config(args)
    topics = [cfg.topic(args.topic)] if args.topic else list(cfg.topics)
    if not topics:
        raise ConfigError("topics: no topic is configured")
    doc = _document(args.source, cfg)
    models = [match.build_model(t, fetch_seed=pipeline.seed_fetcher(cfg)) for t in topics]
    scores = [m.score(doc, full=True) for m in models]
    if args.json:
        print(json.dumps([s.to_dict() for s in scores], ensure_ascii=False))
        return 0
    print(f"article: {terminal_safe(doc.title)!r} ({len(doc.text.split())} words)")
    for model, score in zip(models, scores, strict=True):
        for line in explain(score, model.threshold):
            print(terminal_safe(line))
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    """Print the seeds' distinctive terms and which groups already cover them."""
    from .. import match, pipeline
    from ..match.suggest import suggest
    from ..match.text import Analyzer, detect_language, wordfreq_frequency
    from ..store import topics as store_topics

    cfg = common.load_config(args)
    topic = cfg.topic(args.name)
    analyzer = Analyzer(wordfreq_frequency)
    if args.stored:
        analyzer.fit_background(store_topics.stored_texts(common.open_store(cfg), args.stored))
    model = match.build_model(topic, analyzer=analyzer, fetch_seed=pipeline.seed_fetcher(cfg))
    seeds = [e.document for e in model.seeds]
    if not seeds:
        raise ConfigError(f"topic {topic.name!r}: no seed could be read")
    print(
        f"topic {topic.name}: {len(seeds)} seeds"
        f" ({', '.join(sorted({detect_language(d.text) for d in seeds}))})"
    )
    print(f"{'stem':<16} {'score':>6} {'count':>5} {'seeds':>5} {'weight':>6}  forms  [groups]")
    for s in suggest(seeds, analyzer, model.matcher, args.top):
        groups = f"  [{', '.join(s.groups)}]" if s.groups else ""
        print(
            f"{s.stem:<16} {s.score:>6.2f} {s.count:>5} {s.seeds:>5} {s.weight:>6.2f}"
            f"  {', '.join(s.forms)}{groups}"
        )
    return 0


def run_rescore(args: argparse.Namespace) -> int:
    """Re-score stored articles; list matches added, dropped and changed; store unless --dry-run.
    An article the analyst labelled stays in (relevant) or out (irrelevant) whatever its score."""
    from .. import match, pipeline
    from ..store import now_utc
    from ..store import topics as store_topics

    cfg = common.load_config(args)
    topics = [cfg.topic(args.topic)] if args.topic else list(cfg.topics)
    if not topics:
        raise ConfigError("topics: no topic is configured")
    since = parse_since(args.since, cfg.schedule.timezone) if args.since else None
    engine = common.open_store(cfg)
    for topic in topics:
        relevant, irrelevant = store_topics.load_feedback(engine, topic.name)
        model = match.build_model(
            topic, extra_seeds=relevant, negatives=irrelevant, fetch_seed=pipeline.seed_fetcher(cfg)
        )
        current = store_topics.current_matches(engine, topic.name)
        judged = store_topics.judgements(engine, topic.name)  # the analyst's word beats the score
        upserts: list[tuple[int, Score]] = []
        rescored: list[tuple[int, Score]] = []
        added: list[tuple[int, Document, Score]] = []
        dropped: list[tuple[int, Document, Score]] = []
        kept_sent = 0
        total = 0
        for entry_id, doc in store_topics.stored_documents(engine, since):
            total += 1
            score = model.score(doc, full=entry_id in judged)  # a judged article's reasons all shown
            rescored.append((entry_id, score))
            old = current.get(entry_id)
            if judged.get(entry_id, score.matched):
                upserts.append((entry_id, score))
                if old is None:
                    added.append((entry_id, doc, score))
            elif old is not None:
                dropped.append((entry_id, doc, score))
                kept_sent += old.sent
        verb = "would be" if args.dry_run else "were"
        print(f"topic {topic.name}: {total} stored articles re-scored")
        print(f"  {len(added)} {verb} added:")
        for entry_id, doc, score in added:
            print(
                f"    + {entry_id} {score.score:.3f} {terminal_safe(doc.title[:80])!r}:"
                f" {terminal_safe(score.reasons())[:120]}"
            )
        print(
            f"  {len(dropped)} {verb} dropped"
            + (f" ({kept_sent} already sent: kept)" if kept_sent else "")
            + ":"
        )
        for entry_id, doc, score in dropped:
            print(f"    - {entry_id} {score.score:.3f} {terminal_safe(doc.title[:80])!r}")
        if not args.dry_run:
            drops = [e for e, _, _ in dropped if not current[e].sent]
            store_topics.apply_rescore(engine, topic.name, upserts, drops, now_utc(), rescored)
    return 0


def run_label(args: argparse.Namespace) -> int:
    """Store a judgement on a stored article for a topic."""
    from ..store import now_utc
    from ..store import topics as store_topics

    cfg = common.load_config(args)
    topic = cfg.topic(args.topic)
    engine = common.open_store(cfg)
    relevant = args.verdict == "relevant"
    if not store_topics.set_label(engine, args.entry_id, topic.name, relevant, now_utc()):
        raise ConfigError(f"entry {args.entry_id}: no such entry in {cfg.db_shown}")
    title = store_topics.entry_title(engine, args.entry_id)
    effect = "an extra seed" if relevant else "a negative example (look-alikes score lower)"
    print(
        f"entry {args.entry_id} {terminal_safe(title)[:80]!r}: {args.verdict} for {topic.name}; now {effect}"
    )
    return 0
