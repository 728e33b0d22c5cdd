"""Near-duplicate folding: the same wire story on several sites becomes one cluster.

MinHash signatures of word 3-shingles of the extracted text, bucketed with an LSH index
(datasketch) tuned for recall, then confirmed by the exact Jaccard similarity of the shingle sets;
clusters are the connected components.  Light rewrites (a changed headline, a dropped paragraph,
a different byline) stay above the threshold; two different stories about the same event share few
3-shingles and stay apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 128
THRESHOLD = 0.5
SHINGLE = 3
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The set of lower-cased word ``size``-grams of ``text`` (whole text when it is shorter)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(text: str) -> MinHash:
    """The MinHash of a text's shingles (seeded, so stable across runs and processes)."""
    return _signature(shingles(text))


def _signature(grams: set[bytes]) -> MinHash:
    from datasketch import MinHash  # imported on use: it pulls in numpy and scipy (~1 s)

    m = MinHash(num_perm=NUM_PERM, seed=1)
    if grams:
        m.update_batch(sorted(grams))
    return m


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def fingerprint(text: str) -> str:
    """A short stable hex key of a text's signature (for ``matches.cluster_key``)."""
    m = signature(text)
    return hashlib.sha256(m.hashvalues.tobytes()).hexdigest()[:32]


def clusters(texts: Sequence[str], threshold: float = THRESHOLD) -> list[list[int]]:
    """Group the indexes of near-duplicate texts; each index in exactly one group, in order."""
    grams = [shingles(t) for t in texts]
    sigs = [_signature(g) for g in grams]
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Weighted towards recall (a missed copy is a repeated story; a false candidate costs one set
    # intersection): at threshold 0.5, pairs at similarity 0.5 are proposed 97% of the time, at
    # 0.6 99.8%.  LSH only proposes; the exact Jaccard similarity decides.
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=(0.05, 0.95))
    for i, sig in enumerate(sigs):
        if not grams[i]:  # no words at all: nothing to compare
            continue
        for j in lsh.query(sig):
            if jaccard(grams[i], grams[j]) >= threshold:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        lsh.insert(i, sig)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])
