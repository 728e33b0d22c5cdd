"""Plain-text explanations of scores, for ``watcher check`` and ``watcher eval``."""

from __future__ import annotations

from ..models import Score


def explain(score: Score, threshold: float) -> list[str]:
    """Every reason behind a score, one fact a line."""
    verdict = "MATCH" if score.matched else "no match"
    lines = [
        f"topic {score.topic}: {verdict}, score {score.score:.3f} (threshold {threshold:.2f})",
        f"  language: {score.language or '?'}",
        f"  keywords: {score.keyword_score:.3f}",
    ]
    for name, terms in score.groups.items():
        strength = score.strengths.get(name)
        found = ", ".join(f"{t} [title]" if t in score.title_terms else t for t in terms) or "(none)"
        level = f" ({strength:.2f})" if strength is not None else ""
        lines.append(f"    {name}{level}: {found}")
    weight = score.similarity_weight
    factor = 1.0 - weight + weight * score.similarity_score
    if weight:
        lines.append(
            f"  similarity: {score.similarity_score:.3f} -> keyword score x {factor:.2f}"
            f" (weight {weight:.2f})"
        )
    else:
        lines.append("  similarity: not used (no seed in this language, or no text): keywords decide")
    if score.nearest_seed:
        lines.append(
            f"    nearest seed: {score.nearest_seed} (cosine {score.seed_similarity:.3f});"
            f" centroid {score.centroid_similarity:.3f}"
        )
    if score.nearest_negative:
        lines.append(
            f"    nearest article labelled irrelevant: {score.nearest_negative}"
            f" (cosine {score.negative_similarity:.3f})"
        )
    if score.excluded:
        lines.append(f"  excluded by: {', '.join(score.excluded)}")
    return lines
