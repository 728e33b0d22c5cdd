"""Similarity to the seeds: TF-IDF over stems with background weights, or an embedding model.

Both backends answer the same question (``Backend.compare``): how close is a document to each seed,
to the seeds' centroid and to the nearest negative example (an article labelled irrelevant).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import mul
from typing import Protocol

from ..errors import ConfigError
from ..models import Document
from .text import Analyzer, detect_language, document_words

log = logging.getLogger(__name__)
Vector = dict[str, float]


@dataclass(frozen=True, slots=True)
class Example:
    """A seed or a negative example, analysed once when the model is built."""

    name: str
    document: Document
    tokens: tuple[str, ...]
    language: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """A document's closeness to the examples, as cosines in [0, 1]."""

    nearest: str | None = None  # name of the nearest seed
    nearest_similarity: float = 0.0
    centroid_similarity: float = 0.0
    nearest_negative: str | None = None
    negative_similarity: float = 0.0
    covered: bool = True  # False when no seed shares the document's language (TF-IDF cannot tell)

    @property
    def positive(self) -> float:
        """The seed evidence: the better of the nearest seed and the centroid."""
        return max(self.nearest_similarity, self.centroid_similarity)


class Backend(Protocol):
    """What a similarity backend offers the topic model."""

    name: str

    def covers(self, language: str) -> bool:
        """Whether a document in ``language`` is compared with the seeds (``Comparison.covered``)."""
        ...

    def compare(
        self, doc: Document, tokens: Sequence[str], language: str, counts: Mapping[str, int]
    ) -> Comparison:
        """Closeness of one document (its tokens and their counts given, not to redo them)."""
        ...


def example(name: str, doc: Document) -> Example:
    """Analyse a seed or negative document."""
    tokens = tuple(document_words(doc.title, doc.text)[1])
    return Example(name, doc, tokens, doc.language or detect_language(f"{doc.title}\n{doc.text}"))


_LOG_TF = [0.0] + [1.0 + math.log(n) for n in range(1, 256)]


def _log_tf(n: int) -> float:
    """1 + ln n, from a table for the usual small counts."""
    return _LOG_TF[n] if n < 256 else 1.0 + math.log(n)


def vectorize(tokens: Sequence[str], language: str, analyzer: Analyzer) -> Vector:
    """L2-normalised TF-IDF vector over stems: each word form adds (1 + ln tf) x its weight."""
    counts = Counter(tokens)
    cache = analyzer.cache_for(language)
    for token in [t for t in counts if t not in cache]:
        cache[token] = analyzer.feature(token, language)  # into this dict, even if the cache was renewed
    vec: dict[str, float] = {}
    get = vec.get
    for token, n in counts.items():
        stem, w = cache[token]
        if w:
            vec[stem] = get(stem, 0.0) + w * _log_tf(n)
    norm = math.sqrt(math.fsum(v * v for v in vec.values()))
    return {s: v / norm for s, v in vec.items()} if norm else {}


def centroid(vectors: Sequence[Vector]) -> Vector:
    """The normalised mean of vectors."""
    total: dict[str, float] = {}
    for vec in vectors:
        for s, v in vec.items():
            total[s] = total.get(s, 0.0) + v
    norm = math.sqrt(sum(v * v for v in total.values()))
    return {s: v / norm for s, v in total.items()} if norm else {}


class _Index:
    """Inverted index over example vectors: stem -> [(example, weight)]."""

    def __init__(self, vectors: Sequence[Vector]) -> None:
        self.size = len(vectors)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, vec in enumerate(vectors):
            for s, v in vec.items():
                self.postings.setdefault(s, []).append((i, v))


