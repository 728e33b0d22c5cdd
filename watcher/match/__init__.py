"""The relevance filter: keyword concept groups plus similarity to seed articles, with reasons.

Usage::

    model = match.build_model(topic, extra_seeds=relevant, negatives=irrelevant)
    score = model.score(Document(title, text))   # a models.Score: score, matched, reasons()

Pure: the analyst's labels are loaded by the caller (``store.topics.load_feedback``) and handed in.
"""

from __future__ import annotations

from .model import TopicModel, build_model, read_seed

__all__ = ["TopicModel", "build_model", "read_seed"]
