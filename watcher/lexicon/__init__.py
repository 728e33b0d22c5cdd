"""The concept lexicon: multilingual concepts (subjects, places) read from the TOML files here.

Format (one file holds many concepts)::

    [migration]                 # concept id
    label = "migration"         # English name shown in explanations
    kind = "subject"            # subject | place | people | org
    [migration.terms]           # ISO 639-1 code -> terms (a word or a phrase, dictionary forms)
    en = ["migrant", "refugee"]
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from ..errors import ConfigError

KINDS = ("subject", "place", "people", "org")


@dataclass(frozen=True, slots=True)
class Concept:
    """One concept: its id, English label, kind and terms per language."""

    name: str
    label: str
    kind: str
    terms: Mapping[str, tuple[str, ...]]


def _parse(name: str, raw: object, where: str) -> Concept:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    terms = raw.get("terms", {})
    kind = raw.get("kind", "subject")
    if kind not in KINDS or not isinstance(terms, dict):
        raise ConfigError(f"{where}: [{name}]: kind must be one of {', '.join(KINDS)} and terms a table")
    parsed: dict[str, tuple[str, ...]] = {}
    for lang, items in sorted(terms.items()):
        if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items):
            raise ConfigError(f"{where}: [{name}.terms].{lang} must be a list of non-empty strings")
        parsed[lang] = tuple(dict.fromkeys(t.strip() for t in items))
    return Concept(name, str(raw.get("label", name)), kind, parsed)


def load(names: Iterable[str] | None = None) -> dict[str, Concept]:
    """Every concept of the packaged lexicon (or only ``names``); a concept defined twice is an error."""
    out: dict[str, Concept] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"lexicon/{entry.name}: {e}") from e
        for name, raw in data.items():
            if name in out:
                raise ConfigError(f"lexicon/{entry.name}: concept {name!r} is defined twice")
            out[name] = _parse(name, raw, f"lexicon/{entry.name}")
    if names is None:
        return out
    wanted = list(names)
    if missing := [n for n in wanted if n not in out]:
        raise ConfigError(f"lexicon: no concept {', '.join(map(repr, missing))}")
    return {n: out[n] for n in wanted}
