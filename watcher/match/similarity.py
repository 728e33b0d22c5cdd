"""Similarity to the seeds: TF-IDF over stems with background weights, or an optional embedding model.

Both backends answer the same question (``Backend.compare``): how close is a document to each seed,
to the seeds' centroid and to the nearest negative example (an article labelled irrelevant).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import ConfigError
from ..models import Document
from .text import Analyzer, detect_language, tokenize

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

    def compare(self, doc: Document, tokens: Sequence[str], language: str) -> Comparison:
        """Closeness of one document (its tokens given, to avoid tokenising twice)."""
        ...


def example(name: str, doc: Document) -> Example:
    """Analyse a seed or negative document."""
    tokens = tuple(tokenize(f"{doc.title}\n{doc.text}"))
    return Example(name, doc, tokens, doc.language or detect_language(f"{doc.title}\n{doc.text}"))


def vectorize(tokens: Sequence[str], language: str, analyzer: Analyzer) -> Vector:
    """L2-normalised TF-IDF vector over stems: (1 + ln tf) x background weight."""
    tf: dict[str, int] = {}
    weight: dict[str, float] = {}
    feature = analyzer.feature
    for token, n in Counter(tokens).items():
        stem, w = feature(token, language)
        if w <= 0.0:
            continue
        tf[stem] = tf.get(stem, 0) + n
        if w > weight.get(stem, 0.0):
            weight[stem] = w
    vec = {s: (1.0 + math.log(n)) * weight[s] for s, n in tf.items()}
    norm = math.sqrt(sum(v * v for v in vec.values()))
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
    """Inverted index over example vectors: scores a document against all of them in one pass."""

    def __init__(self, vectors: Sequence[Vector]) -> None:
        self.size = len(vectors)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, vec in enumerate(vectors):
            for s, v in vec.items():
                self.postings.setdefault(s, []).append((i, v))

    def cosines(self, vec: Vector) -> list[float]:
        out = [0.0] * self.size
        postings = self.postings
        for s, v in vec.items():
            plist = postings.get(s)
            if plist:
                for i, w in plist:
                    out[i] += v * w
        return out


class TfidfBackend:
    """Cosine similarity of TF-IDF vectors; seeds only count in the languages they are written in."""

    name = "tfidf"

    def __init__(
        self, analyzer: Analyzer, seeds: Sequence[Example], negatives: Sequence[Example]
    ) -> None:
        self.analyzer = analyzer
        self.seed_names = [e.name for e in seeds]
        self.negative_names = [e.name for e in negatives]
        seed_vecs = [vectorize(e.tokens, e.language, analyzer) for e in seeds]
        self.languages = frozenset(e.language for e in seeds)
        self._seeds = _Index(seed_vecs)
        self._centroid = centroid(seed_vecs)
        self._negatives = _Index([vectorize(e.tokens, e.language, analyzer) for e in negatives])

    def compare(self, doc: Document, tokens: Sequence[str], language: str) -> Comparison:
        """Cosines of the document to each seed, the centroid and the negatives."""
        vec = vectorize(tokens, language, self.analyzer)
        return _comparison(
            self._seeds.cosines(vec),
            sum(v * self._centroid.get(s, 0.0) for s, v in vec.items()),
            self._negatives.cosines(vec),
            self.seed_names,
            self.negative_names,
            language in self.languages,
        )


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
    clip = lambda x: min(1.0, max(0.0, x))  # noqa: E731 - rounding can overshoot 1
    return Comparison(
        nearest=pos_names[i] if i >= 0 else None,
        nearest_similarity=clip(pos[i]) if i >= 0 else 0.0,
        centroid_similarity=clip(cen),
        nearest_negative=neg_names[j] if j >= 0 else None,
        negative_similarity=clip(neg[j]) if j >= 0 else 0.0,
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

    def __init__(
        self, encode: Encoder, seeds: Sequence[Example], negatives: Sequence[Example]
    ) -> None:
        self._encode = encode
        self.seed_names = [e.name for e in seeds]
        self.negative_names = [e.name for e in negatives]
        texts = [_text(e.document) for e in (*seeds, *negatives)]
        vecs = [_unit(v) for v in encode(texts)] if texts else []
        self._seeds = vecs[: len(seeds)]
        self._negatives = vecs[len(seeds) :]
        dim = len(vecs[0]) if vecs else 0
        self._centroid = _unit([sum(v[k] for v in self._seeds) for k in range(dim)])

    def compare(self, doc: Document, tokens: Sequence[str], language: str) -> Comparison:
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