class TfidfBackend:
    """Cosine similarity of TF-IDF vectors; seeds only count in the languages they are written in.

    Scoring a document walks its distinct words once in C (``map``, set algebra) for the norm and
    only in Python for the few words whose stems occur in an example.
    """

    name = "tfidf"

    def __init__(self, analyzer: Analyzer, seeds: Sequence[Example], negatives: Sequence[Example]) -> None:
        self.analyzer = analyzer
        self.seed_names = [e.name for e in seeds]
        self.negative_names = [e.name for e in negatives]
        seed_vecs = [vectorize(e.tokens, e.language, analyzer) for e in seeds]
        neg_vecs = [vectorize(e.tokens, e.language, analyzer) for e in negatives]
        self.languages = frozenset(e.language for e in seeds)
        # one index: the seeds, their centroid, then the negatives
        self._index = _Index([*seed_vecs, centroid(seed_vecs), *neg_vecs])
        self._n_seeds = len(seed_vecs)
        # language -> (token -> weight, tokens whose stem is in an example): one tuple, renewed whole
        self._learnt: dict[str, tuple[dict[str, float], set[str]]] = {}
        self._cache_size = analyzer.cache_size

    def clear_cache(self) -> None:
        """Forget per-token answers."""
        self.analyzer.clear_cache()
        self._learnt.clear()

    def covers(self, language: str) -> bool:
        """Only a language some seed is written in: TF-IDF cannot compare words across languages."""
        return language in self.languages

    def _learn(self, counts: Mapping[str, int], language: str) -> tuple[dict[str, float], set[str]]:
        learnt = self._learnt.get(language)
        if learnt is None or len(learnt[0]) >= self._cache_size:  # new language, or full: afresh
            learnt = self._learnt[language] = ({}, set())
        weights, indexed = learnt
        if weights.keys() >= counts.keys():  # the usual case once warm: nothing new
            return weights, indexed
        postings = self._index.postings
        # (not counts.keys() - weights.keys(): a keys view minus a keys view walks all of weights)
        new = list(set(counts).difference(weights))
        feats = self.analyzer.features(new, language)  # new words together: a stemmer call a language
        indexed.update([t for t, (stem, w) in zip(new, feats, strict=True) if w and stem in postings])
        weights.update(zip(new, [w for _, w in feats], strict=True))  # last: a known weight is learnt
        return weights, indexed

    def compare(
        self, doc: Document, tokens: Sequence[str], language: str, counts: Mapping[str, int]
    ) -> Comparison:
        """Cosines of the document to each seed, the centroid and the negatives."""
        weights, indexed = self._learn(counts, language)
        tf = _LOG_TF.__getitem__ if max(counts.values(), default=0) < len(_LOG_TF) else _log_tf
        values = list(map(mul, map(weights.__getitem__, counts), map(tf, counts.values())))
        norm = math.sqrt(math.fsum(map(mul, values, values)))
        out = [0.0] * self._index.size
        if norm:
            cache = self.analyzer.cache_for(language)
            postings = self._index.postings
            for token in sorted(indexed.intersection(counts)):  # fixed order: same sums, same score
                stem, w = cache.get(token) or self.analyzer.feature(token, language)
                v = w * _log_tf(counts[token]) / norm
                for i, x in postings[stem]:
                    out[i] += v * x
        n = self._n_seeds
        return _comparison(
            out[:n],
            out[n],
            out[n + 1 :],
            self.seed_names,
            self.negative_names,
            language in self.languages,
        )


def _clip(x: float) -> float:
    """Into [0, 1] (sums of products can overshoot by rounding)."""
    return min(1.0, max(0.0, x))


def _comparison(
    pos: Sequence[float],
    cen: float,
    neg: Sequence[float],
    pos_names: Sequence[str],
    neg_names: Sequence[str],
    covered: bool,
) -> Comparison:
    i = max(range(len(pos)), key=pos.__getitem__) if pos else -1
    j = max(range(len(neg)), key=neg.__getitem__) if neg else -1
    return Comparison(
        nearest=pos_names[i] if i >= 0 else None,
        nearest_similarity=_clip(pos[i]) if i >= 0 else 0.0,
        centroid_similarity=_clip(cen),
        nearest_negative=neg_names[j] if j >= 0 else None,
        negative_similarity=_clip(neg[j]) if j >= 0 else 0.0,
        covered=covered and i >= 0,
    )


Encoder = Callable[[Sequence[str]], Sequence[Sequence[float]]]


def load_encoder(model: str) -> Encoder:
    """A sentence-transformers encoder (the optional ``embeddings`` extra)."""
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError as e:
        raise ConfigError(
            "similarity.backend = \"embedding\" needs the optional extra: pip install 'watcher[embeddings]'"
        ) from e
    st = SentenceTransformer(model or "paraphrase-multilingual-MiniLM-L12-v2")

    def encode(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        return st.encode(list(texts), normalize_embeddings=True).tolist()  # type: ignore[no-any-return]

    return encode


def _unit(vec: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm else list(vec)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class EmbeddingBackend:
    """Cosine similarity of dense embeddings (multilingual models cover every language)."""

    name = "embedding"

    def __init__(self, encode: Encoder, seeds: Sequence[Example], negatives: Sequence[Example]) -> None:
        self._encode = encode
        self.seed_names = [e.name for e in seeds]
        self.negative_names = [e.name for e in negatives]
        texts = [_text(e.document) for e in (*seeds, *negatives)]
        vecs = [_unit(v) for v in encode(texts)] if texts else []
        self._seeds = vecs[: len(seeds)]
        self._negatives = vecs[len(seeds) :]
        dim = len(vecs[0]) if vecs else 0
        self._centroid = _unit([sum(v[k] for v in self._seeds) for k in range(dim)])

    def covers(self, language: str) -> bool:
        """Every language (a multilingual model), given a seed."""
        return bool(self._seeds)

    def compare(
        self, doc: Document, tokens: Sequence[str], language: str, counts: Mapping[str, int]
    ) -> Comparison:
        """Cosines of the document's embedding to the seeds', their centroid and the negatives'."""
        vec = _unit(self._encode([_text(doc)])[0])
        return _comparison(
            [_dot(vec, s) for s in self._seeds],
            _dot(vec, self._centroid) if self._seeds else 0.0,
            [_dot(vec, n) for n in self._negatives],
            self.seed_names,
            self.negative_names,
            True,
        )


def _text(doc: Document, limit: int = 2000) -> str:
    return f"{doc.title}\n{doc.text}"[:limit]
