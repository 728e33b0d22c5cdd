"""Keyword concept groups: matching over token sequences, and the keyword score.

The term syntax is ``terms``' (re-exported here): ``migrant``, ``fr:réfugié``, ``afghan*``,
``=рф``, ``labour migrant``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import compress, repeat
from operator import itemgetter, or_
from typing import NamedTuple, cast

from ..config import ConceptGroup
from .gate import Gate
from .morph import Morphology, changing_affixes, lemma_language, stem_algorithm
from .strength import LEAD_TOKENS as LEAD_TOKENS
from .strength import LEAD_WEIGHT as LEAD_WEIGHT
from .strength import TITLE_WEIGHT as TITLE_WEIGHT
from .strength import WINDOW as WINDOW
from .strength import GroupResult as GroupResult
from .strength import Hit as Hit
from .strength import apply_contrast as apply_contrast
from .strength import group_results as group_results
from .strength import keyword_score as keyword_score
from .strength import outweighing as outweighing
from .strength import passage as passage
from .strength import saturate as saturate
from .strength import supported
from .terms import HEAD as HEAD
from .terms import MIN_STEM as MIN_STEM
from .terms import Atom as Atom
from .terms import Term as Term
from .terms import parse_term as parse_term
from .terms import shown, stressed
from .text import CACHE_SIZE, arabic_skeleton, language_script, script_of, scripts_of

_NONE: frozenset[int] = frozenset()  # the atoms of most tokens
# what a word's first HEAD letters ask of it: the languages to key it in, the prefix terms to try
_HeadPlan = tuple[tuple[str, ...], tuple[tuple[str, int], ...]]
_UNPLANNED = ((-2, -2, ""),)  # no plan made yet for a set of atoms (None is a plan: a phrase starts)


class _Memo(NamedTuple):
    """The matcher's per-token answers: atoms per matching token, tokens known, tokens matching some
    atom (a token known and not among the hits matches none: most words, kept only in ``seen``)."""

    atoms: dict[str, frozenset[int]]
    seen: set[str]
    hits: set[str]


class Matcher:
    """Compiled concept groups and exclusions; finds hits in token sequences (cached per token)."""

    def __init__(
        self,
        groups: Sequence[ConceptGroup],
        exclude: Sequence[str],
        stem: Callable[[str, str], str],
        languages: Sequence[str] = (),
        term_stem: Callable[[str, str], str] | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        """``stem`` keys article words; ``term_stem`` (default: ``stem``) keys the terms' words."""
        atoms: dict[Atom, int] = {}
        heads: dict[int, set[str]] = {}  # stem atom -> the first HEAD letters of words it may match
        keyed: list[tuple[str, str, str]] = []  # (word, language, key) of every term word keyed
        key = _recording(term_stem or stem, keyed)
        self.groups = tuple(groups)
        self.group_terms = tuple(
            tuple(shown(parse_term(t, key, atoms, languages, heads), g) for t in g.terms) for g in groups
        )
        self.exclude_terms = tuple(parse_term(t, key, atoms, languages, heads) for t in exclude)
        self.supported = supported(self.groups)  # context groups: for ``context.results``
        self._stem = stem
        self._atoms = tuple(atoms)  # by id (a dict keeps its insertion order: ids count up)
        self._exact: dict[str, list[int]] = {}
        self._stems: dict[str, dict[str, list[int]]] = {}
        self._prefixes: list[tuple[str, int]] = []  # prefixes shorter than two characters
        self._prefixes_by_head: dict[str, list[tuple[str, int]]] = {}  # two characters long
        self._prefixes_by_head3: dict[str, list[tuple[str, int]]] = {}  # the others, by first three
        self._substrings: list[tuple[str, int]] = []
        for atom, i in atoms.items():
            if atom.kind == "exact":
                self._exact.setdefault(atom.value, []).append(i)
            elif atom.kind == "prefix" and len(atom.value) >= HEAD:
                self._prefixes_by_head3.setdefault(atom.value[:HEAD], []).append((atom.value, i))
            elif atom.kind == "prefix" and len(atom.value) == 2:
                self._prefixes_by_head.setdefault(atom.value, []).append((atom.value, i))
            elif atom.kind == "prefix":
                self._prefixes.append((atom.value, i))
            elif atom.kind == "substring":
                self._substrings.append((atom.value, i))
            else:
                self._stems.setdefault(atom.lang, {}).setdefault(atom.value, []).append(i)
        self._two_firsts = frozenset(p[0] for p in self._prefixes_by_head)
        self._substrings_by_first: dict[str, list[tuple[str, int]]] = {}  # CJK terms by first character
        for sub, i in self._substrings:
            self._substrings_by_first.setdefault(sub[0], []).append((sub, i))
        # Many words keyed in one call where the morphology can (one trip into C per language)
        owner = getattr(stem, "__self__", None)
        self._keys: Callable[[Sequence[str], str], list[str]] = (
            owner.keys if isinstance(owner, Morphology) and stem == owner.key else self._keys_one_by_one
        )
        if isinstance(owner, Morphology):
            self._add_word_forms(owner, keyed, atoms)
            for atom, i in atoms.items():  # a short word's inflections, as a dictionary lists them
                if atom.kind == "exact" and atom.lang:
                    for form in owner.inflections(atom.lang, atom.value):
                        self._exact.setdefault(form, []).append(i)
            # only these keys matter: its shipped tables may serve
            for lang, table in self._stems.items():
                owner.expect(lang, table.keys())
                # a dictionary form that keys to a term but starts otherwise ("люди" for "людина")
                for form, form_key in owner.forms_keyed_to(lang, table):
                    for i in table[form_key]:
                        heads.setdefault(i, set()).add(form[:HEAD])
        # A word matches a stem term only when it starts like it: its first HEAD letters as the
        # term's word is written, as keyed, or as a tabled dictionary form of it.  So a token is
        # only stemmed in a language when it starts like one of its terms (with thirty languages in
        # one script, stemming every word in each costs too much), and what it matches does not
        # depend on the other terms of that language (``gate``: a concept is told absent from the
        # words' first letters).  Languages whose stemmers strip prefixes (Arabic script,
        # Indonesian) are always asked.
        self._atom_heads = self._heads_of_atoms(heads)
        self._heads: dict[str, frozenset[str] | None] = {
            lang: None
            if _strips_prefixes(lang)
            else frozenset().union(*(self._atom_heads[i] for ids in table.values() for i in ids))
            for lang, table in self._stems.items()
        }
        self._by_script = _by_script(self._stems)
        # For learning many tokens at once (``_learn``): each head -> the languages that ask a word
        # starting with it (a head in another script than its language's is never asked), the
        # languages asked every word of their script, and every head that makes a word a candidate.
        self._head_langs: dict[str, tuple[str, ...]] = {}
        for lang, lang_heads in self._heads.items():
            for head in sorted(lang_heads or ()):
                if script_of(head) == language_script(lang):
                    self._head_langs[head] = (*self._head_langs.get(head, ()), lang)
        self._always = tuple(lang for lang, h in self._heads.items() if h is None)
        self._always_by_script = _by_script(self._always)
        # Of those, the languages whose keyer says which affixes can change a word (Indonesian: a
        # word that neither starts nor ends like one is its own key); only with the morphology's
        # own keyer, whose Snowball stemmer the lists describe.
        self._affixes = {
            lang: affixes
            for lang in self._always
            if isinstance(owner, Morphology) and stem == owner.key and (affixes := changing_affixes(lang))
        }
        # Arabic-script languages keyed by the morphology's own keyer with a shipped table: a word
        # is keyed by its listed dictionary form, else by its Snowball stem, which its skeleton holds
        # but the stem's last letter (hamza may be written so there: "لاجئ" -> "لاجء"); a word
        # matches such a term only so (``_admitted``), whatever the dictionary would say.
        self._skeletal: dict[str, Mapping[str, str]] = {}
        for lang in self._always:
            tabled = owner.tabled(lang) if isinstance(owner, Morphology) and stem == owner.key else None
            if tabled is not None and language_script(lang) == "arabic":
                self._skeletal[lang] = tabled.forms
        self._letters = _Letters(frozenset(), {})  # first letters by script, learnt as they come
        # Languages whose words carry attached particles ("و" and, "ب" with, "ل" for: "وروسيا",
        # "للاجئين"): a word whose key is no term's is keyed again without them.
        self._clitic_langs = frozenset(lang for lang in self._stems if lang in PROCLITIC_LANGUAGES)
        # each head that makes a word a candidate -> (the languages asking it, its prefix terms)
        self._head_plans: dict[str, _HeadPlan] = {
            head: (self._head_langs.get(head, ()), tuple(self._prefixes_by_head3.get(head, ())))
            for head in self._head_langs.keys() | self._prefixes_by_head3.keys()
        }
        # term index -> (group index or -1 for exclusion, term); keyed by its first atom
        self._by_first: dict[int, list[tuple[int, int, Term]]] = {}
        for gi, terms in enumerate(self.group_terms):
            for ti, term in enumerate(terms):
                self._by_first.setdefault(term.atoms[0], []).append((gi, ti, term))
        for ti, term in enumerate(self.exclude_terms):
            self._by_first.setdefault(term.atoms[0], []).append((-1, ti, term))
        self._cache_size = cache_size
        self._memo = _Memo({}, set(), set())
        # atoms of a word -> what ``find`` records for it (``_plan``): a few hundred sets in all
        self._plans: dict[frozenset[int], tuple[tuple[int, int, str], ...] | None] = {}
        # atoms of a word a phrase may start with -> the terms to try there, in ``find``'s order
        self._phrases: dict[frozenset[int], tuple[tuple[int, int, Term], ...]] = {}

    def _add_word_forms(
        self, morphology: Morphology, keyed: Sequence[tuple[str, str, str]], atoms: Mapping[Atom, int]
    ) -> None:
        """The other keys by which a term word's forms reach an article (shipped tables, no
        dictionary loaded): a word whose dictionary lemma is another word keys otherwise in an
        article than as a term ("μετανάστης", Arabic "لجوء", Turkish "sığınma"), and in a language
        keyed by its stem alone a word's forms may stem otherwise (Russian "беженец", "беженцы";
        Polish "Rosjanin", "Rosjanie").  Both match the word's atom."""
        for word, lang, term_key in keyed:
            atom_id = atoms.get(Atom("stem", term_key, lang))
            if atom_id is None:
                continue
            stems = self._stems.setdefault(lang, {})
            places = [(stems, key) for key in morphology.stem_forms(lang, word)]
            own = morphology.dictionary_key(lang, word)
            if own and own != term_key:  # too short to match by: the word as written, as short terms
                places.append((stems, own) if len(own) >= MIN_STEM else (self._exact, word))
            for table, key in places:
                ids = table.setdefault(key, [])
                if atom_id not in ids:
                    ids.append(atom_id)

    def _heads_of_atoms(self, written: Mapping[int, set[str]]) -> dict[int, frozenset[str]]:
        """Stem atom -> the first HEAD letters a word matching it starts with: as its words are
        written or as a dictionary form of them (``written``), as each of its keys (Greek: with
        the stress on any vowel, since the accent moves as a word inflects)."""
        heads = {i: set(h) for i, h in written.items()}
        for table in self._stems.values():
            for key, ids in table.items():
                for i in ids:
                    heads.setdefault(i, set()).add(key[:HEAD])
        return {i: frozenset(stressed(h, self._atoms[i].lang)) for i, h in heads.items()}

    def _admitted(self, word: str, key: str, ids: Sequence[int], lang: str, form: str = "") -> list[int]:
        """The atoms among ``ids`` (those of ``word``'s ``key`` in ``lang``; ``form``: the word
        keyed, when particles written onto it were left out) the word may match: in a language
        whose keys start like their words, those whose words start like it; in Indonesian (whose
        stemmer also strips prefixes and may change the first letter left: "menyapu" -> "sapu"),
        all when the word holds the key but its first letter; in Arabic and Persian, all when the
        form keyed is a listed dictionary form or the word's skeleton holds the key's but its last
        letter."""
        heads = self._heads[lang]
        if heads is not None:
            head = word[:HEAD]
            atom_heads = self._atom_heads
            return [i for i in ids if head in atom_heads[i]]
        if lang in self._affixes and key[1:] not in word:
            return []
        forms = self._skeletal.get(lang)
        listed = forms is None or Morphology.nfc(form or word) in forms
        return list(ids) if listed or arabic_skeleton(key)[:-1] in arabic_skeleton(word) else []

    def gate(self, name: str, indices: Sequence[int]) -> Gate:
        """What a word starting a term of these groups (``indices``) can look like as written (a
        phrase's other words follow one that matches its first: ``find``)."""
        atoms = frozenset(term.atoms[0] for gi in indices for term in self.group_terms[gi])
        heads: set[str] = set()
        inner: set[str] = set()
        skeletal: set[str] = set()
        scripts: set[str] = set()
        keys: dict[str, set[str]] = {}  # language -> its keys of these atoms (prefix-stripping ones)
        for lang in self._affixes.keys() | self._skeletal.keys():
            keys[lang] = {k for k, ids in self._stems.get(lang, {}).items() if not atoms.isdisjoint(ids)}
        for i in atoms:
            atom = self._atoms[i]
            if atom.kind == "prefix" and len(atom.value) >= 2:
                heads.add(atom.value[:HEAD])
            elif atom.kind == "prefix":
                return Gate(name, atoms, frozenset(), frozenset(), open=True)
            elif atom.kind == "substring":  # (CJK: held by the words they match)
                inner.add(atom.value)
            elif atom.kind == "stem" and self._heads[atom.lang] is not None:
                heads |= self._atom_heads[i]
            elif atom.kind == "stem" and atom.lang not in keys:
                scripts.add(language_script(atom.lang))
        if scripts - {"arabic"}:  # (no such language yet: any word of a script may match)
            return Gate(name, atoms, frozenset(), frozenset(), open=True)
        for lang, lang_keys in keys.items():  # (``_admitted``)
            if lang in self._affixes:
                inner.update(k[1:] for k in lang_keys)
            else:
                skeletal.update(arabic_skeleton(k)[:-1] for k in lang_keys)
                # a listed form keyed so, particles written onto it or not, holds all but its first two
                forms = self._skeletal[lang]
                skeletal.update(arabic_skeleton(f)[2:] for f, k in forms.items() if k in lang_keys)
        exact = frozenset(w for w, ids in self._exact.items() if not atoms.isdisjoint(ids))
        if self._clitic_langs:  # matched with particles written onto it, too ("وکابل"): then the
            # word holds all of it but its first two letters (``without_proclitics``)
            skeletal.update(arabic_skeleton(w)[2:] for w in exact if script_of(w) == "arabic")
        if any(len(s) < 2 for s in skeletal):
            scripts.add("arabic")
        return Gate(
            name,
            atoms,
            exact,
            frozenset(heads),
            inner=_shortest(inner),
            scripts=frozenset(scripts),
            skeletal=_shortest(skeletal),
        )

    def stem_keys(self) -> dict[str, frozenset[str]]:
        """The keys each language's words are compared with."""
        return {lang: frozenset(table) for lang, table in self._stems.items()}

    def _keys_one_by_one(self, words: Sequence[str], lang: str) -> list[str]:
        stem = self._stem
        return [stem(w, lang) for w in words]

    def clear_cache(self) -> None:
        """Forget the atoms of every token seen."""
        self._memo = _Memo({}, set(), set())
        self._plans = {}
        self._phrases = {}

    def atoms_of(self, token: str) -> frozenset[int]:
        """Ids of the atoms a token matches (cached)."""
        memo = self._memo
        if len(memo.seen) >= self._cache_size:  # full: start afresh (a new memo, swapped whole)
            memo = self._memo = _Memo({}, set(), set())
        if token in memo.seen:
            return memo.atoms.get(token, _NONE)
        script = script_of(token)
        found = self._unkeyed_atoms(token, script)
        head = token[:HEAD]
        for lang in self._by_script.get(script, ()):
            heads = self._heads[lang]
            if heads is None or head in heads:
                table = self._stems[lang]
                key = self._stem(token, lang)
                ids = table.get(key)
                if ids is not None:
                    ids = self._admitted(token, key, ids, lang)
                elif lang in self._clitic_langs:
                    ids = []
                    for c in without_proclitics(token):
                        c_key = self._stem(c, lang)
                        ids += self._exact.get(c, ())
                        ids += self._admitted(token, c_key, table.get(c_key, ()), lang, c)
                found.extend(ids or ())
        hit = frozenset(found)
        if hit:
            memo.atoms[token] = hit
            memo.hits.add(token)
        memo.seen.add(token)  # last: other threads trust hits for tokens in seen
        return hit

    def _unkeyed_atoms(self, token: str, script: str) -> list[int]:
        """The atoms a token matches as written: exact words, prefixes and CJK substrings."""
        found: list[int] = list(self._exact.get(token, ()))
        found.extend(self._prefix_atoms(token))
        if script == "cjk":
            found.extend(self._substring_atoms(token))
        return found

    def _substring_atoms(self, token: str) -> list[int]:
        """The substring atoms in a token: only those starting with one of its characters."""
        by_first = self._substrings_by_first
        return [i for c in by_first.keys() & set(token) for sub, i in by_first[c] if sub in token]

    def _learn(self, memo: _Memo, tokens: Sequence[str]) -> bool:
        """Find the atoms of new tokens together, as ``atoms_of`` finds them one by one.

        Most new words can match nothing: only an exact term word, a word starting like a prefix
        term or like one of a language's terms (its first ``HEAD`` letters), a CJK word (substring
        terms) or a word of a language whose stemmer strips prefixes can.  Those candidates are
        picked out in C (``map`` and ``compress`` over the words' heads, set algebra for exact
        words); each candidate language's few words are keyed in one call into its stemmer.  False
        (nothing learnt) when the memo has no room for them.
        """
        if len(memo.seen) + len(tokens) >= self._cache_size:
            return False  # atoms_of renews the memo when it is full, token by token
        found: dict[str, list[int]] = {t: list(self._exact[t]) for t in self._exact.keys() & tokens}
        # what each word's first letters ask (None for most words: left out in C)
        plans = list(map(self._head_plans.get, map(_HEADS, tokens)))
        asked: dict[str, list[str]] = {}  # language -> the words keyed in it
        candidates = cast("Iterator[tuple[str, _HeadPlan]]", compress(zip(tokens, plans, strict=True), plans))
        for token, (langs, prefixes) in candidates:
            for lang in langs:
                asked.setdefault(lang, []).append(token)
            for prefix, i in prefixes:
                if token.startswith(prefix):
                    found.setdefault(token, []).append(i)
        firsts = set(map(_FIRST, tokens))  # the words' first letters
        # prefixes of one or two letters (rare): two-letter ones only when some word starts like one
        if self._prefixes or (self._prefixes_by_head and not firsts.isdisjoint(self._two_firsts)):
            two = self._prefixes_by_head
            starting = compress(tokens, map(two.__contains__, map(_HEAD2, tokens)))
            for token in tokens if self._prefixes else starting:
                for prefix, i in (*self._prefixes, *two.get(token[:2], ())):
                    if token.startswith(prefix):
                        found.setdefault(token, []).append(i)
        if self._substrings or self._always:  # words of a script: by their first letters'
            letters = self._letters  # one snapshot (swapped whole when it learns letters)
            if not firsts <= letters.known:
                letters = self._letters = letters.learn(firsts)
            by_script = letters.by_script
            if self._substrings and (cjk := firsts.intersection(by_script.get("cjk", ()))):
                for token in compress(tokens, map(cjk.__contains__, map(_FIRST, tokens))):
                    if ids := self._substring_atoms(token):
                        found.setdefault(token, []).extend(ids)
            for script, langs in self._always_by_script.items():
                if chars := firsts.intersection(by_script.get(script, ())):
                    words = (  # every word, when all are of this script (the usual case)
                        list(tokens)
                        if len(chars) == len(firsts)
                        else list(compress(tokens, map(chars.__contains__, map(_FIRST, tokens))))
                    )
                    for lang in langs:
                        affixes = self._affixes.get(lang)
                        asked[lang] = (
                            words if affixes is None else _affixed(words, affixes, self._stems[lang])
                        )
        for lang, words in asked.items():
            table = self._stems[lang]
            keys = self._keys(words, lang)
            if lang in self._clitic_langs:
                self._learn_clitics(found, words, keys, lang)
            if table.keys().isdisjoint(keys):  # most languages: no key of theirs (one pass in C)
                continue
            for word, key in compress(zip(words, keys, strict=True), map(table.__contains__, keys)):
                if ids := self._admitted(word, key, table[key], lang):
                    found.setdefault(word, []).extend(ids)
        memo.atoms.update({t: frozenset(ids) for t, ids in found.items()})
        memo.hits.update(found)
        memo.seen.update(tokens)  # last: other threads trust hits for tokens in seen
        return True

    def _learn_clitics(
        self, found: dict[str, list[int]], words: list[str], keys: list[str], lang: str
    ) -> None:
        """The atoms of words whose own key is no term's, keyed again without attached particles."""
        table, exact = self._stems[lang], self._exact
        pairs = [
            (w, c) for w, k in zip(words, keys, strict=True) if k not in table for c in without_proclitics(w)
        ]
        if not pairs:
            return
        for (word, written), key in zip(pairs, self._keys([c for _, c in pairs], lang), strict=True):
            if written in exact or key in table:  # a short word matches as written, a longer by key
                ids = [*exact.get(written, ()), *self._admitted(word, key, table.get(key, ()), lang, written)]
                if ids:
                    found.setdefault(word, []).extend(ids)

    def _prefix_atoms(self, token: str) -> list[int]:
        """The prefix atoms a token matches: only prefixes starting like it."""
        return [
            i
            for prefix, i in (
                *self._prefixes,
                *self._prefixes_by_head.get(token[:2], ()),
                *self._prefixes_by_head3.get(token[:HEAD], ()),
            )
            if token.startswith(prefix)
        ]

    def find(
        self, tokens: Sequence[str], n_title: int, counts: Mapping[str, int] | None = None
    ) -> tuple[list[list[Hit]], list[str]]:
        """Hits per group and the exclusion terms found; tokens[:n_title] are the title."""
        unique: set[str] = set(tokens if counts is None else counts.keys())
        memo = self._memo  # one snapshot: another thread may renew it meanwhile
        per_token: dict[str, frozenset[int]]
        # the usual case once warm: every token seen, and set algebra in C finds the hits; new
        # tokens are learnt into the same memo first (another thread may renew self._memo meanwhile)
        new = unique.difference(memo.seen)  # one pass over the words, in C
        if not new or self._learn(memo, list(new)):
            per_token = {tok: memo.atoms[tok] for tok in memo.hits.intersection(unique)}
        else:  # no room in the memo: token by token, as the memo renews itself
            per_token = {t: ids for t in unique if (ids := self.atoms_of(t))}
        matching = per_token.keys()
        hits: list[list[Hit]] = [[] for _ in self.groups]
        excluded: list[str] = []
        if not matching:
            return hits, excluded
        plans = self._plans
        if len(plans) >= self._cache_size:  # full: start afresh (swapped whole)
            plans = self._plans = {}
        # Only the words that start a term are visited (most matching words only continue a phrase:
        # "union" of "european union"); per_token still serves the phrases' following words.
        starting: dict[str, tuple[tuple[int, int, str], ...] | None] = {}
        phrases = self._phrases
        if len(phrases) >= self._cache_size:
            phrases = self._phrases = {}
        for tok, ids in per_token.items():
            plan = plans.get(ids, _UNPLANNED)
            if plan is _UNPLANNED:
                plan = plans[ids] = self._plan(ids)
            if plan != ():
                starting[tok] = plan
            if plan is None and ids not in phrases:  # a phrase may start here: the terms to try
                phrases[ids] = self._starting(ids)
        for pos in compress(range(len(tokens)), map(starting.__contains__, tokens)):  # C speed
            plan = starting[tokens[pos]]
            if plan is not None:  # single words only: the same terms wherever the word stands
                for gi, ti, text in plan:
                    if gi >= 0:
                        hits[gi].append(Hit(ti, pos, pos < n_title))
                    elif text not in excluded:
                        excluded.append(text)
                continue
            seen: set[int] = set()  # a word counts once per group, however many terms it matches
            for gi, ti, term in phrases[per_token[tokens[pos]]]:
                if gi in seen or not _follows(term.atoms, tokens, pos, per_token):
                    continue
                if gi < 0:
                    if term.text not in excluded:
                        excluded.append(term.text)
                else:
                    seen.add(gi)
                    hits[gi].append(Hit(ti, pos, pos < n_title))
        return hits, excluded

    def _starting(self, ids: frozenset[int]) -> tuple[tuple[int, int, Term], ...]:
        """The terms starting with one of these atoms, in ``find``'s order (atoms ascending)."""
        by_first = self._by_first
        return tuple(entry for aid in sorted(ids) for entry in by_first.get(aid, ()))

    def _plan(self, ids: frozenset[int]) -> tuple[tuple[int, int, str], ...] | None:
        """What ``find`` records for a word matching these atoms, wherever it stands: (group or -1
        for an exclusion, term, term text) in ``find``'s order; None when a phrase starts with one
        of them (whether it follows depends on the next words)."""
        plan: list[tuple[int, int, str]] = []
        seen: set[int] = set()
        for gi, ti, term in self._starting(ids):
            if len(term.atoms) > 1:
                return None
            if gi not in seen:
                if gi >= 0:
                    seen.add(gi)
                plan.append((gi, ti, term.text))
        return tuple(plan)


