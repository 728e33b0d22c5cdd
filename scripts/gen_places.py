"""Regenerate watcher/lexicon/places.toml (the gazetteer) from Unicode CLDR, through Babel.

Run by hand when the language list changes: ``pip install babel && python scripts/gen_places.py``.
Babel is a build-time tool only: watcher reads the generated TOML and fetches nothing.
Countries get their names in every language below, the name of their main language (an adjective
in many languages: "Kazakh", "казахский") and the exemplar cities of their time zones (CLDR).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from babel import Locale
from wordfreq import zipf_frequency

LANGS = [
    "en",
    "ru",
    "uk",
    "fa",
    "ps",
    "ar",
    "tr",
    "uz",
    "tg",
    "kk",
    "ky",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "pl",
    "nl",
    "el",
    "fi",
    "nb",
    "sv",
    "zh",
    "ur",
    "hi",
    "ja",
    "ko",
    "az",
    "hy",
    "ka",
    "he",
    "ro",
    "bg",
    "da",
    "et",
    "cs",
    "hu",
    "ms",
    "id",
    "tk",
    "mn",
]
# The language named after a country's people, where that language is mostly that country's.
NATIONAL = {
    "KZ": "kk", "UZ": "uz", "KG": "ky", "TJ": "tg", "TM": "tk", "RU": "ru", "UA": "uk", "IR": "fa",
    "TR": "tr", "AZ": "az", "AM": "hy", "GE": "ka", "MN": "mn", "CN": "zh", "JP": "ja", "KR": "ko",
    "DE": "de", "FR": "fr", "IT": "it", "PL": "pl", "GR": "el", "FI": "fi", "SE": "sv", "NO": "nb",
    "NL": "nl", "HU": "hu", "RO": "ro", "BG": "bg", "CZ": "cs", "DK": "da", "EE": "et", "IL": "he",
    "TH": "th", "VN": "vi", "LT": "lt", "LV": "lv", "AF": "ps", "ES": "es", "PT": "pt", "SK": "sk",
    "BY": "be", "AL": "sq", "SI": "sl", "HR": "hr", "RS": "sr", "IN": "hi", "PK": "ur",
}  # fmt: skip
_LANG_SUFFIX = {"zh": "语語", "ja": "語", "ko": "어"}
_SKIP = re.compile(r"^(0|\d{3}|EU|EZ|UN|QO|XA|XB|XK|ZZ)$")  # regions, groupings, pseudo-codes


def _zone_countries() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in Path("/usr/share/zoneinfo/zone.tab").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _, tz = line.split("\t")[:3]
        out.setdefault(code, []).append(tz)
    return out


def _english_word(term: str, english: set[str]) -> bool:
    """A foreign name that is a common English word of another meaning ("Nice", "Roma", "Soul"):
    terms of one script match in every article of that script, so it stays out (issue 12's rule)."""
    return " " not in term and term.isascii() and term not in english and zipf_frequency(term, "en") >= 3.5


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", name.lower().replace("&", "and")).strip("_")
    return s


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hand_written(lexicon: Path) -> set[str]:
    """Concept ids the other lexicon files define: a hand-written place wins over a generated one."""
    ids: set[str] = set()
    for f in lexicon.glob("*.toml"):
        if f.name != "places.toml":
            ids.update(tomllib.loads(f.read_text(encoding="utf-8")))
    return ids


def main() -> int:
    out = Path(__file__).resolve().parent.parent / "watcher" / "lexicon" / "places.toml"
    hand = _hand_written(out.parent)
    locales = {lang: Locale.parse(lang) for lang in LANGS}
    hant = Locale.parse("zh_Hant")  # its names join the (simplified) Chinese ones
    en = locales["en"]
    zones = _zone_countries()
    blocks = []
    extra: list[str] = []
    continents: list[str] = []
    seen: set[str] = set()
    for code in sorted(en.territories):
        if _SKIP.match(code) or len(code) != 2 or (code not in zones and code not in ("PS", "TW")):
            continue
        ident = _slug(en.territories[code])
        if ident in seen:
            ident = f"{ident}_{code.lower()}"
        seen.add(ident)
        first = zones.get(code, ["Asia/" if code in ("PS", "TW") else "?/"])[0]
        continents.append(f"{ident} = {_q(first.split('/')[0].lower())}")
        english: set[str] = set()
        if ident in hand:  # a hand-written place: its generated names go beside it, to join it
            lines = [f"[extra.{ident}]"]
        else:
            lines = [
                f"[{ident}]",
                f"label = {_q(en.territories[code])}",
                'kind = "place"',
                f"[{ident}.terms]",
            ]
        for lang in LANGS:
            loc = locales[lang]
            terms: list[str] = []
            name = loc.territories.get(code)
            if name:
                terms.append(name)
            if lang == "zh" and (trad := hant.territories.get(code)):
                terms.append(trad)
            national = NATIONAL.get(code)
            if national and (lname := loc.languages.get(national)):
                lname = lname.rstrip(_LANG_SUFFIX.get(lang, "")) if lang in _LANG_SUFFIX else lname
                if len(lname) > 1 and lname.lower() not in (t.lower() for t in terms):
                    terms.append(lname)
            for tz in zones.get(code, ()):
                city = loc.time_zones.get(tz, {}).get("city")
                if not city and lang == "en":  # English exemplar cities are the zone names
                    city = tz.rsplit("/", 1)[-1].replace("_", " ")
                if city and city.lower() not in (t.lower() for t in terms) and "(" not in city:
                    terms.append(city)
            terms = [t.lower() for t in terms]
            terms = [t for t in dict.fromkeys(terms) if lang == "en" or not _english_word(t, english)]
            if lang == "en":  # LANGS starts with English: the other languages are checked against it
                english = {w for t in terms for w in t.split()}
            if terms:
                key = "no" if lang == "nb" else lang
                lines.append(f"{key} = [{', '.join(_q(t) for t in terms)}]")
        (extra if ident in hand else blocks).append("\n".join(lines))
    head = (
        "# Gazetteer: countries with their names, people/language adjective and main cities in many\n"
        "# languages.  GENERATED by scripts/gen_places.py from Unicode CLDR (via Babel); do not edit\n"
        "# by hand, edit the script.  Names carry no morphology: the topic generator adds it.\n"
    )
    out.write_text(head + "\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    regions = out.parent.parent / "topicgen" / "continents.toml"
    regions.write_text(
        "# Continent of each place of lexicon/places.toml (the region of its first time zone).\n"
        "# GENERATED by scripts/gen_places.py.\n[continents]\n" + "\n".join(continents) + "\n",
        encoding="utf-8",
    )
    (out.parent.parent / "topicgen" / "place_extra.toml").write_text(
        "# The gazetteer's names of the places the hand-written lexicon defines (core.toml ...): the\n"
        "# topic generator adds them to those places (their main cities, as for every other place).\n"
        "# GENERATED by scripts/gen_places.py.\n\n" + "\n\n".join(extra) + "\n",
        encoding="utf-8",
    )
    print(f"{out}: {len(blocks)} places ({len(extra)} hand-written ones completed)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
