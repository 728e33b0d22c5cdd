"""The relevance filter: keyword concept groups plus similarity to seed articles, with reasons.

Usage::

    model = match.build_model(topic, extra_seeds=relevant, negatives=irrelevant)
    score = model.score(Document(title, text))   # a models.Score: score, matched, reasons()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import TopicModel, build_model, read_seed

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ..models import Document

__all__ = ["TopicModel", "build_model", "load_feedback", "read_seed"]


def load_feedback(engine: sa.Engine, topic_name: str) -> tuple[list[Document], list[Document]]:
    """The analyst's labels for a topic: (relevant, irrelevant) stored articles as documents."""
    from ..store import topics  # the store is only touched when feedback is asked for

    return topics.load_feedback(engine, topic_name)