PROCLITIC_LANGUAGES = frozenset({"ar"})
_CONJUNCTIONS = ("و", "ف")  # "and", "so": before any of the others
_PREPOSITIONS = ("ب", "ل", "ک")  # "with", "for", "like" (کاف folded to its Persian form)


def without_proclitics(token: str) -> list[str]:
    """An Arabic word without the particles written onto it: "وروسيا" -> ["روسيا"], "وبروسيا" ->
    ["روسيا", "بروسيا"].  "لل" is "ل" with the article, whose alef it drops: "للأفغان" is also
    read as "الأفغان", and "للاجئين" as "اللاجئين" (a noun starting with lam keeps one lam less).
    Nothing under three letters is left."""
    out: list[str] = []
    rest = token[1:] if token.startswith(_CONJUNCTIONS) else token
    if rest.startswith(_PREPOSITIONS):
        if rest.startswith("لل"):
            out += ["ا" + rest[1:], "ال" + rest[1:]]
        out.append(rest[1:])
    if rest is not token:
        out.append(rest)
    return [w for w in out if len(w) >= 3]


_FIRST = itemgetter(0)
LETTERS = 20_000  # first letters whose script the matcher keeps (then it starts afresh)


class _Letters(NamedTuple):
    """First letters seen, by script (``script_of``): a new document's words are sorted by script
    with set algebra in C instead of a call per letter."""

    known: frozenset[str]
    by_script: dict[str, frozenset[str]]

    def learn(self, letters: set[str]) -> _Letters:
        """A new snapshot that also knows ``letters`` (the old one is never changed)."""
        base = self if len(self.known) + len(letters) <= LETTERS else _Letters(frozenset(), {})
        by_script = dict(base.by_script)
        for script, chars in scripts_of(letters - base.known).items():
            by_script[script] = by_script.get(script, frozenset()) | chars
        return _Letters(base.known | letters, by_script)


