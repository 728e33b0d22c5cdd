"""A proposal -> the commented TOML block of a ``[[topics]]`` entry (pure, deterministic)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..lexicon import Concept
from ..match.text import wordfreq_frequency
from .forms import lexicon_term, name_forms, to_cyrillic, to_latin
from .propose import Group, Proposal
from .translit import other_scripts

THRESHOLD = 0.3
SATURATION = 1.5
WIDTH = 100
COMMON_WORD = 1e-5  # a word this frequent in its language is no name
# wordfreq's "small" lists (wordfreq.available_languages(wordlist="small")), but ja, ko and zh,
# whose lookups need tokenisers (MeCab, ...) that are not installed.
WORDFREQ_LANGS = frozenset(
    [
        "ar",
        "bg",
        "bn",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "fa",
        "fi",
        "fil",
        "fr",
        "he",
        "hi",
        "hu",
        "id",
        "is",
        "it",
        "lt",
        "lv",
        "mk",
        "ms",
        "nb",
        "nl",
        "pl",
        "pt",
        "ro",
        "ru",
        "sh",
        "sk",
        "sl",
        "sv",
        "ta",
        "tr",
        "uk",
        "ur",
        "vi",
    ]
)


def render(
    name: str, proposal: Proposal, seeds: Sequence[str], titles: Sequence[str], languages: Sequence[str]
) -> str:
    """The topic block: settings, then each group with a comment saying where its terms came from."""
    required = [g.name for g in proposal.groups if g.required]
    if not proposal.subject.concepts:
        required.append("<no subject: the lexicon knows none of the seeds' subjects; add a group>")
    lines = [
        f"# Topic {name!r}, proposed by `watcher topic new` from {len(seeds)} sample article(s):",
        *[f"#   {t}" for t in titles],
        "# An article counts when it has every required group (" + " AND ".join(required) + ").",
        "# Terms come from the seeds (names), the concept lexicon (watcher/lexicon/*.toml: the same",
        "# concept in every language) and the gazetteer; edit freely, then `watcher eval` / `watcher check`.",
        "[[topics]]",
        f"name = {_q(name)}",
        f"description = {_q(' / '.join(titles))}",
        f"seeds = [{', '.join(_q(s) for s in seeds)}]",
        f"languages = [{', '.join(_q(x) for x in languages)}]",
        f"threshold = {THRESHOLD}",
        f"saturation = {SATURATION}",
        "exclude = []",
        "",
        "[topics.similarity]",
        'backend = "tfidf"',
        "weight = 0.4",
        "scale = 0.4",
    ]
    for group in proposal.groups:
        lines += ["", *_group(group)]
        if group is proposal.subject and proposal.subject_others:
            lines += _comment(
                "the seeds also speak of (add a group if every article must): "
                + ", ".join(f"{f.concept.name} ({', '.join(f.terms)})" for f in proposal.subject_others[:6])
            )
    return "\n".join(lines) + "\n"


def _group(g: Group) -> list[str]:
    kind = "contrast" if g.contrast else "required" if g.required else "optional"
    concepts = ", ".join(c.name for c in g.concepts[:12]) + (" ..." if len(g.concepts) > 12 else "")
    out = _comment(f"{kind}: {g.why}")
    if concepts:
        out += _comment(f"lexicon concepts: {concepts}")
    out += ["[[topics.groups]]", f"name = {_q(g.name)}"]
    if g.contrast:
        out += [f"contrast = {_q(g.contrast)}", f"weight = {g.weight}"]
    elif not g.required:
        out += ["required = false"]
    elif g.weight != 1.0:
        out += [f"weight = {g.weight}"]
    out.append("terms = [")
    seen: set[str] = set()
    if g.names:
        out += _terms(
            "names in every seed, and their spellings in other scripts (transliterated)",
            _name_terms(g.names),
            seen,
        )
    for c in g.concepts:
        if g.contrast:
            terms = [f for lang in sorted(c.terms) for f in _place_forms(c.terms[lang][:1], lang)]
            out += _terms(c.label, terms, seen)
            continue
        for lang in sorted(c.terms, key=lambda x: (x != "en", x)):
            if c.kind == "subject":
                terms = [lexicon_term(t, lang) for t in c.terms[lang]]
            else:
                terms = _place_forms(c.terms[lang], lang)
            out += _terms(f"{lang} ({c.name})" if len(g.concepts) > 1 else lang, terms, seen)
    out.append("]")
    return out


def _place_forms(names: Sequence[str], lang: str) -> list[str]:
    """Forms of a place's names in one language; the first is the country's own name.

    A shortened prefix that is a common word of the language ("pool*" from Estonian "Poola")
    becomes the whole name as a prefix.  Arabic clitics are added to the country's name only.
    """
    out: list[str] = []
    for i, name in enumerate(names):
        for form in name_forms(name, lang if i == 0 else ""):
            stem = form.rstrip("*")
            full = name.lower()
            if form.endswith("*") and stem != full and " " not in stem and _common(stem, lang):
                form = full + "*"
            out.append(form)
    return list(dict.fromkeys(out))


def _common(word: str, lang: str) -> bool:
    """A common word of its language or of English (a prefix matches words of every language).

    Only languages wordfreq has: its nearest-language guess would judge foreign words.
    """
    langs = {"en", {"no": "nb"}.get(lang, lang)} & WORDFREQ_LANGS
    return any(wordfreq_frequency(word, x) > COMMON_WORD for x in sorted(langs))


def _name_terms(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        cyr = to_cyrillic(n)
        out += name_forms(n) + name_forms(cyr) + name_forms(to_latin(cyr))
        for lang, form in sorted(other_scripts(n).items()):
            out += name_forms(form, lang)
    return out


def _terms(label: str, terms: Sequence[str], seen: set[str]) -> list[str]:
    fresh = [t for t in dict.fromkeys(terms) if t not in seen]
    seen.update(fresh)
    if not fresh:
        return []
    lines, cur = [], "  "
    for t in fresh:
        item = _q(t) + ", "
        if len(cur) + len(item) > WIDTH and cur.strip():
            lines.append(cur.rstrip())
            cur = "  "
        cur += item
    lines.append(f"{cur.rstrip()}  # {label}" if len(cur) + len(label) < WIDTH + 20 else cur.rstrip())
    return lines


def _comment(text: str) -> list[str]:
    words, lines, cur = text.split(), [], "#"
    for w in words:
        if len(cur) + 1 + len(w) > WIDTH:
            lines.append(cur)
            cur = "#"
        cur += " " + w
    return [*lines, cur]


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def concept_labels(concepts: Sequence[Concept]) -> str:
    """English labels of concepts, for messages."""
    return ", ".join(c.label for c in concepts)
