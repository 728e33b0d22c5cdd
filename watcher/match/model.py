"""The topic model: keyword concept groups and seed similarity, one score with its reasons."""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import TopicConfig
from ..errors import ConfigError
from ..models import Document, Score
from . import context, keywords, learned
from .gate import Gate
from .morph import Morphology
from .similarity import (
    Backend,
    Comparison,
    EmbeddingBackend,
    Encoder,
    Example,
    TfidfBackend,
    example,
    load_encoder,
)
from .text import (
    LANGUAGE_SAMPLE,
    Analyzer,
    bmp_token,
    detect_language_tokens,
    document_text,
    document_words,
    language_script,
    leading_words,
    wordfreq_frequency,
)

log = logging.getLogger(__name__)
EXCLUDED_FACTOR = 0.25  # an exclusion term found: the score is cut to a quarter
SHORT_TEXT = 150  # below this many words, seed similarity counts proportionally less
# An article whose score the seed comparison cannot change (``TopicModel.analyse``): not compared.
NOT_COMPARED = Comparison(covered=False)


def effective_threshold(topic: TopicConfig) -> float:
    """The threshold a model of ``topic`` applies: a threshold written in the config wins; else the
    fitted one (chosen on held-out folds); else the config's default (no model is built here)."""
    if topic.threshold_set:
        return topic.threshold
    combination = learned.load(topic.weights, topic.name)
    return combination.threshold if combination is not None else topic.threshold