def _affixed(
    words: list[str], affixes: tuple[tuple[str, ...], tuple[str, ...]], table: Mapping[str, object]
) -> list[str]:
    """The words whose key may be in ``table``: those with an affix that can change them, and those
    that are a key as written (a word without such an affix keys to itself)."""
    prefixes, suffixes = affixes
    out = list(
        compress(
            words,
            map(
                or_, map(str.startswith, words, repeat(prefixes)), map(str.endswith, words, repeat(suffixes))
            ),
        )
    )
    if plain := table.keys() & words:
        out.extend(plain.difference(out))
    return out


def _shortest(held: set[str]) -> tuple[str, ...]:
    """The strings none of the others is part of (a word holding a longer one holds that one)."""
    return tuple(sorted(s for s in held if not any(t != s and t in s for t in held)))


def _recording(
    stem: Callable[[str, str], str], keyed: list[tuple[str, str, str]]
) -> Callable[[str, str], str]:
    """``stem``, noting each (word, language, key) it gives."""

    def key(word: str, lang: str) -> str:
        k = stem(word, lang)
        keyed.append((word, lang, k))
        return k

    return key


_HEADS = itemgetter(slice(0, HEAD))
_HEAD2 = itemgetter(slice(0, 2))


def _by_script(langs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Script -> the languages written in it, in the given order."""
    out: dict[str, tuple[str, ...]] = {}
    for lang in langs:
        script = language_script(lang)
        out[script] = (*out.get(script, ()), lang)
    return out


def _strips_prefixes(lang: str) -> bool:
    """Whether a language's key may start otherwise than its word: its stemmer strips prefixes
    (Arabic script, Indonesian) and it has a stemmer or a lemmatiser at all (Urdu and Pashto have
    neither: a word is its own key)."""
    return (language_script(lang) == "arabic" or lang == "id") and bool(
        stem_algorithm(lang) or lemma_language(lang)
    )


def _follows(
    atoms: tuple[int, ...],
    tokens: Sequence[str],
    pos: int,
    per_token: dict[str, frozenset[int]],
) -> bool:
    """Whether the rest of a phrase's atoms match the tokens after ``pos``."""
    if len(atoms) == 1:
        return True
    if pos + len(atoms) > len(tokens):
        return False
    empty: frozenset[int] = frozenset()
    return all(a in per_token.get(tokens[pos + k], empty) for k, a in enumerate(atoms[1:], 1))
