"""A topic's TOML block from its seed articles — PLACEHOLDER for issue 18's ``watcher.topicgen``.

Issue 15 (``watcher init --topic NAME --seed ...``) needs ``topic_toml(name, seeds) -> str``; issue 18
builds the real generator (concepts from the lexicon).  This stand-in, on the ``watcher topic suggest``
machinery, writes one group of the seeds' most distinctive words, for the analyst to split and edit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..match.suggest import suggest
from ..match.text import Analyzer, detect_language, wordfreq_frequency
from ..models import Document

TERMS = 15


def _read(path: Path) -> Document:
    """A seed file: the first line is the title, the rest the text."""
    try:
        title, _, text = path.read_text(encoding="utf-8").strip().partition("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the seed: {e}") from e
    return Document(title.strip(), text.strip())


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string is a JSON string


def topic_toml(name: str, seeds: Sequence[str | Path], *, base: Path | None = None) -> str:
    """A commented ``[[topics]]`` block for ``name`` whose ``seeds`` are listed as given.

    Relative seed paths are read against ``base`` (the config's folder).
    """
    docs = [_read((base or Path.cwd()) / s) for s in seeds]
    analyzer = Analyzer(wordfreq_frequency)
    terms = list(dict.fromkeys(s.forms[0].lower() for s in suggest(docs, analyzer, None, TERMS)))
    langs = sorted({detect_language(f"{d.title}\n{d.text}") for d in docs} - {""}) or ["en"]
    lines = [
        "[[topics]]",
        f"name = {_q(name)}",
        f"description = {_q(f'Articles like the {len(docs)} seed(s) in seeds/')}",
        f"seeds = [{', '.join(_q(str(s)) for s in seeds)}]",
        f"languages = [{', '.join(_q(lang) for lang in langs)}]",
        "threshold = 0.5",
        "",
        "# The seeds' most distinctive words (`watcher topic suggest NAME` lists more).  Split them into",
        "# groups that must all be present (AND of ORs) — e.g. a place, a people, a subject.",
        "[[topics.groups]]",
        'name = "terms"',
        f"terms = [{', '.join(_q(t) for t in terms)}]",
    ]
    return "\n".join(lines) + "\n"
