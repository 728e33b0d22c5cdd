"""``[[topics]]`` in config.toml -> a frozen ``TopicConfig``: seeds, concept groups, similarity.

Kept beside ``config.py`` (which calls ``parse_topic``) so that the topic keys live in one place;
``concepts`` are read from the lexicon (``watcher/lexicon``) only when a topic names some (issue 12).
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError
from .tomlread import Table as _Table
from .tomlread import hint as _hint
from .tomlread import resolve_path as _path


@dataclass(frozen=True, slots=True)
class ConceptGroup:
    """Any-of terms; a topic's required groups must all match (AND of ORs)."""

    name: str
    terms: tuple[str, ...]
    required: bool = True
    weight: float = 1.0
    contrast: str = ""  # name of a group this one competes with (e.g. other destinations vs Russia)
    drop: tuple[str, ...] = ()  # lexicon terms a topic removes from the concept of this name
    lexicon: bool = False  # built from a lexicon concept (issue 12)
    supports: str = ""  # context terms: they count towards this group only near other evidence
    anchors: tuple[str, ...] = ()  # ... next to a term of these groups (default: the other required)


@dataclass(frozen=True, slots=True)
class SimilarityConfig:
    backend: str = "tfidf"  # "tfidf" or "embedding"
    weight: float = 0.5
    model: str = ""
    scale: float = 0.4  # the cosine to the seeds that counts as full similarity
    negative_weight: float = 1.0  # how hard look-alikes of articles labelled irrelevant are pushed down


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    seeds: tuple[str, ...] = ()  # resolved file paths or URLs
    groups: tuple[ConceptGroup, ...] = ()
    exclude: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en", "ru")
    threshold: float = 0.5
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)
    description: str = ""
    min_groups: int | None = None  # required groups that must match (default: all of them)
    saturation: float = 2.0  # keyword evidence at which a group is ~63% present
    # issue 12: lexicon concepts the topic is built from (they become groups) and the file holding
    # the combination fitted by `watcher topic fit` (default: weights/NAME.json beside the config)
    concepts: tuple[str, ...] = ()
    weights: Path | None = None
    threshold_set: bool = False  # `threshold` written in the config: it wins over a fitted one


def _seeds(t: _Table, base: Path) -> tuple[str, ...]:
    out: list[str] = []
    for i, item in enumerate(t.strs("seeds", ())):
        if re.match(r"^https?://", item):
            out.append(item)
            continue
        pattern = str(_path(base, item))
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches or not all(_is_file(m) for m in matches):
            raise ConfigError(f"{t.where('seeds')}[{i}]: no seed file at {pattern}")
        out.extend(matches)
    return tuple(out)


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:  # a name too long for the file system is no seed file either
        return False


def _concept_groups(t: _Table, groups: list[ConceptGroup]) -> list[ConceptGroup]:
    """Groups from the lexicon's concepts (issue 12), with the topic's own groups folded in.

    ``concepts`` become required groups, ``contrast = {concept = "group"}`` contrast groups; a
    ``[[topics.groups]]`` named like a concept adds its ``terms`` and removes its ``drop`` list.
    """
    from . import lexicon  # local: topics without concepts never read the lexicon

    names = t.strs("concepts", ())
    contrast = t.table("contrast")
    targets = {key: contrast.text(key, "") for key in contrast.raw}
    contrast.finish()
    # issue 12: {concept = "group"} or {concept = ["group", "anchor", ...]}: weak terms of that group
    context = t.table("context")
    supported = {key: context.strs(key, ()) for key in context.raw}
    context.finish()
    for key, named in supported.items():
        bad = [n for n in named if n not in names] or ([] if named else [""])
        if bad:
            hint = _hint(bad[0], list(names))
            raise ConfigError(f"{context.where(key)}: must name the topic's concepts{hint}")
    if not names and not targets:
        return groups
    known = lexicon.names()
    named_at = [
        *((t.where("concepts"), n) for n in names),
        *((contrast.where(n), n) for n in targets),
        *((context.where(n), n) for n in supported),
    ]
    for where, name in named_at:
        if name not in known:
            raise ConfigError(f"{where}: unknown concept {name!r}{_hint(name, known)}")
    concepts = lexicon.load([*names, *targets, *supported])
    own = {g.name: g for g in groups}
    out = []
    for name, concept in concepts.items():
        g = own.pop(name, None)
        drop = {d.lower() for d in g.drop} if g else set()
        terms = [x for x in lexicon.matcher_terms(concept) if x.split(":", 1)[-1].lower() not in drop]
        terms += list(g.terms if g else ())
        weight = g.weight if g else 1.0
        if name in supported:
            to, *anchors = supported[name]
            group = ConceptGroup(name, tuple(terms), False, weight, lexicon=True, supports=to)
            out.append(replace(group, anchors=tuple(anchors)))
        elif name in targets:
            out.append(ConceptGroup(name, tuple(terms), False, weight, targets[name], lexicon=True))
        else:
            out.append(ConceptGroup(name, tuple(terms), True, weight, lexicon=True))
    return out + list(own.values())


