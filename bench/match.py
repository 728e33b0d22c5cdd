"""Benchmark the relevance filter: articles scored per second on one core, and topic build time.

Articles are synthetic (~800 words drawn from wordfreq's common-word lists, some with topic words
mixed in, a fifth in Russian), so the benchmark ships no article text.  The baseline is the same
scorer with its per-token caches emptied before every article (tokenise + stem + weigh every word
afresh), measured in the same run.

    .venv/bin/python bench/match.py [--articles 2000] [--words 800] [--config config.toml]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher import config, match
from watcher.models import Document

TOPIC_WORDS = {
    "en": "Russia Russian Moscow Afghan Afghans Afghanistan migrants migration refugees quota",
    "ru": "Россия России Москва афганцы Афганистана мигрантов миграция беженцы трудовых квота",
}


def articles(n: int, words: int, seed: int = 7) -> list[Document]:
    """Synthetic articles: words at real frequencies; a third with topic words; a fifth Russian."""
    import wordfreq

    rng = random.Random(seed)
    vocab = {lang: wordfreq.top_n_list(lang, 20000) for lang in ("en", "ru")}
    # Words drawn as often as they occur in real text (Zipf), so repetition is realistic.
    freqs = {lang: [wordfreq.word_frequency(w, lang) for w in words] for lang, words in vocab.items()}
    out = []
    for i in range(n):
        lang = "ru" if i % 5 == 0 else "en"
        body = rng.choices(vocab[lang], weights=freqs[lang], k=words)
        if i % 3 == 0:
            topic = TOPIC_WORDS[lang].split()
            for _ in range(words // 40):
                body[rng.randrange(words)] = rng.choice(topic)
        sentences = [" ".join(body[j : j + 16]).capitalize() + "." for j in range(0, words, 16)]
        out.append(Document(" ".join(body[:8]).capitalize(), " ".join(sentences), url=f"bench:{i}"))
    return out


def real_articles(corpus: Path) -> list[Document]:
    """The labelled real articles of ../shared/corpus (read at run time, never copied), if present."""
    import json

    out = []
    for path in sorted(corpus.glob("dev*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                out.append(
                    Document(
                        raw.get("title") or "",
                        raw.get("text") or "",
                        raw.get("lang"),
                        url=raw.get("url") or "",
                    )
                )
    return out


def rate(model: match.TopicModel, docs: list[Document], *, cold: bool) -> float:
    """Articles per second (best of three runs)."""
    runs = []
    for _ in range(3):
        start = time.process_time()
        for doc in docs:
            if cold:
                model.clear_caches()
            model.score(doc)
        runs.append(len(docs) / (time.process_time() - start))
    return max(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--words", type=int, default=800)
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.toml")
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    args = parser.parse_args()
    topic = config.load(args.config).topics[0]

    builds = []
    for _ in range(3):
        start = time.process_time()
        model = match.build_model(topic)
        builds.append(time.process_time() - start)
    docs = articles(args.articles, args.words)
    model.score(docs[0])  # warm the stemmer and word-frequency tables
    cached = rate(model, docs, cold=False)
    baseline = rate(model, docs[: max(50, args.articles // 10)], cold=True)
    matched = sum(model.score(d).matched for d in docs)
    print(f"topic {topic.name}: {len(topic.seeds)} seeds, {len(topic.groups)} groups")
    print(f"build_model: {statistics.median(builds) * 1000:.1f} ms (median of 3)")
    print(f"articles: {len(docs)} x {args.words} words, {matched} matched")
    print(f"score, warm caches: {cached:,.0f} articles/s on one core")
    print(f"baseline, caches emptied before each article: {baseline:,.0f} articles/s")
    print(f"speed-up over baseline: {cached / baseline:.1f}x")
    print(f"target >= 2,000 articles/s: {'met' if cached >= 2000 else 'NOT met'}")
    real = real_articles(args.corpus)
    if real:  # issue 12: real articles in 27 languages, beside the synthetic en/ru ones
        model.score(real[0])
        real_warm = rate(model, real, cold=False)
        real_cold = rate(model, real, cold=True)
        words = sum(len(d.text.split()) for d in real) // len(real)
        print(f"real articles ({args.corpus}): {len(real)}, {words} words on average")
        print(
            f"real, warm caches: {real_warm:,.0f} articles/s; caches emptied before each: {real_cold:,.0f}/s"
        )
    else:
        print(f"real articles: none at {args.corpus} (skipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