class TopicModel:
    """A compiled topic: ``score(doc)`` is pure and safe to call from several threads."""

    def __init__(
        self,
        topic: TopicConfig,
        matcher: keywords.Matcher,
        backend: Backend,
        seeds: Sequence[Example],
        negatives: Sequence[Example],
        combination: learned.Combination | None = None,
        morphology: Morphology | None = None,
    ) -> None:
        self.topic = topic
        self.name = topic.name
        self.combination = combination
        self.morphology = morphology
        # A threshold written in the config wins; else the fitted one (chosen on held-out folds).
        fitted = combination is not None and not topic.threshold_set
        self.threshold = combination.threshold if combination and fitted else topic.threshold
        self.matcher = matcher
        self.backend = backend
        self.seeds = tuple(seeds)
        self.negatives = tuple(negatives)

    @functools.cached_property
    def gate(self) -> Gate | None:
        """The required concept whose absence alone makes an article score 0 (``score``): the
        most selective, the one fewest words can name (with the context groups supporting it).
        None when a score of 0 still matches (a threshold of 0), when the fitted combination has no
        cap on the weakest concept, or when ``min_groups`` lets a concept be missing."""
        groups = self.matcher.groups
        required = [i for i, g in enumerate(groups) if g.required]
        if self.threshold <= 0 or not required:
            return None
        if self.combination is not None and "weakest" not in self.combination.features:
            return None
        need = self.topic.min_groups
        if self.combination is None and need is not None and need < len(required):
            return None
        supporting = self.matcher.supported  # (context group, the group it supports, its anchors)
        gates = [
            self.matcher.gate(groups[i].name, [i, *(si for si, ti, _ in supporting if ti == i)])
            for i in required
        ]
        return min((g for g in gates if not g.open), key=lambda g: len(g.heads) + len(g.exact), default=None)

    def clear_caches(self) -> None:
        """Forget every per-token answer (benchmarks use this to measure the uncached cost)."""
        self.matcher.clear_cache()
        if self.morphology is not None:
            self.morphology.clear_cache()
        if isinstance(self.backend, TfidfBackend):
            self.backend.clear_cache()

    def feature_names(self) -> tuple[str, ...]:
        """The names of ``features``' values, in order."""
        groups = self.matcher.groups
        return (
            *(g.name for g in groups),
            *(f"{g.name}:title" for g in groups if g.required),
            *(f"{g.name}:outweighs" for g in groups if g.contrast),
            "keywords", "weakest", "short", "together",
        )  # fmt: skip

    def features(self, doc: Document) -> tuple[float, ...]:
        """The values a fitted combination weighs (see ``feature_names``)."""
        return self.analyse(doc)[1]

    def score(self, doc: Document, *, full: bool = False) -> Score:
        """Score one document against the topic, with the reasons.

        ``full`` compares it with the seeds even when that cannot change its score (see ``analyse``):
        for ``watcher check`` and ``eval``, which name the nearest seed of any article.  Without it,
        an article that names no term of a required concept (``gate``: told from its words as
        written, most of them never keyed) scores 0 at once: its reasons name that concept alone,
        with no term and strength 0, as the full analysis has them; the other concepts' terms are
        not looked for (an article scoring 0 is neither matched nor a near miss; ``watcher check``
        shows them all).
        """
        gate = self.gate
        if full or gate is None or gate.named(document_text(doc.title, doc.text), self.matcher.atoms_of):
            return self.analyse(doc, full=full)[0]
        return Score(
            topic=self.name,
            score=0.0,
            matched=False,  # (the threshold is above 0: ``gate``)
            groups={gate.name: ()},
            language=_document_language(doc, leading_words(doc.title, doc.text, LANGUAGE_SAMPLE)),
            strengths={gate.name: 0.0},
        )

    def analyse(self, doc: Document, *, full: bool = False) -> tuple[Score, tuple[float, ...]]:
        """The score with its reasons, and the feature values behind it.

        The seed comparison (TF-IDF or embedding) is skipped unless ``full`` where it can change
        neither the score nor anything shown (issue 12 point 7: most articles a feed brings are
        about something else, or in a language no seed is in):

        * the score is 0 whatever it says, and the threshold above 0: a required concept is missing,
          so the hand-set formula's keyword score or the fitted combination's gated probability is 0;
          similarity only scales the former and is no feature of the latter, and negatives
          (articles labelled irrelevant) only subtract from a score already at its floor.  Such an
          article is not matched, nor a near miss, and nothing names its nearest seed;
        * no seed is in the article's language (TF-IDF) and the topic has no negatives: similarity
          then has no weight, no seed is named, and no labelled look-alike can pull it down.

        Such an article gets the seed fields of a language no seed is in (no nearest seed or
        negative, cosines, similarity score and weight 0); its score, verdict, terms, strengths and
        every line ``explain`` prints are those of ``full``.  ``tests/test_match_lazy.py`` holds
        the two together over the dev corpora.
        """
        title, tokens = document_words(doc.title, doc.text)
        language = _document_language(doc, tokens)
        hits, excluded = self.matcher.find(tokens, len(title))
        found = context.results(self.matcher, hits, len(title), self.topic.saturation)
        groups = keywords.apply_contrast(self.matcher.groups, found)
        kscore = keywords.keyword_score(self.matcher.groups, groups, self.topic.min_groups)
        pairs = [(g, r) for g, r in zip(self.matcher.groups, groups, strict=True) if g.required]
        required = [r.strength for _, r in pairs]  # after contrast: Russia outweighed is weak
        feats = (
            *(r.strength for r in groups),
            *(float(bool(r.title_terms)) for _, r in pairs),
            *keywords.outweighing(self.matcher.groups, found),
            kscore,
            min(required, default=0.0),
            1.0 - min(1.0, len(tokens) / SHORT_TEXT),
            context.together(self.matcher.groups, found, len(title), self.topic.saturation),
        )
        fitted = self.combination.score(feats) if self.combination is not None else None
        settled = not full and (
            (self.threshold > 0 and (kscore if fitted is None else fitted) <= 0.0)
            or (not self.negatives and not self.backend.covers(language))
        )
        cmp = NOT_COMPARED if settled else self.backend.compare(doc, tokens, language, Counter(tokens))
        sim = self.topic.similarity
        similarity = min(1.0, cmp.positive / sim.scale) if sim.scale > 0 else 0.0
        weight = sim.weight * min(1.0, len(tokens) / SHORT_TEXT) if cmp.covered else 0.0
        # Similarity confirms keywords and never stands in for them: an article unlike every seed
        # keeps (1 - weight) of its keyword score; one like a seed keeps all of it.
        value = kscore * (1.0 - weight + weight * similarity)
        if cmp.negative_similarity > cmp.positive:  # closer to a rejected article than to any seed
            value -= sim.negative_weight * (cmp.negative_similarity - cmp.positive)
        # Seed similarity is no feature: TF-IDF compares only articles in the seeds' languages, so
        # a weight fitted on it favours those languages (leave-one-language-out recall fell from
        # 85/102 to 0/32 for English when it was one).  It still explains, and labelled look-alikes
        # still push down.
        if fitted is not None:  # fitted on labels: it replaces the hand-set formula
            value = fitted
            if cmp.negative_similarity > cmp.positive:  # like an article labelled irrelevant:
                # pushed down by the share of the way from the seeds to that article (all of it
                # for the labelled article itself), since a probability near 1 has far to fall
                gap = (cmp.negative_similarity - cmp.positive) / max(1e-9, 1.0 - cmp.positive)
                value -= sim.negative_weight * gap
        if excluded:
            value *= EXCLUDED_FACTOR
        value = min(1.0, max(0.0, value))
        return Score(
            topic=self.name,
            score=round(value, 4),
            matched=value >= self.threshold,
            # a context group's terms are shown under the concept they support (issue 12)
            groups={
                r.name: r.terms for g, r in zip(self.matcher.groups, groups, strict=True) if not g.supports
            },
            excluded=tuple(excluded),
            # A seed in another language was not compared: naming it would explain nothing.
            nearest_seed=cmp.nearest if cmp.covered and cmp.nearest_similarity > 0 else None,
            seed_similarity=round(cmp.nearest_similarity, 4),
            keyword_score=round(kscore, 4),
            similarity_score=round(similarity, 4),
            title_terms=tuple(t for g in groups for t in g.title_terms),
            language=language,
            centroid_similarity=round(cmp.centroid_similarity, 4),
            nearest_negative=cmp.nearest_negative,
            negative_similarity=round(cmp.negative_similarity, 4),
            similarity_weight=round(weight, 4),
            strengths={
                r.name: round(r.strength, 4)
                for g, r in zip(self.matcher.groups, groups, strict=True)
                if not g.supports
            },
        ), feats