def parse_topic(t: _Table, base: Path) -> TopicConfig:
    """One ``[[topics]]`` table, validated."""
    name = t.text("name", "")
    if not name:
        raise ConfigError(f"{t.where('name')}: a topic needs a name")
    groups = []
    contrast_raw = t.raw.get("contrast", {})
    concept_names = {*t.strs("concepts", ()), *(contrast_raw if isinstance(contrast_raw, dict) else ())}
    context_raw = t.raw.get("context", {})
    concept_names |= set(context_raw if isinstance(context_raw, dict) else ())
    for g in t.tables("groups"):
        gname = g.text("name", "")
        terms = g.strs("terms", ())
        drop = g.strs("drop", ())
        if not gname or not (terms or (gname in concept_names and drop)):
            raise ConfigError(f"{g.path}: a concept group needs a name and terms")
        contrast = g.text("contrast", "")
        groups.append(
            ConceptGroup(
                gname,
                terms,
                g.flag("required", not contrast),
                g.number("weight", 1.0, 0.0, 100.0),
                contrast,
                drop,
            )
        )
        g.finish()
    groups = _concept_groups(t, groups)
    names = [g.name for g in groups]
    for i, grp in enumerate(groups):
        if grp.contrast and (grp.contrast not in names or grp.contrast == grp.name or grp.required):
            raise ConfigError(
                f"{t.where('groups')}[{i}].contrast: must name another group and the group must "
                f"not be required{_hint(grp.contrast, names)}"
            )
    s = t.table("similarity")
    sim = SimilarityConfig(
        backend=s.choice("backend", "tfidf", ("tfidf", "embedding")),
        weight=s.number("weight", SimilarityConfig().weight, 0.0, 1.0),
        model=s.text("model", ""),
        scale=s.number("scale", SimilarityConfig().scale, 0.01, 1.0),
        negative_weight=s.number("negative_weight", SimilarityConfig().negative_weight, 0.0, 10.0),
    )
    s.finish()
    topic = TopicConfig(
        name=name,
        seeds=_seeds(t, base),
        groups=tuple(groups),
        exclude=t.strs("exclude", ()),
        languages=t.strs("languages", ("en", "ru")),
        threshold=t.number("threshold", 0.5, 0.0, 1.0),
        similarity=sim,
        description=t.text("description", ""),
        min_groups=t.whole("min_groups", 0, 1) if "min_groups" in t.raw else None,
        saturation=t.number("saturation", TopicConfig("").saturation, 0.1, 100.0),
        concepts=t.strs("concepts", ()),
        weights=_path(base, t.text("weights", f"weights/{name}.json")),
        threshold_set="threshold" in t.raw,
    )
    t.known.add("min_groups")
    t.finish()
    return topic
