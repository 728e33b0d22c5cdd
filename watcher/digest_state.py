"""Pure: the states of a digest and the transitions between them, declared once (issue 17).

A stored digest (``digests.status``) lives as::

    (nothing) ──record──▶ pending ──delivered──▶ sent         (final)
                             │ ▲
                             │ └──reopen (resend_digest)── failed
                             └──refused──▶ failed          (its matches released)

An uncertain send (crash, timeout, lost connection) leaves it pending: the next run resends it as
recorded.  A run that records nothing ends in an outcome that is never stored: skipped (nothing new
and ``empty = "skip"``), dry (``--dry-run``: rendered only) or review (``--since``: files only).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class DigestState(enum.StrEnum):
    """A stored digest's status, or the outcome of a run that stored none."""

    PENDING = "pending"  # recorded, matches claimed; not known to be delivered (resent next run)
    SENT = "sent"  # delivered: files written, mail accepted when e-mail is on
    FAILED = "failed"  # refused for sure: its matches were released to the next digest
    SKIPPED = "skipped"  # outcome only: nothing new and empty = "skip"
    DRY = "dry"  # outcome only: rendered, nothing written or marked
    REVIEW = "review"  # outcome only: files for --since, nothing marked


STORED = frozenset({DigestState.PENDING, DigestState.SENT, DigestState.FAILED})
# The runs that did what was asked (exit status 0); failed and pending ask for attention.
SUCCEEDED = frozenset({DigestState.SENT, DigestState.SKIPPED, DigestState.DRY, DigestState.REVIEW})

# Allowed moves of a stored digest; None is "not recorded yet".
TRANSITIONS: Mapping[DigestState | None, frozenset[DigestState]] = {
    None: frozenset({DigestState.PENDING}),
    DigestState.PENDING: frozenset({DigestState.SENT, DigestState.FAILED}),
    DigestState.FAILED: frozenset({DigestState.PENDING}),
    DigestState.SENT: frozenset(),
}


class BadTransition(ValueError):
    """A move the life of a digest does not allow (a bug, not bad input)."""


def sources(target: DigestState) -> tuple[DigestState, ...]:
    """The stored states from which a digest may move to ``target`` (for guarded updates)."""
    return tuple(s for s, to in TRANSITIONS.items() if s is not None and target in to)


def transition(old: DigestState | None, new: DigestState) -> DigestState:
    """``new`` if a digest in state ``old`` may move there, else BadTransition."""
    if new not in TRANSITIONS.get(old, frozenset()):
        raise BadTransition(f"a digest cannot go from {old or 'nothing'} to {new}")
    return new


__all__ = ["STORED", "SUCCEEDED", "TRANSITIONS", "BadTransition", "DigestState", "sources", "transition"]