def _document_language(doc: Document, tokens: Sequence[str]) -> str:
    """The language given with a document unless its text is in another script; else detected."""
    detected = detect_language_tokens(tokens)
    given = _language(doc.language)
    return given if given and language_script(given) == language_script(detected) else detected


def _language(code: str | None) -> str:
    """ "en-US" -> "en"; nothing or nonsense -> "" (then the language is detected)."""
    head = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return head if len(head) in (2, 3) and head.isalpha() else ""


def read_seed(path: Path) -> Document:
    """A seed file: the first non-empty line is the title, the rest the text."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"seed {path}: cannot read: {e}") from e
    title, _, body = raw.strip().partition("\n")
    return Document(title=title.strip(), text=body.strip(), url=str(path), id=path.stem)


def _seed_documents(topic: TopicConfig, fetch_seed: Callable[[str], str] | None) -> list[Document]:
    docs = []
    for seed in topic.seeds:
        if re.match(r"^https?://", seed):
            if fetch_seed is None:
                log.warning("topic=%s seed=%s skipped: no fetcher for URL seeds", topic.name, seed)
                continue
            text = fetch_seed(seed)
            if not text.strip():
                log.warning("topic=%s seed=%s skipped: no text", topic.name, seed)
                continue
            title, _, body = text.strip().partition("\n")
            docs.append(Document(title=title, text=body, url=seed, id=seed))
        else:
            docs.append(read_seed(Path(seed)))
    return docs


def _label(doc: Document, prefix: str, i: int) -> str:
    return doc.id or doc.url or f"{prefix}{i}"


def build_model(
    topic: TopicConfig,
    *,
    extra_seeds: Sequence[Document] = (),
    negatives: Sequence[Document] = (),
    background: Sequence[str] = (),
    fetch_seed: Callable[[str], str] | None = None,
    encoder: Encoder | None = None,
    analyzer: Analyzer | None = None,
    fitted: bool = True,
) -> TopicModel:
    """Compile a topic: read its seeds, weigh words against the background, index the examples.

    ``extra_seeds`` (articles labelled relevant) join the seeds; ``negatives`` (labelled irrelevant)
    pull down the score of look-alikes.  ``background`` texts (stored articles) refine word weights.
    A topic built from lexicon concepts matches words by lemma and stem in each term's language;
    its fitted combination (``topic fit``) is used unless ``fitted`` is false (fitting itself).
    """
    if analyzer is None:
        analyzer = Analyzer(wordfreq_frequency)
        if background:
            analyzer.fit_background(background)
    bmp_token()  # the tokeniser's letter class, compiled once per process (before the first article)
    morphology = Morphology() if topic.concepts else None
    stem = morphology.key if morphology is not None else analyzer.stem_in
    try:
        matcher = keywords.Matcher(
            topic.groups,
            topic.exclude,
            stem,
            topic.languages,
            morphology.term_key if morphology is not None else None,
        )
    except ValueError as e:
        raise ConfigError(f"topic {topic.name!r}: {e}") from e
    docs = _seed_documents(topic, fetch_seed)
    seeds = [example(_label(d, "seed", i), d) for i, d in enumerate([*docs, *extra_seeds])]
    negs = [example(_label(d, "negative", i), d) for i, d in enumerate(negatives)]
    backend: Backend
    if topic.similarity.backend == "embedding":
        backend = EmbeddingBackend(encoder or load_encoder(topic.similarity.model), seeds, negs)
    else:
        backend = TfidfBackend(analyzer, seeds, negs)
    log.debug("topic=%s seeds=%d negatives=%d", topic.name, len(seeds), len(negs))
    model = TopicModel(topic, matcher, backend, seeds, negs, None, morphology)
    combination = learned.load(topic.weights, topic.name) if fitted else None
    if combination is not None and combination.features != model.feature_names():
        log.warning(
            "topic=%s weights=%s skipped: fitted for other concepts (run: watcher topic fit %s FILE)",
            topic.name, combination.source, topic.name,
        )  # fmt: skip
        combination = None
    if combination is not None:
        model = TopicModel(topic, matcher, backend, seeds, negs, combination, morphology)
    return model
